"""Run-time checks: the MLflow version floor, environment defaults and judge credentials."""

import os
from unittest import mock

import pytest
from conftest import LOCAL, PROJECT

from {{ cookiecutter.package_name }} import runtime
from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.evaluation import concurrency


def test_parse_version():
    assert runtime.parse_version("3.17.2") == (3, 17, 2)
    assert runtime.parse_version("3.18.0rc1") == (3, 18, 0)
    assert runtime.parse_version("3.9") == (3, 9)


def test_installed_mlflow_meets_the_floor():
    assert runtime.parse_version(runtime.check_mlflow_version()) >= runtime.MLFLOW_MIN


def test_an_old_mlflow_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(runtime, "version", lambda name: "3.9.0")
    with pytest.raises(
        runtime.InfrastructureError,
        match=r"mlflow 3\.9\.0 is older than 3\.17\.2.*pip install 'mlflow>=3\.17\.2'",
    ):
        runtime.check_mlflow_version()


def test_environment_defaults_do_not_override_the_user(monkeypatch):
    config = load_config(PROJECT / "evaluation.yaml")
    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", "7")
    monkeypatch.delenv("MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT", raising=False)
    monkeypatch.delenv("MLFLOW_MODEL_CATALOG_URI", raising=False)
    with mock.patch.dict(os.environ):  # later tests' subprocesses must not inherit the plan
        runtime.apply_environment(config)
        concurrency.apply(concurrency.decide(config, []))  # what evaluate sets for MLflow

        assert os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] == "7"
        assert os.environ["MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT"] == str(config.predict_rate_limit)
        assert os.environ["MLFLOW_MODEL_CATALOG_URI"] == ""


def test_judge_credentials_are_checked_before_evaluating(write_config, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in ("DATABRICKS_HOST", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_RUNTIME_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.databrickscfg
    openai = load_config(
        write_config(
            judge__model="openai:/gpt-4.1-mini",
            scorers={"safety": {}},
            quality_gates={"safety": 1.0},
        )
    )
    with pytest.raises(runtime.InfrastructureError, match="needs OPENAI_API_KEY"):
        runtime.check_judge_credentials(openai)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    runtime.check_judge_credentials(openai)
    databricks = load_config(
        write_config(
            **LOCAL
            | {
                "judge__model": "databricks",
                "scorers": {"safety": {}},
                "quality_gates": {"safety": 1.0},
            }
        )
    )
    with pytest.raises(runtime.InfrastructureError, match="needs a Databricks workspace"):
        runtime.check_judge_credentials(databricks)


def test_only_the_configured_sqlite_store_is_switched_to_wal(tmp_path):
    import dataclasses

    import sqlalchemy

    config = load_config(PROJECT / "evaluation.yaml")
    store = dataclasses.replace(
        config, tracking_uri=f"sqlite:///{tmp_path / 'store.db'}", sqlite_wal=True
    )
    assert runtime.tune_sqlite_store(store) is True
    assert runtime.tune_sqlite_store(dataclasses.replace(store, sqlite_wal=False)) is False
    assert runtime.tune_sqlite_store(dataclasses.replace(store, tracking_uri="databricks")) is False

    def modes(path):
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            found = [
                connection.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("journal_mode", "synchronous")
            ]
        engine.dispose()
        return found

    assert modes(tmp_path / "store.db") == ["wal", 1]  # synchronous 1 = NORMAL
    assert modes(tmp_path / "someone-elses.db") == ["delete", 2]  # untouched: FULL


def test_the_checkpoint_leaves_everything_in_the_store_file(tmp_path):
    """A connection still open at exit keeps recent commits in mlflow.db-wal; the exit hook folds
    them into mlflow.db, so copying or caching that file alone loses nothing."""
    import dataclasses
    import shutil
    import sqlite3

    store = tmp_path / "store.db"
    config = dataclasses.replace(
        load_config(PROJECT / "evaluation.yaml"), tracking_uri=f"sqlite:///{store}", sqlite_wal=True
    )
    runtime.tune_sqlite_store(config)
    writer = sqlite3.connect(store)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE runs (id TEXT)")
    writer.execute("INSERT INTO runs VALUES ('r1')")
    writer.commit()  # committed, still open: the row is in the WAL only

    def rows_in_a_copy(name):
        shutil.copy(store, tmp_path / name)
        with sqlite3.connect(tmp_path / name) as copy:
            return copy.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'runs'"
            ).fetchone()[0]

    assert rows_in_a_copy("before.db") == 0
    runtime.checkpoint_sqlite_stores()
    assert rows_in_a_copy("after.db") == 1
    writer.close()


def test_each_store_is_announced_once_with_where_it_was_chosen(monkeypatch, capsys, tmp_path):
    import dataclasses

    monkeypatch.setattr(runtime, "_ANNOUNCED", set())
    config = dataclasses.replace(
        load_config(PROJECT / "evaluation.yaml"),
        tracking_uri=f"sqlite:///{tmp_path / 'other.db'}",
        origins={"mlflow.tracking_uri": "MLFLOW_TRACKING_URI"},
    )
    runtime.apply_environment(config)
    runtime.apply_environment(config)  # compare opens the store once per side: said once
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout keeps what the command reports
    assert captured.err == (
        f"MLflow store: sqlite:///{tmp_path / 'other.db'} (from MLFLOW_TRACKING_URI)\n"
    )


def test_the_environments_store_is_the_one_opened(write_config, monkeypatch, tmp_path):
    """MLFLOW_TRACKING_URI reaches connect through the commands' loader: no mlflow.db appears
    in the project, and the store line names the variable."""
    import mlflow

    from {{ cookiecutter.package_name }}.command_parts import load

    path = write_config(**LOCAL)
    saved = os.environ.get("MLFLOW_TRACKING_URI")  # None: set_tracking_uri(None) unsets it
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    try:
        config = load(path)
        runtime.connect(config)
        assert mlflow.get_tracking_uri() == f"sqlite:///{tmp_path / 'elsewhere.db'}"
    finally:
        mlflow.set_tracking_uri(saved)
    assert (tmp_path / "elsewhere.db").is_file()
    assert not (path.parent / "mlflow.db").exists()
    assert config.store_line.endswith("elsewhere.db (from MLFLOW_TRACKING_URI)")
