"""Links into the MLflow UI for the runs and traces that reports mention."""

from __future__ import annotations

import os

from .config import EvalConfig

LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default
UI_URL_ENV = "MLFLOW_UI_URL"  # set it when the UI is served elsewhere


def experiment_url(config: EvalConfig, experiment_id: str) -> str | None:
    """The experiment page, or None when no UI address is known (Databricks without a host)."""
    base = os.environ.get(UI_URL_ENV, "").rstrip("/")
    if config.target == "databricks":
        host = base or os.environ.get("DATABRICKS_HOST", "").rstrip("/")
        return f"{host}/ml/experiments/{experiment_id}" if host else None
    if not base:
        uri = config.tracking_uri
        base = uri.rstrip("/") if uri.startswith(("http://", "https://")) else LOCAL_UI
    return f"{base}/#/experiments/{experiment_id}"


def run_url(config: EvalConfig, experiment_id: str, run_id: str) -> str | None:
    page = experiment_url(config, experiment_id)
    return f"{page}/runs/{run_id}" if page else None


def trace_url(config: EvalConfig, experiment_id: str, trace_id: str) -> str | None:
    page = experiment_url(config, experiment_id)
    return f"{page}/traces?selectedEvaluationId={trace_id}" if page else None
