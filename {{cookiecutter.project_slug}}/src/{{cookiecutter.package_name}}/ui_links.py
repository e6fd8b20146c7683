"""Links into the MLflow UI for the runs and traces that reports mention."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

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


def serve_command(config: EvalConfig) -> str | None:
    """The command that serves the links of a local store (its UI runs only once started), or
    None when they point at a server that is already there (a tracking server, MLFLOW_UI_URL,
    a Databricks workspace)."""
    uri = config.resolved_tracking_uri  # absolute: the command works from any folder
    if config.target == "databricks" or os.environ.get(UI_URL_ENV):
        return None
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    return f"mlflow ui --backend-store-uri {uri}"


def run_url(config: EvalConfig, experiment_id: str, run_id: str) -> str | None:
    page = experiment_url(config, experiment_id)
    return f"{page}/runs/{run_id}" if page else None


def trace_url(config: EvalConfig, experiment_id: str, trace_id: str) -> str | None:
    page = experiment_url(config, experiment_id)
    return f"{page}/traces?selectedEvaluationId={trace_id}" if page else None


def prompt_url(config: EvalConfig, name: str) -> str | None:
    """The prompt's page of the registry (versions and aliases); None on Databricks, whose
    Unity Catalog prompts have a workspace route not verified here."""
    page = experiment_url(config, "0")
    if not page or config.target == "databricks":
        return None
    return f"{page.partition('/#/')[0]}/#/prompts/{quote(name, safe='')}"


def compare_runs_url(config: EvalConfig, experiment_id: str, run_ids: list[str]) -> str | None:
    """MLflow's side-by-side view of the runs (its UI route /compare-runs); None on Databricks,
    whose workspace UI has its own route, not verified here."""
    page = experiment_url(config, experiment_id)
    if not page or config.target == "databricks":
        return None
    base = page.partition("/#/")[0]
    runs, experiments = quote(json.dumps(run_ids)), quote(json.dumps([experiment_id]))
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}"
