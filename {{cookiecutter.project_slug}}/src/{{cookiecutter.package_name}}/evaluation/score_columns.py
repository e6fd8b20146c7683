"""A run's scores as columns: per record, then per feedback (one per record and scorer; a per-chunk
scorer logs several), flattened from a `mlflow.search_traces` (or evaluate result) frame or from
traces read without spans. The score table (score_table.py) stores these columns as Parquet and
reads them back, so a run read from its table and one read from its traces compare alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any

import numpy as np

from ..dataset import RECORD_ID_TAG
from .judge_cache import canonical
from .quality_gates import numeric

INPUTS_KEY, OUTPUTS_KEY = "mlflow.traceInputs", "mlflow.traceOutputs"  # previews, 250 chars
BINARY_NUMBERS = {"yes": 1.0, "no": 0.0, True: 1.0, False: 0.0}
NUMBER_TYPES = {int, float}
SCALAR_TYPES = {bool, int, float, str, type(None)}


@dataclass
class ScoreColumns:
    """Scores of one run: per record (dataset order), then per feedback (`row` -> record)."""

    trace_ids: list[str]
    record_ids: list[str | None]  # the dataset record's id, when it has one
    keys: list[str]  # pairing keys: "id:<record id>", else the inputs as canonical JSON
    input_hashes: list[str | None]  # None: the inputs are not known in full
    states: list[str]
    inputs: Any  # JSON text per record (a list, or a pyarrow array read lazily)
    answers: Any  # JSON text per record, likewise
    row: np.ndarray  # int per feedback
    scorer: list[str]
    numbers: np.ndarray  # float per feedback: yes/True 1.0, no/False 0.0, numbers; NaN otherwise
    value_types: list[str]  # Python type name of each value as logged
    errors: np.ndarray  # bool per feedback: the scorer failed
    values: Any  # JSON text per feedback (read when a report shows it)
    error_messages: Any
    rationales: Any
    partial_inputs: list[int] = field(default_factory=list)  # records whose inputs are a preview

    def __len__(self) -> int:
        return len(self.trace_ids)

    def value(self, index: int) -> Any:
        return json.loads(_item(self.values, index))

    def text(self, column: str, index: int) -> str | None:
        return _item(getattr(self, column), index)


def _item(column, index: int):
    item = column[index]
    return item.as_py() if hasattr(item, "as_py") else item


def input_key(inputs: Any, record_id: str | None = None) -> str:
    """The pairing key of one record: its record id, else its inputs independent of key order."""
    if record_id:
        return f"id:{record_id}"
    if isinstance(inputs, str):  # some stores return the request as JSON text
        try:
            inputs = json.loads(inputs)
        except json.JSONDecodeError:
            return "text:" + inputs
    return "json:" + canonical(inputs)


def input_hash(inputs: Any) -> str:
    return hashlib.sha256(canonical(inputs).encode()).hexdigest()[:16]


def to_numbers(values: list, types: list) -> np.ndarray:
    """yes/no and bools as 1/0, numbers as they are, anything else NaN."""
    if not set(types) <= SCALAR_TYPES:  # a list or dict value: the careful path
        return np.array([np.nan if (n := numeric(v)) is None else n for v in values], float)
    mapped = list(map(BINARY_NUMBERS.get, values, values))
    if set(map(type, mapped)) <= NUMBER_TYPES:
        return np.array(mapped, float)
    return np.array([v if type(v) in NUMBER_TYPES else np.nan for v in mapped], float)


def _json(value) -> str:
    return json.dumps(value, default=str)


def _from_preview(text: str | None) -> tuple[Any, bool]:
    """A request or response from its trace-metadata preview: (value, complete)."""
    if not text:
        return None, False
    try:
        return json.loads(text), True
    except json.JSONDecodeError:  # cut at 250 characters
        return text, False


def columns_from_frame(frame) -> ScoreColumns:
    """The columns of a `mlflow.search_traces` (or evaluate result) frame, rows by request time.

    Without spans the frame has no request or response: the trace metadata's previews stand in,
    and records whose preview was cut are listed in `partial_inputs`.
    """
    column = _column_reader(frame)
    requests, answers, partial = _requests_and_answers(column)
    record_ids = list(
        map(
            dict.get,
            (t if isinstance(t, dict) else {} for t in column("tags")),
            repeat(RECORD_ID_TAG),
        )
    )
    partial_set = set(partial)
    assessments = [a if isinstance(a, list) else [] for a in column("assessments")]
    feedback_of = [[a for a in row if a.get("feedback") is not None] for row in assessments]
    flat = list(chain.from_iterable(feedback_of))
    feedback = [a["feedback"] for a in flat]
    values = [f.get("value") for f in feedback]
    errors = [f.get("error") for f in feedback]
    types = list(map(type, values))
    return ScoreColumns(
        trace_ids=column("trace_id"),
        record_ids=record_ids,
        keys=[input_key(r, i) for r, i in zip(requests, record_ids, strict=True)],
        input_hashes=[
            None if i in partial_set else input_hash(parse_json_text(r))
            for i, r in enumerate(requests)
        ],
        states=[str(s) for s in column("state", "OK")],
        inputs=[None if r is None else _json(r) for r in requests],
        answers=[None if a is None else _json(a) for a in answers],
        row=np.repeat(
            np.arange(len(assessments)), np.fromiter(map(len, feedback_of), int, len(assessments))
        ),
        scorer=[a["assessment_name"] for a in flat],
        numbers=to_numbers(values, types),
        value_types=[t.__name__ for t in types],
        errors=np.array([e is not None for e in errors], bool),
        values=[_json(v) for v in values],
        error_messages=[_error_message(e) for e in errors],
        rationales=[a.get("rationale") for a in flat],
        partial_inputs=partial,
    )


def _column_reader(frame) -> Callable[..., list]:
    """`column(name, default)`: a column of the frame as a list, rows by request time (`default`
    on every row when the frame lacks the column). The order is decided once for all columns."""
    order = None
    if "request_time" in frame.columns and not frame["request_time"].is_monotonic_increasing:
        order = np.argsort(frame["request_time"].to_numpy(), kind="stable")

    def column(name: str, default=None) -> list:
        if name not in frame.columns:
            return [default] * len(frame)
        values = frame[name].to_numpy()
        return (values if order is None else values[order]).tolist()

    return column


def _requests_and_answers(column) -> tuple[list, list, list[int]]:
    """Each record's request and response: (requests, answers, records whose request is a cut
    preview). A frame read without spans has neither; the trace metadata's previews stand in."""
    metadata = [m if isinstance(m, dict) else {} for m in column("trace_metadata")]
    requests, answers, partial = column("request"), column("response"), []
    for i, request in enumerate(requests):
        if request is None:
            requests[i], complete = _from_preview(metadata[i].get(INPUTS_KEY))
            if not complete:
                partial.append(i)
            if answers[i] is None:
                answers[i] = _from_preview(metadata[i].get(OUTPUTS_KEY))[0]
    return requests, answers, partial


