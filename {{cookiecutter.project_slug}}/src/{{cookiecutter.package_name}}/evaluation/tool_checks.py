"""Deterministic checks of the tools an agent called, as plain functions the MLflow wrappers call.

Why not MLflow's own ToolCallCorrectness: in exact mode (`should_exact_match=True`, MLflow
3.17.2) it still calls an LLM to list the available tools (offline, that logs a warning), and
it requires the same number of calls with identical arguments, defaults included, so an agent
that passes one extra argument, or a tool that gains a default, fails. These checks need no
LLM and read the expected arguments as a subset: every argument the dataset names must be
passed with an equal value; arguments it does not name are free.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: importing this module does not import MLflow
    from mlflow.entities import Trace

# A call as a dataset row writes it, the sample agent's own tool. Built rather than written
# out: the project template renders this file with Jinja, which reserves doubled braces.
CALL_EXAMPLE = json.dumps(dict(name="estimate_delivery", arguments=dict(method="express")))
CALL_KEYS = ("name", "arguments")
VALUE_WIDTH = 40  # an argument value in a rationale, clipped
SHOWN_WIDTH = 60  # an offending value in a problem message, clipped
MAX_LISTED = 5  # calls (or tool names) listed in a rationale before "and N more"


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict


def calls_made(trace: Trace | None) -> list[ToolCall]:
    """The trace's TOOL spans in start order: span name and inputs (a non-dict input under
    the key "input"; no input is no argument)."""
    if trace is None:
        return []
    from mlflow.entities import SpanType

    spans = sorted(trace.search_spans(span_type=SpanType.TOOL), key=lambda s: s.start_time_ns)
    calls = []
    for span in spans:
        inputs = span.inputs
        if isinstance(inputs, dict):
            arguments = dict(inputs)
        else:
            arguments = {} if inputs is None else {"input": inputs}
        calls.append(ToolCall(span.name, arguments))
    return calls


def _json(value, width: int) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_expected_calls(value, where: str) -> list[str]:
    """Problems with an `expected_tool_calls` expectation: a list (empty: no tool call
    expected) of objects with a non-empty string `name` and an optional `arguments` object."""
    if not isinstance(value, list):
        return [
            f"{where}: expected_tool_calls is {_json(value, SHOWN_WIDTH)}, not a list; write [] "
            f"(no tool call expected) or a list of calls like [{CALL_EXAMPLE}]"
        ]
    problems = []
    for index, item in enumerate(value):
        at = f"{where}: expected_tool_calls[{index}]"
        if not isinstance(item, dict):
            problems.append(
                f"{at} is {_json(item, SHOWN_WIDTH)}, not an object; write {CALL_EXAMPLE}"
            )
            continue
        if "name" not in item:
            problems.append(f"{at} has no 'name'; write {CALL_EXAMPLE}")
        elif not isinstance(item["name"], str) or not item["name"].strip():
            problems.append(
                f"{at}.name is {_json(item['name'], SHOWN_WIDTH)}, not a non-empty string; "
                f"write the tool's span name, as in {CALL_EXAMPLE}"
            )
        if "arguments" in item and not isinstance(item["arguments"], dict):
            problems.append(
                f"{at}.arguments is {_json(item['arguments'], SHOWN_WIDTH)}, not an object; "
                f"write the expected arguments by name, as in {CALL_EXAMPLE}, or leave "
                "'arguments' out to accept any"
            )
        for key in sorted((k for k in item if k not in CALL_KEYS), key=str):
            problems.append(
                f"{at} has unknown key {key!r}; keep only 'name' and 'arguments', "
                f"as in {CALL_EXAMPLE}"
            )
    return problems


def _normal(value):
    """The value as JSON reads it back: tuples become lists, objects their text."""
    return json.loads(json.dumps(value, default=str))


def _same(a, b) -> bool:
    """JSON equality: 1 and 1.0 agree, true and 1 do not, strings compare exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _fits(call: ToolCall, expected: dict) -> bool:
    """The call has the expected name and passes every expected argument with an equal value."""
    if call.name != expected["name"]:
        return False
    made = _normal(call.arguments)
    wanted = _normal(expected.get("arguments") or {})
    return all(key in made and _same(made[key], value) for key, value in wanted.items())


def _unmatched(made: list[ToolCall], expected: list[dict]) -> list[dict]:
    """The expected calls left over when each is paired with a distinct made call that fits.

    A maximum matching (augmenting paths), not first-fit: an expected call that accepts any
    arguments must not take the one made call a more specific expected call needs.
    """
    fits = [[j for j, call in enumerate(made) if _fits(call, e)] for e in expected]
    owner: dict[int, int] = {}  # made call index -> the expected call index it serves

    def claim(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or claim(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    # Once an expected call is matched it stays matched: later claims only re-pair it.
    return [e for i, e in enumerate(expected) if not claim(i, set())]


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown if len(items) <= MAX_LISTED else f"{shown} and {len(items) - MAX_LISTED} more"


def _call_text(name: str, arguments: dict | None) -> str:
    """`name(key="value", ...)`; `name(...)` for an expected call that accepts any arguments."""
    if arguments is None:
        return f"{name}(...)"
    pairs = (f"{key}={_json(value, VALUE_WIDTH)}" for key, value in arguments.items())
    return f"{name}({', '.join(pairs)})"


def _made_text(made: list[ToolCall]) -> str:
    if not made:
        return "made no tool call"
    return "made: " + _listed([_call_text(c.name, c.arguments) for c in made])


def expected_calls_verdict(made: list[ToolCall], expected: list[dict]) -> tuple[float, str]:
    """Share of expected calls the agent made, in any order, each by a distinct call with the
    same name and at least the expected arguments. `expected == []`: no tool call wanted."""
    if not expected:
        if not made:
            return 1.0, "made no tool call, as expected"
        return 0.0, f"expected no tool call; {_made_text(made)}"
    missing = _unmatched(made, expected)
    value = (len(expected) - len(missing)) / len(expected)
    if not missing:
        if len(expected) == 1:
            return value, "made the 1 expected tool call"
        return value, f"made all {len(expected)} expected tool calls"
    texts = [_call_text(e["name"], e.get("arguments") or None) for e in missing]
    return value, f"missing {_listed(texts)}; {_made_text(made)}"


def budget_verdict(made: list[ToolCall], max_calls: int) -> tuple[str, str]:
    """Whether the agent kept to `max_calls` tool calls ("yes" or "no"); the rationale counts
    the calls by name, in the order first called."""
    count = len(made)
    verdict = "yes" if count <= max_calls else "no"
    where = "within" if verdict == "yes" else "over"
    text = f"{count} tool call{'' if count == 1 else 's'}, {where} the budget of {max_calls}"
    if not made:
        return verdict, text
    by_name = Counter(c.name for c in made)  # keeps first-call order
    names = [name if n == 1 else f"{name} x{n}" for name, n in by_name.items()]
    return verdict, f"{text}: {_listed(names)}"
