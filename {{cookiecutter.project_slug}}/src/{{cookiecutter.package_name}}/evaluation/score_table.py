"""A run's scores as one columnar table (Parquet), logged by `evaluate` with the run's metrics.

`compare` reads it back with one artifact download instead of every trace of the run. One row per
feedback (one per record and scorer; a per-chunk scorer logs several), the record's columns
repeated on its rows (Parquet keeps each distinct value once); a record no scorer judged has one
row without a scorer. The file's metadata names its run and its counts, so a table that does not
match its run is detected. The same flattening reads a `search_traces` frame, for runs without a
table: both paths give the same columns.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from ..dataset import RECORD_ID_TAG
from .judge_cache import canonical
from .quality_gates import numeric

ARTIFACT_DIR, FILE_NAME = "evaluation", "scores.parquet"
ARTIFACT = f"{ARTIFACT_DIR}/{FILE_NAME}"
TAG = "evaluation.score_table"  # set once the table is uploaded: the run has a whole table
VERSION = "1"
INPUTS_KEY, OUTPUTS_KEY = "mlflow.traceInputs", "mlflow.traceOutputs"  # previews, 250 chars
BINARY_NUMBERS = {"yes": 1.0, "no": 0.0, True: 1.0, False: 0.0}
NUMBER_TYPES = {int, float}
SCALAR_TYPES = {bool, int, float, str, type(None)}


class ScoreTableMismatch(ValueError):
    """A run's score table cannot be trusted for that run (the message says why)."""


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
    order = None
    if "request_time" in frame.columns and not frame["request_time"].is_monotonic_increasing:
        order = np.argsort(frame["request_time"].to_numpy(), kind="stable")

    def column(name: str, default=None) -> list:
        if name not in frame.columns:
            return [default] * len(frame)
        values = frame[name].to_numpy()
        return (values if order is None else values[order]).tolist()

    metadata = [m if isinstance(m, dict) else {} for m in column("trace_metadata")]
    requests, answers, partial = column("request"), column("response"), []
    for i, request in enumerate(requests):
        if request is None:
            requests[i], complete = _from_preview(metadata[i].get(INPUTS_KEY))
            if not complete:
                partial.append(i)
            if answers[i] is None:
                answers[i] = _from_preview(metadata[i].get(OUTPUTS_KEY))[0]
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


# Parquet


def to_arrow(columns: ScoreColumns, run_id: str):
    """One row per feedback, plus one row for each record that has none."""
    import pyarrow as pa

    records = len(columns)
    judged = np.zeros(records, bool)
    judged[columns.row] = True
    bare = np.flatnonzero(~judged)
    # Feedback rows, then a row for each unjudged record; sorted by record (stable).
    record = np.concatenate([columns.row, bare]).astype(np.int64)
    order = np.argsort(record, kind="stable")
    record = record[order]
    feedbacks = len(columns.row)
    order_list, record_list = order.tolist(), record.tolist()

    def per_feedback(values, fill=None):
        return [values[i] if i < feedbacks else fill for i in order_list]

    def per_record(values):
        return [values[r] for r in record_list]

    numbers = np.concatenate([columns.numbers, np.full(len(bare), np.nan)])[order]
    errors = np.concatenate([columns.errors, np.zeros(len(bare), bool)])[order]
    table = pa.table(
        {
            "record": pa.array(record, pa.int64()),
            "trace_id": per_record(columns.trace_ids),
            "record_id": pa.array(per_record(columns.record_ids), pa.string()),
            "record_key": per_record(columns.keys),
            "input_hash": pa.array(per_record(columns.input_hashes), pa.string()),
            "state": per_record(columns.states),
            "inputs": pa.array(per_record(columns.inputs), pa.string()),
            "answer": pa.array(per_record(columns.answers), pa.string()),
            "scorer": pa.array(per_feedback(columns.scorer), pa.string()),
            "value": pa.array(per_feedback(columns.values), pa.string()),
            "value_type": pa.array(per_feedback(columns.value_types), pa.string()),
            "number": pa.array(numbers, pa.float64()),
            "error": pa.array(errors, pa.bool_()),
            "error_message": pa.array(per_feedback(columns.error_messages), pa.string()),
            "rationale": pa.array(per_feedback(columns.rationales), pa.string()),
        }
    )
    meta = {
        "version": VERSION,
        "run_id": run_id,
        "records": records,
        "feedback": feedbacks,
        "partial_inputs": columns.partial_inputs,
    }
    return table.replace_schema_metadata({"score_table": json.dumps(meta)})


def write(columns: ScoreColumns, run_id: str, path: Path) -> Path:
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(columns, run_id), path)
    return path