def columns_from_trace_infos(traces) -> ScoreColumns:
    """The columns of traces read without spans (`search_traces(return_type="list")`): what
    `columns_from_frame` reads, without the frame's JSON copy of every trace."""
    import pandas as pd

    return columns_from_frame(
        pd.DataFrame(
            {
                "trace_id": [t.info.trace_id for t in traces],
                "state": [getattr(t.info.state, "value", t.info.state) for t in traces],
                "request_time": [t.info.request_time for t in traces],
                "trace_metadata": [t.info.trace_metadata for t in traces],
                "tags": [t.info.tags for t in traces],
                "assessments": [
                    [_feedback_dict(a) for a in t.info.assessments if a.feedback] for t in traces
                ],
            }
        )
    )


def _feedback_dict(assessment) -> dict:
    """A feedback as `Assessment.to_dictionary()` gives it (numbers as floats, as its protobuf
    round trip makes them), without that round trip: a third of the time of reading traces."""
    feedback = {"value": _as_stored(assessment.feedback.value)}
    if (error := assessment.feedback.error) is not None:
        feedback["error"] = {"error_code": error.error_code, "error_message": error.error_message}
    return {
        "assessment_name": assessment.name,
        "feedback": feedback,
        "rationale": assessment.rationale,
    }


def _as_stored(value):
    if isinstance(value, bool) or not isinstance(value, (int, list, dict)):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [_as_stored(v) for v in value]
    return {k: _as_stored(v) for k, v in value.items()}


def parse_json_text(request):
    """A request as stored: JSON text is parsed, anything else (or text that is not JSON) kept."""
    if isinstance(request, str):
        try:
            return json.loads(request)
        except json.JSONDecodeError:
            return request
    return request


def _error_message(error) -> str | None:
    if error is None:
        return None
    message = error.get("error_message") if isinstance(error, dict) else error
    return str(message or "scorer error")
