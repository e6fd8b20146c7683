"""Write each agent trace to the store once, when it ends, instead of once per span.

Inside `mlflow.genai.evaluate`, MLflow 3.17 exports every span as it ends (one `log_spans` commit
per span, the first of which creates the trace row) and then the trace info, which finds the row
already there and takes the store's recovery path (an IntegrityError, a rollback, a re-read and
a merge). Those writes are most of the CPU an evaluation spends (benchmarks/, `--profile`).

For the length of a run, `traces_written_whole()` makes MLflow's span exporter keep a trace's
spans until its root span ends, then write the trace info first and every span in one
`log_spans` call: the same rows in the store (tests/test_trace_writes.py compares them), about a
quarter less CPU per row. A trace whose root ends while a span of a background thread is still
open is left to MLflow's own incremental export, which handles that case.
"""

from __future__ import annotations

import contextlib
import threading

from ..runtime import InfrastructureError

EXPORTER = "mlflow.tracing.export.mlflow_v3.MlflowV3SpanExporter"
NEEDED = ("export", "_collect_mlflow_spans_for_export", "_export_traces", "_log_spans")


class _WholeTraces:
    def __init__(self, original_export):
        self.original_export = original_export
        self.waiting: dict[int, list] = {}  # OTel trace id -> ended spans under an open root
        self.incremental: set[int] = set()  # traces left to MLflow's own export
        self.lock = threading.Lock()

    def export(self, exporter, spans) -> None:
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        whole, passed = [], []
        with self.lock:
            for span in spans:
                trace_id = span.context.trace_id
                if trace_id in self.incremental:
                    passed.append(span)
                elif span._parent is not None:  # OTel's own parent link, as MLflow reads it
                    self.waiting.setdefault(trace_id, []).append(span)
                else:
                    whole += [*self.waiting.pop(trace_id, []), span]
                    if InMemoryTraceManager.get_instance().has_open_spans(trace_id):
                        self.incremental.add(trace_id)
                        passed += whole
                        whole = []
        if passed:
            self.original_export(exporter, passed)
        if whole:
            # Map spans to MLflow spans while the trace is still in memory (the trace export
            # pops it), write the trace info, then every span at once.
            groups = exporter._collect_mlflow_spans_for_export(whole)
            exporter._export_traces(whole)
            for (experiment_id, workspace), mlflow_spans in groups.items():
                exporter._log_spans(experiment_id, mlflow_spans, workspace=workspace)


@contextlib.contextmanager
def traces_written_whole():
    """MLflow's span exporter writes whole traces inside the block (see the module docstring)."""
    import importlib

    module_name, _, class_name = EXPORTER.rpartition(".")
    exporter_class = getattr(importlib.import_module(module_name), class_name, None)
    missing = [name for name in NEEDED if not hasattr(exporter_class, name)]
    if missing:
        from mlflow.version import VERSION

        raise InfrastructureError(
            f"mlflow {VERSION}'s span exporter lacks {', '.join(missing)}; this project was "
            "verified on mlflow 3.17.x: pin 'mlflow>=3.17.2,<3.18' or update "
            "evaluation/trace_writes.py"
        )
    original = exporter_class.export
    whole = _WholeTraces(original)
    exporter_class.export = lambda exporter, spans: whole.export(exporter, spans)
    try:
        yield
    finally:
        exporter_class.export = original
