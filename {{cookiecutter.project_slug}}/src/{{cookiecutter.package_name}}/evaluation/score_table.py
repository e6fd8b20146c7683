"""A run's scores as one columnar table (Parquet), logged by `evaluate` with the run's metrics.

`compare` reads it back with one artifact download instead of every trace of the run. One row per
feedback (one per record and scorer; a per-chunk scorer logs several), the record's columns
repeated on its rows (Parquet keeps each distinct value once); a record no scorer judged has one
row without a scorer. The file's metadata names its run and its counts, so a table that does not
match its run is detected. The same flattening (score_columns.py) reads a `search_traces` frame,
for runs without a table: both paths give the same columns.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

# The columns and their flattening live in score_columns; compare (regression/) and the tests
# read them from here, with the table.
from .score_columns import NUMBER_TYPES as NUMBER_TYPES
from .score_columns import ScoreColumns, columns_from_frame
from .score_columns import columns_from_trace_infos as columns_from_trace_infos
from .score_columns import input_key as input_key
from .score_columns import parse_json_text as parse_json_text

ARTIFACT_DIR, FILE_NAME = "evaluation", "scores.parquet"
ARTIFACT = f"{ARTIFACT_DIR}/{FILE_NAME}"
TAG = "evaluation.score_table"  # set once the table is uploaded: the run has a whole table
VERSION = "1"


class ScoreTableMismatch(ValueError):
    """A run's score table cannot be trusted for that run (the message says why)."""


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
