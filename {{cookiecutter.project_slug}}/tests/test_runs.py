"""Runs are found by id, by name (newest first) or as the newest finished run."""

import mlflow
import pytest

from {{ cookiecutter.package_name }}.runs import resolve_run, run_traces
from {{ cookiecutter.package_name }}.runtime import InfrastructureError


@pytest.fixture
def experiment(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return mlflow.set_experiment("runs-test").experiment_id


def test_resolve_by_id_name_and_latest(experiment):
    with mlflow.start_run(run_name="baseline") as old:
        pass
    with mlflow.start_run(run_name="baseline") as new:
        pass
    with mlflow.start_run(run_name="other") as other:
        pass
    assert resolve_run(experiment, old.info.run_id).info.run_id == old.info.run_id
    assert resolve_run(experiment, "baseline").info.run_id == new.info.run_id
    assert resolve_run(experiment).info.run_id == other.info.run_id


def test_missing_run_names_what_was_looked_for(experiment):
    with pytest.raises(InfrastructureError, match="no run 'nope' in experiment"):
        resolve_run(experiment, "nope")


def test_run_traces_returns_the_runs_traces(experiment):
    @mlflow.trace
    def step(x):
        return x

    with mlflow.start_run(run_name="traced"):
        step(1)
        step(2)
    mlflow.flush_trace_async_logging()
    assert len(run_traces(resolve_run(experiment, "traced"))) == 2