def log(frame, run_id: str) -> None:
    """Write the evaluate result's table as an artifact of the active run, then tag the run."""
    import tempfile

    import mlflow

    columns = columns_from_frame(frame)
    with tempfile.TemporaryDirectory() as folder:
        path = write(columns, run_id, Path(folder) / FILE_NAME)
        mlflow.log_artifact(str(path), ARTIFACT_DIR)
    mlflow.set_tag(TAG, ARTIFACT)  # last: a run with the tag has the whole table


def read(path: Path, run_id: str, dataset_rows: int | None) -> ScoreColumns:
    """The columns of a score table file; ScoreTableMismatch when it is not this run's whole
    table."""
    import pyarrow.parquet as pq

    dictionary = ["scorer", "value_type"]
    try:
        table = pq.read_table(path, read_dictionary=dictionary)
        meta = json.loads((table.schema.metadata or {}).get(b"score_table", b"{}"))
    except Exception as err:  # any unreadable file means: read the traces
        raise ScoreTableMismatch(f"unreadable ({type(err).__name__}: {err})") from err
    if meta.get("version") != VERSION:
        raise ScoreTableMismatch(
            f"format version {meta.get('version')!r}, this code reads {VERSION!r}"
        )
    if meta.get("run_id") != run_id:
        raise ScoreTableMismatch(f"it was written for run {meta.get('run_id')}")
    record = table.column("record").to_numpy()
    starts = np.flatnonzero(np.diff(record, prepend=-1)) if len(record) else np.array([], int)
    records = len(starts)
    if records != meta.get("records") or not np.array_equal(record[starts], np.arange(records)):
        raise ScoreTableMismatch(
            f"it holds {records} of the {meta.get('records')} records it lists"
        )
    if dataset_rows is not None and records != dataset_rows:
        raise ScoreTableMismatch(f"it holds {records} records; the run evaluated {dataset_rows}")
    scored = table.filter(table.column("scorer").is_valid())
    if scored.num_rows != meta.get("feedback"):
        raise ScoreTableMismatch(
            f"it holds {scored.num_rows} of the {meta.get('feedback')} scores it lists"
        )
    heads = table.take(starts)
    scorer = scored.column("scorer").combine_chunks()
    value_type = scored.column("value_type").combine_chunks()
    names, types = scorer.dictionary.to_pylist(), value_type.dictionary.to_pylist()
    return ScoreColumns(
        trace_ids=heads.column("trace_id").to_pylist(),
        record_ids=heads.column("record_id").to_pylist(),
        keys=heads.column("record_key").to_pylist(),
        input_hashes=heads.column("input_hash").to_pylist(),
        states=heads.column("state").to_pylist(),
        inputs=heads.column("inputs"),
        answers=heads.column("answer"),
        row=scored.column("record").to_numpy(),
        scorer=[names[i] for i in scorer.indices.to_numpy()],
        numbers=scored.column("number").to_numpy(),
        value_types=[types[i] for i in value_type.indices.to_numpy()],
        errors=scored.column("error").to_numpy(),
        values=scored.column("value"),
        error_messages=scored.column("error_message"),
        rationales=scored.column("rationale"),
        partial_inputs=list(meta.get("partial_inputs") or []),
    )


def download(run) -> ScoreColumns | None:
    """A run's score table: None when the run has none (plain MLflow, older versions of this
    project); ScoreTableMismatch when it has one that cannot be trusted."""
    import tempfile

    import mlflow

    if run.data.tags.get(TAG) != ARTIFACT:
        return None
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR as BAR

    with tempfile.TemporaryDirectory() as folder:
        shown = os.environ.get(BAR.name)
        os.environ[BAR.name] = "false"  # one small file: no progress bar on the report's terminal
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run.info.run_id, artifact_path=ARTIFACT, dst_path=folder
            )
        except Exception as err:  # a missing artifact means: read the traces
            raise ScoreTableMismatch(f"not downloadable ({type(err).__name__}: {err})") from err
        finally:
            if shown is None:
                del os.environ[BAR.name]
            else:
                os.environ[BAR.name] = shown
        return read(Path(path), run.info.run_id, dataset_rows(run))


def dataset_rows(run) -> int | None:
    """Rows of the dataset MLflow logged as the run's input (its profile), when there is one."""
    inputs = getattr(run, "inputs", None)
    for dataset_input in getattr(inputs, "dataset_inputs", None) or []:
        try:
            return int(json.loads(dataset_input.dataset.profile)["num_rows"])
        except (TypeError, ValueError, KeyError):
            continue
    return None


def dataset_digest(run) -> str | None:
    inputs = getattr(run, "inputs", None)
    digests = [d.dataset.digest for d in getattr(inputs, "dataset_inputs", None) or []]
    return digests[0] if digests else None
