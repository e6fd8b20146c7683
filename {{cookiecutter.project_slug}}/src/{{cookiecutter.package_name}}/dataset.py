"""Load the evaluation dataset (JSON Lines) and check the shape of every record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .config import EvalConfig, Problem
from .evaluation.session_checks import conversation_problems, is_conversation, scripted_turns
from .evaluation.tool_checks import check_expected_calls
from .scorer_catalog import SCORERS

ROW_KEYS = {"id", "inputs", "expectations", "outputs"}
# Trace tag carrying a record's id, so runs can be compared row by row (see regression/).
RECORD_ID_TAG = "eval.record_id"


class DatasetError(ValueError):
    """The dataset file is unreadable or a record has the wrong shape."""


@dataclass(frozen=True)
class Record:
    line: int
    inputs: dict
    expectations: dict
    id: str | None = None

    def as_mlflow_row(self) -> dict:
        row = {"inputs": self.inputs}
        if self.expectations:
            row["expectations"] = self.expectations
        if self.id is not None:
            row["tags"] = {RECORD_ID_TAG: self.id}
        return row


def load_records(path: Path, label: str | None = None) -> list[Record]:
    """Every record of a .jsonl file; blank lines are skipped, anything else must be a record.

    `label` names the file in messages (the path as written in evaluation.yaml).
    """
    label = label or path.name
    if not path.is_file():
        raise DatasetError(f"{label}: file not found; create it or fix dataset.path")
    rows: list[tuple[int, str, object]] = []
    problems: list[str] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            rows.append((number, f"{label}:{number}", json.loads(text)))
        except json.JSONDecodeError as err:
            problems.append(
                f"{label}:{number}: invalid JSON ({err.msg}); write one JSON object per line"
            )
    return check_records(rows, problems)


def check_records(
    rows: list[tuple[int, str, object]], problems: list[str] | None = None
) -> list[Record]:
    """Records from (line or row number, where, parsed row); raise DatasetError naming every bad
    row.

    The one set of record rules, whether the rows come from a file or a Unity Catalog table.
    """
    problems = list(problems or [])
    records: list[Record] = []
    seen_ids: dict[str, str] = {}
    for number, where, row in rows:
        if not isinstance(row, dict):
            problems.append(f"{where}: a record must be a JSON object with an 'inputs' object")
            continue
        unknown = sorted(set(row) - ROW_KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {unknown}; allowed: {sorted(ROW_KEYS)}")
        inputs, expectations = row.get("inputs"), row.get("expectations", {})
        if expectations is None:  # a table's NULL: no expectations
            expectations = {}
        if not isinstance(inputs, dict) or not inputs:
            problems.append(f"{where}: 'inputs' must be a non-empty object of predict arguments")
            continue
        if not isinstance(expectations, dict):
            problems.append(f"{where}: 'expectations' must be an object")
            continue
        facts = expectations.get("expected_facts")
        if facts is not None and (
            not isinstance(facts, list) or not all(isinstance(f, str) and f for f in facts)
        ):
            problems.append(f"{where}: 'expected_facts' must be a list of non-empty strings")
        refuse = expectations.get("should_refuse")
        if refuse is not None and not isinstance(refuse, bool):
            problems.append(f"{where}: 'should_refuse' must be true or false, not {refuse!r}")
        if "expected_tool_calls" in expectations:
            problems += check_expected_calls(expectations["expected_tool_calls"], where)
        if is_conversation(inputs):
            problems += conversation_problems(inputs, expectations, where)
        record_id = row.get("id")
        if record_id is not None:
            if not isinstance(record_id, str) or not record_id.strip():
                problems.append(f"{where}: 'id' must be a non-empty string")
                record_id = None
            elif record_id in seen_ids:
                problems.append(
                    f"{where}: id {record_id!r} is already used at {seen_ids[record_id]}; "
                    "ids must be unique"
                )
            else:
                seen_ids[record_id] = where
        records.append(Record(number, inputs, expectations, record_id))
    if problems:
        raise DatasetError("\n".join(problems))
    return records


def rows_with_any(records: list[Record], keys: tuple[str, ...]) -> int:
    """How many records carry at least one of the expectation keys (all records if none)."""
    if not keys:
        return len(records)
    return sum(1 for r in records if any(k in r.expectations for k in keys))


def dataset_fit_problems(
    records: list[Record], label: str, scorers, shape: str = "single_turn", simulated: bool = False
) -> list[Problem]:
    """Scorers that can score no record of the dataset, one problem each; expected tool calls
    for an agent whose shape makes none; conversations for an agent that answers one request
    (and the reverse); a conversation without scripted turns when no simulated user plays it."""
    problems = shape_fit_problems(records, label, shape, simulated)
    with_calls = sum(1 for r in records if "expected_tool_calls" in r.expectations)
    if with_calls and shape == "single_turn":
        problems.append(
            Problem(
                "agent.shape",
                f"{with_calls} record(s) of {label} expect tool calls (expected_tool_calls), "
                "but agent.shape is single_turn",
                "set agent.shape: tool_calling, or remove expected_tool_calls from the records",
                shape,
            )
        )
    for scorer in scorers:
        needs = SCORERS[scorer.type].applies_if_any
        if records and needs and not any(k in r.expectations for r in records for k in needs):
            problems.append(
                Problem(
                    f"scorers.{scorer.name}",
                    f"{scorer.type} needs rows with expectations {list(needs)} "
                    f"but {label} has none",
                    "add them or remove the scorer",
                    scorer.type,
                )
            )
    return problems


def shape_fit_problems(
    records: list[Record], label: str, shape: str, simulated: bool
) -> list[Problem]:
    conversations = [r for r in records if is_conversation(r.inputs)]
    if shape == "multi_turn" and len(conversations) < len(records):
        return [
            Problem(
                "agent.shape",
                f"{len(records) - len(conversations)} record(s) of {label} are single requests "
                "(no inputs.goal), but agent.shape is multi_turn",
                "write conversations (inputs: goal, persona, turns; README: Conversations) or "
                "set agent.shape: single_turn",
                shape,
            )
        ]
    if shape != "multi_turn" and conversations:
        return [
            Problem(
                "agent.shape",
                f"{len(conversations)} record(s) of {label} are conversations (inputs.goal), "
                f"but agent.shape is {shape}",
                "set agent.shape: multi_turn, or write single requests",
                shape,
            )
        ]
    unscripted = [r.line for r in conversations if not scripted_turns(r.inputs)]
    if unscripted and not simulated:
        shown = ", ".join(map(str, unscripted[:3])) + (" ..." if len(unscripted) > 3 else "")
        return [
            Problem(
                "agent.conversation.simulator_model",
                f"{len(unscripted)} conversation(s) of {label} (line/row {shown}) have no "
                "scripted turns and no simulated user plays them (none)",
                "give each record inputs.turns (the user's messages), or set "
                "agent.conversation.simulator_model to a model URI",
                "none",
            )
        ]
    return []


def dataset_problems(config: EvalConfig) -> list[Problem]:
    """What check-config reports about the dataset file: its records, and scorers it cannot feed.

    A Unity Catalog table is checked when a run reads it (evaluation/run.py).
    """
    if config.dataset_path is None:
        return []
    label = config.dataset_label
    try:
        records = load_records(config.dataset_path, label)
    except DatasetError as err:
        return [Problem("dataset.path", line) for line in str(err).splitlines()]
    return dataset_fit_problems(
        records, label, config.scorers, config.agent_shape, simulated(config)
    )


def simulated(config: EvalConfig) -> bool:
    """Whether MLflow's ConversationSimulator plays the user (agent.conversation)."""
    return bool(config.conversation and config.conversation.simulator_model)
