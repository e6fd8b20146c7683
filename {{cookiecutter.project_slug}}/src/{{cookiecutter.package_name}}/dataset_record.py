"""The record the datasets journey works on, whatever it came from (a JSON Lines file, an MLflow
evaluation dataset, a trace, a generator), and the key that deduplicates records."""

from __future__ import annotations

from dataclasses import dataclass, field

from .evaluation.score_columns import input_key

# Record tags (MLflow dataset record tags; JSON Lines files have no tags, see to_jsonl_row).
RECORD_ID_TAG = "eval.record_id"  # the id `compare` pairs on (dataset.RECORD_ID_TAG)
GENERATOR_TAG = "dataset.generator"  # which `dataset expand` generator wrote the record
PARENT_TAG = "dataset.parent"  # the key of the record it was made from


@dataclass(frozen=True)
class DatasetRecord:
    inputs: dict
    expectations: dict = field(default_factory=dict)
    id: str | None = None  # the record id `compare` pairs on, when the record has one
    # Where it came from: "trace:<trace id>", "expand:<generator>", "file", "code", ...
    source: str = "file"
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record, source: str = "file") -> DatasetRecord:
        """A checked record of a file or table (dataset.Record) as this journey's record."""
        return cls(record.inputs, record.expectations, record.id, source=source)

    @property
    def key(self) -> str:
        """The canonical input key `compare` pairs runs on: the record id, else the inputs
        (independent of key order). Two records with one key are one test case."""
        return input_key(self.inputs, self.id)

    def to_jsonl_row(self) -> dict:
        """The record as a line of the project's JSON Lines file (id, inputs, expectations)."""
        row: dict = {}
        if self.id:
            row["id"] = self.id
        row["inputs"] = self.inputs
        if self.expectations:
            row["expectations"] = self.expectations
        return row


def dedupe(records: list[DatasetRecord], known: set[str] = frozenset()) -> list[DatasetRecord]:
    """`records` without those whose key is in `known` or came earlier in the list."""
    seen, kept = set(known), []
    for record in records:
        if record.key not in seen:
            seen.add(record.key)
            kept.append(record)
    return kept


def trace_expectations(trace) -> dict:
    """Expectation assessments, then people's feedback, by name (the later assessment wins)."""
    found = {}
    for assessment in trace.info.assessments or []:
        expectation = getattr(assessment, "expectation", None)
        if expectation is not None:
            found[assessment.name] = expectation.value
    for assessment in trace.info.assessments or []:
        feedback = getattr(assessment, "feedback", None)
        human = str(getattr(assessment.source, "source_type", "")).endswith("HUMAN")
        if feedback is not None and human and feedback.error is None:
            found.setdefault(assessment.name, feedback.value)
    return found
