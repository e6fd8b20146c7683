"""Whole-trace writes store exactly what MLflow's per-span export stores."""

import json
import sqlite3
from types import SimpleNamespace

import mlflow
from conftest import PROJECT

from {{ cookiecutter.package_name }}.agent.prompts import ensure_registered
from {{ cookiecutter.package_name }}.dataset import load_records
from {{ cookiecutter.package_name }}.evaluation.agent_loader import PROMPT_ENV, import_callable
from {{ cookiecutter.package_name }}.evaluation.trace_writes import (
    _WholeTraces,
    traces_written_whole,
)

# Columns that differ between any two runs, or count writes rather than hold data.
VOLATILE = {
    "request_id",
    "timestamp_ms",
    "execution_time_ms",
    "client_request_id",
    "db_payload_generation",
}
PER_RUN_METADATA = ("mlflow.sourceRun", "mlflow.trace.sizeStats", "mlflow.trace.sizeBytes")


def evaluate_into(store, predict_fn, rows, whole: bool, monkeypatch=None):
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    mlflow.set_experiment("trace-writes")
    if monkeypatch is not None:  # the sample agent reads its prompt from this store's registry
        monkeypatch.setenv(PROMPT_ENV, ensure_registered("support_agent_system", "production"))
    with mlflow.start_run():
        if whole:
            with traces_written_whole():
                mlflow.genai.evaluate(data=rows, predict_fn=predict_fn, scorers=[])
        else:
            mlflow.genai.evaluate(data=rows, predict_fn=predict_fn, scorers=[])
    mlflow.flush_trace_async_logging()


def stored(store) -> dict:
    """Every trace's row, tags, metadata, spans and assessments, keyed by its request."""
    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    traces = {}
    for row in db.execute("SELECT * FROM trace_info"):
        trace_id = row["request_id"]
        info = {k: v for k, v in dict(row).items() if k not in VOLATILE}
        tags = sorted(
            r[0] for r in db.execute("SELECT key FROM trace_tags WHERE request_id = ?", (trace_id,))
        )
        metadata = sorted(
            (k, "*" if k.startswith(PER_RUN_METADATA) else v)
            for k, v in db.execute(
                "SELECT key, value FROM trace_request_metadata WHERE request_id = ?", (trace_id,)
            )
        )
        spans = sorted(
            (
                s["name"],
                s["type"],
                s["status"],
                s["parent_span_id"] is None,
                json.dumps(
                    {
                        k: v
                        for k, v in json.loads(s["content"]).items()
                        if k in ("name", "attributes", "events", "status")
                    },
                    sort_keys=True,
                    default=str,
                ),
            )
            for s in db.execute("SELECT * FROM spans WHERE trace_id = ?", (trace_id,))
        )
        spans = [s[:4] + (s[4].replace(trace_id, "<trace>"),) for s in spans]
        assessments = db.execute(
            "SELECT COUNT(*) FROM assessments WHERE trace_id = ?", (trace_id,)
        ).fetchone()[0]
        traces[row["request_preview"]] = (info, tags, metadata, spans, assessments)
    return traces


def test_whole_traces_store_the_same_rows_as_per_span_export(tmp_path, monkeypatch):
    rows = [r.as_mlflow_row() for r in load_records(PROJECT / "data" / "eval_dataset.jsonl")]
    predict_fn = import_callable("{{ cookiecutter.package_name }}.agent.support_agent:predict")
    evaluate_into(tmp_path / "per_span.db", predict_fn, rows, whole=False, monkeypatch=monkeypatch)
    evaluate_into(tmp_path / "whole.db", predict_fn, rows, whole=True, monkeypatch=monkeypatch)
    per_span, whole = stored(tmp_path / "per_span.db"), stored(tmp_path / "whole.db")
    assert len(whole) == len(rows) and whole == per_span
    assert sum(len(spans) for *_, spans, _ in whole.values()) > 3 * len(
        rows
    )  # the agent's span trees


def test_a_trace_whose_root_ends_with_a_span_still_open_is_left_to_mlflows_own_export(monkeypatch):
    """A background thread's span may end after the root: MLflow's exporter defers such a trace,
    so the whole-trace path hands the trace (and its late spans) to it unchanged."""
    from mlflow.tracing.trace_manager import InMemoryTraceManager

    def span(name, trace_id, parent=None):
        return SimpleNamespace(
            name=name, context=SimpleNamespace(trace_id=trace_id), _parent=parent
        )

    open_traces = {1}
    monkeypatch.setattr(
        InMemoryTraceManager.get_instance(), "has_open_spans", lambda t: t in open_traces
    )
    handed = []
    whole = _WholeTraces(lambda exporter, spans: handed.append([s.name for s in spans]))
    for batch in ([span("tool", 1, "root")], [span("root", 1)], [span("late_tool", 1, "root")]):
        whole.export(exporter=None, spans=batch)
    assert handed == [["tool", "root"], ["late_tool"]]
    assert whole.waiting == {}
