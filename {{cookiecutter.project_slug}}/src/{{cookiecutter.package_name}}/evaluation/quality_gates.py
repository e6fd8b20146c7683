"""Decide the quality gates from an evaluation's metrics and per-row scores. Fails closed.

`result.passed` in MLflow is a per-row all-must-pass check, not a threshold gate, and MLflow's
means silently leave out errored and unparseable rows; so a gate here also checks that every row
the scorer applies to was predicted and scored without error. A row a scorer does not apply to
(it lacks the expectations the scorer needs) is neither scored nor errored: the gate is decided
on the other rows and counts it as not applicable. A failed gate names its failing rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..reporting import shorten
from .code_scorers import response_text

# Means are computed in floating point: 9 of 10 must meet a 0.9 gate.
TOLERANCE = 1e-9
# Failing rows a failed gate lists, worst first; the rest are counted ("and 12 more").
FAILING_ROWS_SHOWN = 5
# Characters of each text a failing row shows: enough to recognise the row, then its trace.
INPUT_CHARS, ANSWER_CHARS, RATIONALE_CHARS = 100, 100, 240


@dataclass
class RowScores:
    trace_id: str
    predicted: bool  # False when the agent raised or the trace is in an error state
    values: dict[str, list] = field(default_factory=dict)  # scorer -> parsed values
    errors: dict[str, list[str]] = field(default_factory=dict)  # scorer -> error messages
    raw: dict[str, list] = field(default_factory=dict)  # scorer -> values as logged
    rationales: dict[str, list] = field(default_factory=dict)  # scorer -> rationale per value
    metadata: dict[str, list] = field(default_factory=dict)  # scorer -> metadata per value
    expectations: set[str] = field(default_factory=set)  # expectation keys the row carries
    not_applicable: set[str] = field(default_factory=set)  # scorers that leave this row out
    request: Any = None  # the row's inputs, as its trace holds them
    response: Any = None  # the agent's answer


@dataclass
class FailingRow:
    """One row that fails a gate, as a person checks it: what was asked, what came back, the
    score and why, and where its trace is."""

    trace_id: str
    value: float | None  # the row's lowest score; None: it has no score (an error)
    shown: str  # the value as reported: "no", "0.500", "error", "agent failed", "not scored"
    input: str
    answer: str  # the start of the answer
    rationale: str  # the scorer's rationale, or what went wrong
    trace_url: str | None = None


@dataclass
class GateResult:
    gate: str
    metric: str
    threshold: float
    observed: float | None
    rows_applicable: int
    rows_scored: int
    rows_errored: int
    passed: bool
    reason: str
    rows_not_applicable: int = 0  # rows without the expectations the scorer needs
    failing_rows: list[FailingRow] = field(default_factory=list)  # worst first, a few
    more_failing_rows: int = 0  # failing rows beyond those listed

    def as_dict(self) -> dict:
        return asdict(self)


def numeric(value) -> float | None:
    """yes/no and bool as 1.0/0.0, numbers as themselves; anything else is not a score."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)  # NaN is not a score
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return 1.0 if value.strip().lower() == "yes" else 0.0
    return None


def rows_from_assessments(traces: list[tuple], names: set[str]) -> list[RowScores]:
    """Per-row scores from (trace_id, state, assessments[, request, response]) as MLflow
    returns them.

    Expectations are assessments too; only feedback counts as a score, and the expectations a
    row carries are noted.
    """
    rows = []
    for trace_id, state, assessments, *texts in traces:
        request, response = (*texts, None, None)[:2]
        row = RowScores(trace_id, state != "ERROR", request=request, response=response)
        for a in assessments or []:
            name = a.get("assessment_name")
            if a.get("expectation") is not None:
                row.expectations.add(name)
            if name not in names or a.get("feedback") is None:
                continue
            feedback = a["feedback"]
            error = feedback.get("error")
            if error:
                message = error.get("error_message") if isinstance(error, dict) else str(error)
                row.errors.setdefault(name, []).append(str(message or "scorer error"))
                continue
            row.values.setdefault(name, []).append(numeric(feedback.get("value")))
            row.raw.setdefault(name, []).append(feedback.get("value"))
            row.rationales.setdefault(name, []).append(a.get("rationale"))
            row.metadata.setdefault(name, []).append(a.get("metadata") or {})
        rows.append(row)
    return rows


def decide_gates(
    gates: dict[str, float],
    metrics: dict[str, float],
    rows: list[RowScores],
    applicable: dict[str, int],
    dataset_size: int,
    trace_link: Callable[[str], str | None] = lambda trace_id: None,
    populations: dict[str, int] | None = None,
) -> list[GateResult]:
    """One verdict per gate; a failed gate lists its failing rows, each with `trace_link`.

    `populations`: per gate, how many rows (conversations, for a conversation scorer) it could
    apply to, when not every row of the dataset."""
    shared = run_problems(rows, dataset_size)
    results = []
    for name, threshold in gates.items():
        result = decide_gate(
            name, threshold, metrics.get(f"{name}/mean"), rows, applicable.get(name, 0), shared
        )
        population = (populations or {}).get(name, dataset_size)
        result.rows_not_applicable = max(population - result.rows_applicable, 0)
        if not result.passed:
            unscored = result.rows_scored < result.rows_applicable
            failing = failing_rows(name, threshold, rows, unscored, trace_link)
            result.failing_rows = failing[:FAILING_ROWS_SHOWN]
            result.more_failing_rows = len(failing) - len(result.failing_rows)
        results.append(result)
    return results


