import os
import shutil
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]

# Tests run offline: no telemetry, no model-catalog download.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")


@pytest.fixture(autouse=True)
def restore_environment():
    """An evaluation run in the test process sets variables (the prompt under test, MLflow's
    concurrency); a later test, or the CLI it starts, must not inherit them."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def shipped_config() -> dict:
    """This project's evaluation.yaml as the tests run it (single_turn_sample)."""
    return single_turn_sample(yaml.safe_load((PROJECT / "evaluation.yaml").read_text()))


def single_turn_sample(raw: dict) -> dict:
    """A multi_turn project's config as its tests run it: the single-turn sample agent on
    data/eval_dataset.jsonl, which the tests of every shape share (tests/test_conversations.py
    evaluates conversations). Any other config as it is."""
    if raw["agent"].get("shape") != "multi_turn":
        return raw
    from {{ cookiecutter.package_name }}.scorer_catalog import SCORERS

    raw["agent"]["callable"] = "{{ cookiecutter.package_name }}.agent.support_agent:predict"
    raw["agent"]["shape"] = "single_turn"
    raw["agent"].pop("conversation", None)
    raw["dataset"] = {"path": "data/eval_dataset.jsonl"}
    kept = {
        name: options
        for name, options in raw["scorers"].items()
        if not SCORERS[(options or {}).get("type", name)].session_level
    }
    raw["scorers"] = {**kept, "fact_coverage": {}, "refusal": {}}
    gates = {name: t for name, t in raw["quality_gates"].items() if name in kept}
    raw["quality_gates"] = {**gates, "fact_coverage": 0.9, "refusal": 1.0}
    limits = raw.get("regression", {}).get("max_regressed_rows")
    if limits is not None:
        kept_limits = {name: n for name, n in limits.items() if name in kept}
        raw["regression"]["max_regressed_rows"] = {**kept_limits, "refusal": 0}
    return raw


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """This project's evaluation.yaml (as the tests run it: shipped_config) and dataset in a
    scratch folder (its own MLflow store)."""
    shutil.copy(PROJECT / "evaluation.yaml", tmp_path / "evaluation.yaml")
    raw = shipped_config()
    if raw != yaml.safe_load((PROJECT / "evaluation.yaml").read_text()):  # a multi_turn project
        (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copytree(PROJECT / "data", tmp_path / "data")
    # Prompt files that evaluation.yaml may name (the package itself runs from the install).
    shutil.copytree(PROJECT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.fixture
def write_config(project_copy: Path):
    """Write the shipped config with some settings changed; returns its path."""

    def write(**changes) -> Path:
        raw = shipped_config()
        if "scorers" in changes and "regression" not in changes and "regression" in raw:
            # Regression limits name the shipped scorers; a test that swaps scorers drops them.
            del raw["regression"]
            raw["journeys"]["regression"] = False
        if changes.get("target") == "databricks" and "datasets" in raw:
            # A Databricks dataset is a Unity Catalog table; a test moving there names one.
            raw["datasets"]["name"] = "main.test_schema.eval_dataset"
        for dotted, value in changes.items():
            node = raw
            *parents, last = dotted.split("__")
            for key in parents:
                node = node.setdefault(key, {})
            if value is DELETE:
                node.pop(last, None)
            else:
                node[last] = value
        path = project_copy / "evaluation.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    return write


DELETE = object()
# write_config(**LOCAL): the config on a local store with a deterministic scorer, whichever
# target this project was generated for.
LOCAL = {
    "target": "local",
    "mlflow__tracking_uri": "sqlite:///mlflow.db",
    "mlflow__experiment": "x",
    "agent__prompt__name": "p",
    "judge__model": "none",
    "scorers": {"pii": {}},
    "quality_gates": {"pii": 1.0},
}


def on_databricks(raw: dict, sql_warehouse_id: str = "") -> dict:
    """A config moved to a Databricks workspace (test names; nothing is contacted)."""
    raw["target"] = "databricks"
    raw["mlflow"] = {"tracking_uri": "databricks", "experiment": "/Shared/test-evaluation"}
    raw["agent"]["prompt"]["name"] = "main.test_schema.support_agent_system"
    raw["unity_catalog"] = {
        "catalog": "main",
        "schema": "test_schema",
        "sql_warehouse_id": sql_warehouse_id,
    }
    if "datasets" in raw:  # a Databricks dataset is backed by a Unity Catalog table
        raw["datasets"]["name"] = "main.test_schema.eval_dataset"
    return raw
