"""Report links point at the MLflow UI of the configured store."""

from conftest import LOCAL, PROJECT

from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.ui_links import (
    compare_runs_url,
    prompt_url,
    run_url,
    serve_command,
    trace_url,
)


def test_local_store_links_to_mlflow_ui(monkeypatch, write_config):
    monkeypatch.delenv("MLFLOW_UI_URL", raising=False)
    config = load_config(write_config(**LOCAL))
    assert (
        trace_url(config, "1", "tr-9")
        == "http://127.0.0.1:5000/#/experiments/1/traces?selectedEvaluationId=tr-9"
    )
    monkeypatch.setenv("MLFLOW_UI_URL", "http://mlflow.internal:8080/")
    assert run_url(config, "1", "abc") == "http://mlflow.internal:8080/#/experiments/1/runs/abc"
    # MLflow's compare-runs route takes JSON lists of run and experiment ids.
    assert compare_runs_url(config, "1", ["a", "b"]) == (
        "http://mlflow.internal:8080/#/compare-runs"
        "?runs=%5B%22a%22%2C%20%22b%22%5D&experiments=%5B%221%22%5D"
    )


def test_databricks_links_need_a_host(monkeypatch, write_config):
    monkeypatch.delenv("MLFLOW_UI_URL", raising=False)
    monkeypatch.delenv("DATABRICKS_HOST", raising=False)
    config = load_config(
        write_config(
            target="databricks",
            mlflow__tracking_uri="databricks",
            mlflow__experiment="/Shared/x",
            agent__prompt__name="main.s.p",
            scorers={"pii": {}},
            quality_gates={"pii": 1.0},
        )
    )
    assert trace_url(config, "7", "tr-1") is None
    monkeypatch.setenv("DATABRICKS_HOST", "https://adb-1.azuredatabricks.net/")
    assert run_url(config, "7", "r") == "https://adb-1.azuredatabricks.net/ml/experiments/7/runs/r"
    assert compare_runs_url(config, "7", ["a", "b"]) is None  # the workspace route is not verified
    assert prompt_url(config, "main.s.p") is None and serve_command(config) is None


def test_shipped_config_loads_for_links():
    assert load_config(PROJECT / "evaluation.yaml").experiment


def test_a_local_store_says_how_to_serve_its_links(monkeypatch, write_config, project_copy):
    monkeypatch.delenv("MLFLOW_UI_URL", raising=False)
    config = load_config(write_config(**LOCAL))
    # The store's absolute path, so the command works from any folder.
    db = (project_copy / "mlflow.db").resolve()
    assert serve_command(config) == f"mlflow ui --backend-store-uri sqlite:///{db}"
    assert prompt_url(config, "a/b") == "http://127.0.0.1:5000/#/prompts/a%2Fb"
    monkeypatch.setenv("MLFLOW_UI_URL", "http://mlflow.internal:8080")
    assert serve_command(config) is None  # a served UI needs no command
    served = {**LOCAL, "mlflow__tracking_uri": "http://mlflow.internal:5000"}
    server = load_config(write_config(**served))
    monkeypatch.delenv("MLFLOW_UI_URL")
    assert serve_command(server) is None
    assert prompt_url(server, "p") == "http://mlflow.internal:5000/#/prompts/p"
