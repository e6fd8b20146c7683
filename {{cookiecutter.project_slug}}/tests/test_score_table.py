"""The score table `evaluate` logs with each run: written and read back exactly, checked against
its run, and logged by a real evaluation."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_evaluate import offline, run_cli

from {{ cookiecutter.package_name }}.evaluation import score_table
from {{ cookiecutter.package_name }}.evaluation.score_table import (
    ScoreTableMismatch,
    columns_from_frame,
)

# Every kind of value a scorer logs, and an errored scorer.
VALUES = [
    "yes",
    "no",
    True,
    False,
    0,
    3,
    0.25,
    -1.5,
    None,
    "pass",
    [0.5, 1.0],
    {"label": "ok", "score": 2},
]


def feedback(name, value, rationale="why"):
    return {"assessment_name": name, "feedback": {"value": value}, "rationale": rationale}


def sample_frame() -> pd.DataFrame:
    rows = [[feedback(f"s{i}", value, f"because {i}")] for i, value in enumerate(VALUES)]
    rows.append(
        [
            {
                "assessment_name": "safety",
                "feedback": {"value": None, "error": {"error_message": "timed out"}},
            }
        ]
    )
    rows.append(
        [{"assessment_name": "expected_facts", "expectation": {"value": ["x"]}}]
    )  # not a score
    rows.append([feedback("chunks", 1.0, "first"), feedback("chunks", 0.0, "second")])  # per-chunk
    return pd.DataFrame(
        {
            "trace_id": [f"tr-{i}" for i in range(len(rows))],
            "request": [{"query": f"q{i}", "locale": "en"} for i in range(len(rows))],
            "response": [f"answer {i}" for i in range(len(rows))],
            "state": ["ERROR" if i == 1 else "OK" for i in range(len(rows))],
            "request_time": list(range(len(rows))),
            "tags": [{"eval.record_id": f"rec-{i}"} if i % 2 else {} for i in range(len(rows))],
            "assessments": rows,
        }
    )


def round_trip(tmp_path, columns, run_id="run-1", dataset_rows=None):
    path = score_table.write(columns, run_id, tmp_path / "scores.parquet")
    return score_table.read(path, run_id, dataset_rows)


def test_every_value_type_and_errored_rows_read_back_exactly(tmp_path):
    written = columns_from_frame(sample_frame())
    read = round_trip(tmp_path, written)
    for name in (
        "trace_ids",
        "record_ids",
        "keys",
        "input_hashes",
        "states",
        "scorer",
        "value_types",
        "partial_inputs",
    ):
        assert getattr(read, name) == getattr(written, name), name
    for name in ("inputs", "answers", "values", "error_messages", "rationales"):
        assert [read.text(name, i) for i in range(len(getattr(written, name)))] == getattr(
            written, name
        ), name
    assert np.array_equal(read.row, written.row) and np.array_equal(read.errors, written.errors)
    assert np.array_equal(read.numbers, written.numbers, equal_nan=True)
    # Values come back as what the scorer logged, type included (1 is not 1.0 nor True).
    values = [read.value(i) for i in range(len(VALUES))]
    assert values == VALUES and [type(v) for v in values] == [type(v) for v in VALUES]
    assert list(read.numbers[:8]) == [1.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.25, -1.5]
    assert all(math.isnan(n) for n in read.numbers[8:10])  # None and "pass" are not scores
    errored = len(VALUES)
    assert read.errors[errored] and read.text("error_messages", errored) == "timed out"
    # The record with only an expectation keeps its row, with no score.
    assert len(read) == len(VALUES) + 3 and (len(VALUES) + 1) not in set(read.row.tolist())
    assert read.record_ids[:2] == [None, "rec-1"]
    assert read.keys[1] == "id:rec-1" and read.keys[0] == 'json:{"locale":"en","query":"q0"}'
    assert json.loads(read.text("inputs", 0)) == {"query": "q0", "locale": "en"}
    assert json.loads(read.text("answers", 2)) == "answer 2"


def test_a_table_that_does_not_match_its_run_is_refused(tmp_path):
    columns = columns_from_frame(sample_frame())
    path = score_table.write(columns, "run-1", tmp_path / "scores.parquet")
    with pytest.raises(ScoreTableMismatch, match="written for run run-1"):
        score_table.read(path, "run-2", None)
    with pytest.raises(
        ScoreTableMismatch, match=f"holds {len(columns)} records; the run evaluated 99"
    ):
        score_table.read(path, "run-1", 99)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # an upload stopped half-way
    with pytest.raises(ScoreTableMismatch, match="unreadable"):
        score_table.read(cut, "run-1", None)
    # Rows lost after writing: the counts in the file's metadata no longer match.
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows - 1), tmp_path / "short.parquet")
    with pytest.raises(ScoreTableMismatch, match="records it lists|scores it lists"):
        score_table.read(tmp_path / "short.parquet", "run-1", None)


def test_a_frame_without_spans_uses_the_trace_previews():
    frame = sample_frame().drop(columns=["request", "response"])
    long_query = "x" * 300
    frame["trace_metadata"] = [
        {
            "mlflow.traceInputs": json.dumps({"query": f"q{i}", "locale": "en"}),
            "mlflow.traceOutputs": json.dumps(f"answer {i}"),
        }
        for i in range(len(frame))
    ]
    frame.at[0, "trace_metadata"] = {
        "mlflow.traceInputs": json.dumps({"query": long_query})[:247] + "..."
    }
    with_spans = columns_from_frame(sample_frame())
    without = columns_from_frame(frame)
    assert (
        without.keys[1:] == with_spans.keys[1:]
        and without.input_hashes[1:] == with_spans.input_hashes[1:]
    )
    assert without.answers[1:] == with_spans.answers[1:]
    assert without.partial_inputs == [0] and without.input_hashes[0] is None


def test_evaluate_logs_the_table_of_its_run(project_copy):
    import mlflow

    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.runs import resolve_run, run_traces
    from {{ cookiecutter.package_name }}.runtime import connect

    offline(project_copy / "evaluation.yaml")
    done = run_cli(
        "evaluate",
        "--config",
        str(project_copy / "evaluation.yaml"),
        "--run-name",
        "scored",
        cwd=project_copy,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    _, experiment = connect(load_config(project_copy / "evaluation.yaml"))
    run = mlflow.get_run(resolve_run(experiment.experiment_id, "scored").info.run_id)
    assert run.data.tags[score_table.TAG] == score_table.ARTIFACT
    table = score_table.download(run)
    traces = columns_from_frame(run_traces(run))
    records = (project_copy / "data" / "eval_dataset.jsonl").read_text().splitlines()
    assert len(table) == score_table.dataset_rows(run) == len(records)
    assert (
        table.trace_ids == traces.trace_ids
        and table.keys == traces.keys
        and table.scorer == traces.scorer
    )
    assert np.array_equal(table.numbers, traces.numbers, equal_nan=True)
    assert [table.text("rationales", i) for i in range(len(table.scorer))] == traces.rationales