def run_problems(rows: list[RowScores], dataset_size: int) -> list[str]:
    """What fails every gate: an empty dataset, rows without a trace, rows that failed to
    predict."""
    reasons = []
    unpredicted = sum(1 for r in rows if not r.predicted)
    lost = max(dataset_size - len(rows), 0)  # rows MLflow returned no trace for
    if dataset_size == 0:
        reasons.append("the dataset is empty")
    if lost:
        reasons.append(f"{lost} row(s) have no trace")
    if unpredicted:
        reasons.append(f"{unpredicted} row(s) failed to predict")
    return reasons


def decide_gate(
    name: str,
    threshold: float,
    observed: float | None,
    rows: list[RowScores],
    applicable: int,
    shared: list[str],
) -> GateResult:
    metric = f"{name}/mean"
    observed = None if observed is None or math.isnan(observed) else float(observed)
    scored = sum(1 for r in rows if any(v is not None for v in r.values.get(name, [])))
    unparsed = sum(1 for r in rows if r.values.get(name) and all(v is None for v in r.values[name]))
    errored = sum(1 for r in rows if r.errors.get(name))
    reasons = list(shared)
    if errored:
        first = " ".join(next(r.errors[name][0] for r in rows if r.errors.get(name)).split())
        reasons.append(f"{errored} row(s) errored in the scorer (first: {first[:160]})")
    if unparsed:
        reasons.append(f"{unparsed} row(s) got a value that is not a score")
    if scored < applicable:
        reasons.append(f"scored {scored} of the {applicable} rows it applies to")
    if observed is None:
        reasons.append(f"metric {metric} is missing")
    elif observed + TOLERANCE < threshold:
        reasons.append(f"{observed:.3f} is below the threshold {threshold:.3f}")
    return GateResult(
        gate=name,
        metric=metric,
        threshold=threshold,
        observed=observed,
        rows_applicable=applicable,
        rows_scored=scored,
        rows_errored=errored,
        passed=not reasons,
        reason="; ".join(reasons) if reasons else "meets the threshold",
    )


def failing_rows(
    name: str,
    threshold: float,
    rows: list[RowScores],
    unscored: bool,
    trace_link: Callable[[str], str | None],
) -> list[FailingRow]:
    """The rows that fail `name`'s gate, worst first: rows without a score (the scorer errored,
    the agent failed, a value that is not a score, and, when the gate counts fewer scored rows
    than it applies to, rows left unscored), then rows below the threshold, lowest first."""
    found = []
    for order, row in enumerate(rows):
        failure = row_failure(name, threshold, row, unscored)
        if failure is not None:
            value, shown, why = failure
            found.append(
                (
                    (value is not None, value or 0.0, order),
                    FailingRow(
                        trace_id=row.trace_id,
                        value=value,
                        shown=shown,
                        input=shorten(input_text(row.request), INPUT_CHARS),
                        answer=shorten(response_text(row.response), ANSWER_CHARS),
                        rationale=shorten(why or "", RATIONALE_CHARS),
                        trace_url=trace_link(row.trace_id),
                    ),
                )
            )
    return [failing for _, failing in sorted(found, key=lambda f: f[0])]


def row_failure(
    name: str, threshold: float, row: RowScores, unscored: bool
) -> tuple[float | None, str, str] | None:
    """(value, value as shown, why) when `row` fails `name`'s gate, else None."""
    if row.errors.get(name):
        return None, "error", row.errors[name][0]
    if not row.predicted:
        return None, "agent failed", "the agent raised, or its trace is in an error state"
    values = row.values.get(name, [])
    if not values:
        if unscored and name not in row.not_applicable:
            return None, "not scored", "the scorer logged nothing for a row it applies to"
        return None
    if all(v is None for v in values):
        return None, "not a score", f"logged {row.raw[name][0]!r}"
    value, index = min((v, i) for i, v in enumerate(values) if v is not None)
    if value + TOLERANCE >= threshold:
        return None
    return value, shown_value(row.raw[name][index], value), row.rationales[name][index]


def shown_value(raw, value: float) -> str:
    """A score as logged when it is a word ("no", "false"), else the number to three places."""
    if isinstance(raw, bool):
        return str(raw).lower()
    return raw if isinstance(raw, str) else f"{value:.3f}"


def chat_turn_text(request) -> str | None:
    """A conversation turn's request (the messages so far) as a person reads it: the turn's
    number and the user's message, e.g. 'turn 2: When will it arrive?'; None for any other."""
    messages = request.get("messages") if isinstance(request, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    turn = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "user")
    return f"turn {turn}: {messages[-1].get('content')}"


def input_text(request) -> str:
    """A request as a person reads it: a single text argument as itself, a conversation's turn
    as its number and message, else compact JSON."""
    turn = chat_turn_text(request)
    if turn is not None:
        return turn
    if isinstance(request, dict) and len(request) == 1:
        (only,) = request.values()
        if isinstance(only, str):
            return only if only.strip() else "(empty)"
    if isinstance(request, str):
        return request
    return json.dumps(request, sort_keys=True, default=str)
