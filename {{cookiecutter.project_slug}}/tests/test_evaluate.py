"""End to end and offline: `evaluate` runs MLflow GenAI on the sample agent and applies the
gates."""

import json
import shutil
import subprocess
import sys

import yaml
from conftest import PROJECT

PACKAGE = "{{ cookiecutter.package_name }}"


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def offline(config_path):
    """The shipped config made offline when it targets Databricks."""
    raw = yaml.safe_load(config_path.read_text())
    if raw["target"] == "databricks":
        raw.update(target="local")
        raw["mlflow"] = {"tracking_uri": "sqlite:///mlflow.db", "experiment": "offline-test"}
        raw["judge"] = {"model": "none"}
        raw["agent"]["prompt"]["name"] = "support_agent_system"
        raw["scorers"] = {"pii": {}, "fact_coverage": {}, "refusal": {}}
        raw["quality_gates"] = {"pii": 1.0, "fact_coverage": 0.9, "refusal": 1.0}
        if "regression" in raw:
            raw["regression"]["baseline"] = {"prompt": "prompts:/support_agent_system@production"}
            raw["regression"]["max_regressed_rows"] = {"pii": 0, "refusal": 0}
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return raw


def test_evaluate_passes_its_gates_offline_and_writes_the_report(project_copy):
    raw = offline(project_copy / "evaluation.yaml")
    done = run_cli("evaluate", "--config", str(project_copy / "evaluation.yaml"), cwd=project_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    assert report["passed"] is True and report["run_id"]
    assert {g["gate"] for g in report["gates"]} == set(raw["quality_gates"])
    for gate in report["gates"]:
        assert gate["rows_scored"] == gate["rows_applicable"] > 0
        assert gate["observed"] >= gate["threshold"]
    assert "## Quality gates: PASS" in (project_copy / "reports" / "gates.md").read_text()
    # The run really is in the local store: one trace per row, and the prompt version evaluated.
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    run = mlflow.get_run(report["run_id"])
    assert (
        run.data.params["agent_prompt_uri"]
        == f"prompts:/{raw['agent']['prompt']['name']}@production"
    )
    traces = mlflow.search_traces(run_id=run.info.run_id, locations=[run.info.experiment_id])
    assert len(traces) == report["rows"]


def test_a_failing_gate_exits_1(project_copy):
    raw = offline(project_copy / "evaluation.yaml")
    raw["scorers"]["strict_length"] = {"type": "length", "max_length": 20}
    raw["quality_gates"]["strict_length"] = 1.0
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = run_cli("evaluate", "--config", str(project_copy / "evaluation.yaml"), cwd=project_copy)
    assert done.returncode == 1, done.stdout + done.stderr
    gates = {
        g["gate"]: g
        for g in json.loads((project_copy / "reports" / "gates.json").read_text())["gates"]
    }
    assert gates["strict_length"]["passed"] is False
    assert "below the threshold" in gates["strict_length"]["reason"]


def test_an_empty_dataset_fails_the_gates(project_copy):
    offline(project_copy / "evaluation.yaml")
    (project_copy / "data" / "eval_dataset.jsonl").write_text("")
    done = run_cli("evaluate", "--config", str(project_copy / "evaluation.yaml"), cwd=project_copy)
    assert done.returncode == 1
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    assert all("the dataset is empty" in g["reason"] for g in report["gates"])


def test_config_error_exits_2_with_the_path_in_the_file(project_copy):
    raw = offline(project_copy / "evaluation.yaml")
    gate = next(iter(raw["quality_gates"]))
    raw["quality_gates"][gate] = 1.3
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = run_cli("evaluate", "--config", str(project_copy / "evaluation.yaml"), cwd=project_copy)
    assert done.returncode == 2
    assert f"evaluation.yaml: quality_gates.{gate}: 1.3 is above 1.0" in done.stderr


def test_llm_judge_without_credentials_exits_2_before_evaluating(project_copy, monkeypatch):
    raw = offline(project_copy / "evaluation.yaml")
    raw["judge"]["model"] = "openai:/gpt-4.1-mini"
    raw["scorers"]["safety"] = {}
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    done = run_cli("evaluate", "--config", str(project_copy / "evaluation.yaml"), cwd=project_copy)
    assert done.returncode == 2 and "needs OPENAI_API_KEY" in done.stderr
    assert not (project_copy / "reports").exists()


def test_help_does_not_import_mlflow():
    code = (
        f"import sys; from {PACKAGE}.cli import cli\n"
        "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('mlflow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, check=False
    )
    assert done.stdout.strip().endswith("False"), done.stdout + done.stderr
    assert "evaluate" in done.stdout and "check-config" in done.stdout


def store_contents(project, copy_to):
    """Journal mode, and per run: traces, assessments by name and kind, metrics, read from a copy
    of mlflow.db alone (as a CI cache keeps it): nothing may be left only in a -wal file."""
    import sqlite3

    from mlflow import MlflowClient

    copy_to.mkdir()
    shutil.copy(project / "mlflow.db", copy_to / "mlflow.db")
    with sqlite3.connect(copy_to / "mlflow.db") as db:
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    client = MlflowClient(f"sqlite:///{copy_to / 'mlflow.db'}")
    report = json.loads((project / "reports" / "gates.json").read_text())
    run = client.get_run(report["run_id"])
    traces = client.search_traces(
        locations=[run.info.experiment_id], run_id=run.info.run_id, max_results=1000
    )
    assessments = sorted(
        (
            t.info.request_preview,
            a.name,
            "feedback" if a.feedback else "expectation",
            json.dumps(a.feedback.value if a.feedback else a.expectation.value),
        )
        for t in traces
        for a in t.info.assessments
    )
    return (
        journal,
        len(traces),
        assessments,
        run.data.metrics,
        [(g["gate"], g["observed"], g["rows_scored"]) for g in report["gates"]],
    )


def test_the_faster_sqlite_store_loses_nothing(project_copy, tmp_path_factory):
    """WAL (mlflow.sqlite_wal, on by default) changes how the store syncs, not what it holds."""
    offline(project_copy / "evaluation.yaml")
    plain = tmp_path_factory.mktemp("rollback-journal")
    shutil.copytree(project_copy, plain, dirs_exist_ok=True)
    raw = yaml.safe_load((plain / "evaluation.yaml").read_text())
    raw["mlflow"]["sqlite_wal"] = False
    (plain / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    for project in (project_copy, plain):
        done = run_cli("evaluate", "--config", str(project / "evaluation.yaml"), cwd=project)
        assert done.returncode == 0, done.stdout + done.stderr
    copies = tmp_path_factory.mktemp("copies")
    fast, slow = (
        store_contents(project_copy, copies / "wal"),
        store_contents(plain, copies / "plain"),
    )
    assert (fast[0], slow[0]) == ("wal", "delete")
    rows = [
        line
        for line in (PROJECT / "data" / "eval_dataset.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert fast[1] == slow[1] == len(rows)
    assert fast[2] == slow[2] and len(fast[2]) > fast[1]  # every assessment, the same values
    assert fast[3] == slow[3] and fast[4] == slow[4]


def test_two_agent_versions_in_one_process_keep_their_own_prompt(project_copy, monkeypatch):
    """The prompt version goes to the agent's factory, not the environment: a candidate loaded
    first does not change what the baseline answers, and nothing is left in os.environ."""
    import os

    from {{ cookiecutter.package_name }}.config import AgentVersion, load_config
    from {{ cookiecutter.package_name }}.evaluation.agent_loader import PROMPT_ENV, load_agent
    from {{ cookiecutter.package_name }}.runtime import connect

    monkeypatch.delenv(PROMPT_ENV, raising=False)
    offline(project_copy / "evaluation.yaml")
    config = load_config(project_copy / "evaluation.yaml")
    connect(config)
    bundled = (PROJECT / "src" / PACKAGE / "agent" / "system_prompt.txt").read_text()
    (project_copy / "concise.txt").write_text(
        bundled.replace("Answer style: full", "Answer style: concise")
    )
    query = "What is your refund policy?"
    candidate = load_agent(config, AgentVersion(prompt_file="concise.txt"))
    baseline = load_agent(config)
    assert PROMPT_ENV not in os.environ
    assert candidate.prompt_uri != baseline.prompt_uri
    short, full = candidate.predict_fn(query=query), baseline.predict_fn(query=query)
    assert len(short) < len(full)
    assert candidate.predict_fn(query=query) == short  # the baseline did not change the candidate
