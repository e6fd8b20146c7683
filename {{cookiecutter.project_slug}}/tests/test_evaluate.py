"""End to end and offline: `evaluate` runs MLflow GenAI on the sample agent and applies the
gates."""

import json
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import PROJECT, single_turn_sample

PACKAGE = "{{ cookiecutter.package_name }}"


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def offline(config_path):
    """The shipped config made offline when it targets Databricks (and run on the single-turn
    sample: conftest.single_turn_sample)."""
    written = yaml.safe_load(config_path.read_text())
    raw = single_turn_sample(yaml.safe_load(config_path.read_text()))
    if raw != written:
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
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
        if "datasets" in raw:  # a local store's dataset name is not a Unity Catalog table
            raw["datasets"]["name"] = "eval_dataset"
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return raw


def gated_offline(project_copy, rows: list[dict], scorers: dict, dataset: str, **agent) -> dict:
    """The shipped config offline with every journey off, on `rows` (written to `dataset`),
    each scorer gated at 1.0, `agent` settings changed (None removes one); the raw config."""
    raw = offline(project_copy / "evaluation.yaml")
    raw.update(judge={"model": "none"}, journeys={k: False for k in raw["journeys"]})
    for section in ("regression", "profiling", "tracing", "align", "datasets"):
        raw.pop(section, None)
    raw["agent"] = {k: v for k, v in {**raw["agent"], **agent}.items() if v is not None}
    raw["scorers"] = scorers
    raw["quality_gates"] = {name: 1.0 for name in scorers}
    raw["dataset"] = {"path": dataset}
    (project_copy / dataset).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return save_config(project_copy, raw)


def save_config(project_copy, raw: dict) -> dict:
    """Write `raw` as the project's evaluation.yaml; returns it."""
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return raw


def config_problems(project_copy) -> str:
    """What load_project says of the project's config and dataset (it must refuse them)."""
    from {{ cookiecutter.package_name }}.config import ConfigError
    from {{ cookiecutter.package_name }}.project import load_project

    with pytest.raises(ConfigError) as raised:
        load_project(project_copy / "evaluation.yaml")
    return str(raised.value)


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


def run_cli_with(env: dict, *args, cwd):
    """The CLI with extra environment variables (PYTHONPATH extended, not replaced)."""
    import os

    merged = {**os.environ, **env}
    if "PYTHONPATH" in env and os.environ.get("PYTHONPATH"):
        merged["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], os.environ["PYTHONPATH"]])
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args],
        cwd=cwd,
        env=merged,
        capture_output=True,
        text=True,
        check=False,
    )


def test_evaluate_runs_once_on_another_store_and_dataset_and_says_which(project_copy):
    """MLFLOW_TRACKING_URI is honoured (no mlflow.db appears) and --dataset replaces
    dataset.path for this run; --tracking-uri wins over the variable."""
    offline(project_copy / "evaluation.yaml")
    lines = (PROJECT / "data" / "eval_dataset.jsonl").read_text().splitlines()[:2]
    (project_copy / "two.jsonl").write_text("\n".join(lines) + "\n")
    env = {"MLFLOW_TRACKING_URI": "sqlite:///other.db"}  # relative: from the working directory
    done = run_cli_with(env, "evaluate", "--dataset", "two.jsonl", cwd=project_copy)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    assert f"MLflow store: sqlite:///{project_copy / 'other.db'} (from MLFLOW_TRACKING_URI)\n" in (
        done.stderr
    )
    assert (project_copy / "other.db").is_file() and not (project_copy / "mlflow.db").exists()
    assert json.loads((project_copy / "reports" / "gates.json").read_text())["rows"] == 2
    option = run_cli_with(
        env, "check-config", "--tracking-uri", "sqlite:///third.db", cwd=project_copy
    )
    assert option.returncode == 0, option.stderr
    assert f"MLflow store: sqlite:///{project_copy / 'third.db'} (from --tracking-uri)" in (
        option.stdout
    )


# Commands that never open an MLflow store: the judge's own cache folder; the Unity Catalog
# grants (read with databricks-sdk, not MLflow).
NO_STORE = {"judge-cache clear", "tracing grants"}


def test_every_command_that_opens_the_store_takes_tracking_uri():
    """The same precedence everywhere: --tracking-uri, then MLFLOW_TRACKING_URI, then
    evaluation.yaml (commands read the config through command_parts.load)."""
    import click

    from {{ cookiecutter.package_name }}.cli import cli

    def commands(group, prefix=""):
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                yield from commands(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    found = dict(commands(cli))
    assert {"evaluate", "check-config", "judge-cache clear"} <= found.keys()
    for name, command in found.items():
        options = {opt for param in command.params for opt in param.opts}
        assert ("--tracking-uri" in options) is (name not in NO_STORE), name


def test_one_off_options_and_the_environment_are_checked_before_anything_runs(project_copy):
    offline(project_copy / "evaluation.yaml")
    for env, args, expected in (
        (
            {"MLFLOW_TRACKING_URI": "databricks"},
            [],
            "error: environment: MLFLOW_TRACKING_URI: 'databricks' is not a local store",
        ),
        ({}, ["--dataset", "nope.jsonl"], "error: command line: --dataset: 'nope.jsonl' is not"),
        ({}, ["--agent", "predict"], "error: command line: --agent: 'predict' is neither"),
        (
            {},
            ["--agent", "no_such_module:predict"],
            "error: command line: --agent: 'no_such_module:predict' cannot be imported",
        ),
    ):
        done = run_cli_with(env, "evaluate", *args, cwd=project_copy)
        assert done.returncode == 2 and expected in done.stderr, (args, done.stderr[-2000:])
    assert not (project_copy / "mlflow.db").exists() and not (project_copy / "reports").exists()


OWN_AGENT = """
def predict(question):
    return "Our refund window is 30 days."


def answer(query, **options):
    return "Our refund window is 30 days."
"""


def test_check_config_imports_an_own_agent_and_matches_its_parameters(project_copy, tmp_path):
    """An own agent's module on the import path: check-config imports agent.callable and
    checks its parameters against the dataset's inputs; evaluate runs the same check."""
    offline(project_copy / "evaluation.yaml")
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "own_agent_for_cli_test.py").write_text(OWN_AGENT)
    raw = yaml.safe_load((project_copy / "evaluation.yaml").read_text())
    env = {"PYTHONPATH": str(folder)}

    def check(callable_: str, command: str = "check-config"):
        raw["agent"]["callable"] = callable_
        (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        return run_cli_with(env, command, cwd=project_copy)

    mismatch = check("own_agent_for_cli_test:predict")
    assert mismatch.returncode == 2
    assert (
        "error: evaluation.yaml: agent.callable: own_agent_for_cli_test:predict needs parameter "
        "'question', which no record of data/eval_dataset.jsonl gives in its inputs"
    ) in mismatch.stderr
    assert "has no parameter 'query', which every record of data/eval_dataset.jsonl" in (
        mismatch.stderr
    )
    assert check("own_agent_for_cli_test:predict", "evaluate").returncode == 2
    assert not (project_copy / "reports").exists()
    missing = check("own_agent_not_there:predict")
    assert missing.returncode == 2
    assert "agent.callable: 'own_agent_not_there:predict' cannot be imported" in missing.stderr
    fits = check("own_agent_for_cli_test:answer")
    assert fits.returncode == 0, fits.stderr
    assert "Agent: own_agent_for_cli_test:answer (agent.callable) imports" in fits.stdout


def dataset_records() -> list[dict]:
    text = (PROJECT / "data" / "eval_dataset.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def gate_named(project, name: str) -> dict:
    report = json.loads((project / "reports" / "gates.json").read_text())
    return next(g for g in report["gates"] if g["gate"] == name)


def test_a_failed_gate_names_its_failing_rows_in_every_report_and_on_the_terminal(project_copy):
    from test_quality_gates import Report, table_rows

    from {{ cookiecutter.package_name }}.reporting import literal

    raw = offline(project_copy / "evaluation.yaml")
    raw["scorers"]["strict_length"] = {"type": "length", "max_length": 20}
    raw["quality_gates"]["strict_length"] = 1.0
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = run_cli_with({"COLUMNS": "400"}, "evaluate", cwd=project_copy)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    records, gate = dataset_records(), gate_named(project_copy, "strict_length")
    rows = gate["failing_rows"]  # every answer is longer than 20 characters
    assert len(rows) == 5 and gate["more_failing_rows"] == len(records) - 5
    queries = {r["inputs"]["query"] or "(empty)" for r in records}
    assert all(r["shown"] == "no" and r["input"] in queries for r in rows)
    assert all(r["rationale"].endswith("exceeds the maximum (20 chars)") for r in rows)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    run = mlflow.get_run(report["run_id"])
    traces = mlflow.search_traces(run_id=run.info.run_id, locations=[run.info.experiment_id])
    answers = dict(zip(traces["trace_id"], traces["response"], strict=True))
    for row in rows:  # the trace's own answer, its start; a link that opens that trace
        assert " ".join(answers[row["trace_id"]].split()).startswith(row["answer"].rstrip("\u2026"))
        assert row["trace_url"].endswith(f"/traces?selectedEvaluationId={row['trace_id']}")

    lines = (project_copy / "reports" / "gates.md").read_text().splitlines()
    start = lines.index("### `strict_length`: failing rows, worst first")
    cells = [line.strip("| ").split(" | ") for line in lines[start + 4 : start + 9]]
    assert [c[1] for c in cells] == [literal(r["input"]) for r in rows]  # as written
    assert [c[4] for c in cells] == [f"[open]({r['trace_url']})" for r in rows]
    assert lines[start + 10].startswith(f"and {len(records) - 5} more ([the run](")
    page = Report((project_copy / "reports" / "gates.html").read_text())
    after = page.after("h3", "strict_length: failing rows, worst first")
    assert [b[1] for b in after if b[0] == "a"][:5] == [r["trace_url"] for r in rows]
    assert [b[1] for b in after if b[0] == "td"][1:25:5] == [r["input"] for r in rows]
    shown = table_rows(done.stdout.splitlines(), "strict_length: failing rows, worst first")
    assert [(c[0], c[2], c[3]) for c in shown] == [
        (str(n), r["input"], r["answer"]) for n, r in enumerate(rows, start=1)
    ]
    assert f"  #1 trace: {rows[0]['trace_url']}" in done.stdout.splitlines()
    assert f"  and {len(records) - 5} more" in done.stdout


def test_a_judge_that_needs_expectations_is_not_called_on_rows_without_them(
    project_copy, monkeypatch
):
    """correctness on the shipped dataset, whose edge-case rows carry no expected facts: they
    are not applicable (no judge call, not an error) unless missing_expectations: error."""
    from llm_test_double import LlmTestDouble

    raw = offline(project_copy / "evaluation.yaml")
    raw["judge"] = {"model": "openai:/test-judge", "cache": True, "cache_dir": ".judge-cache"}
    raw["scorers"]["correctness"] = {}
    raw["quality_gates"]["correctness"] = 0.9
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    records = dataset_records()
    needs = {"expected_facts", "expected_response"}
    without = [r for r in records if not needs & set(r.get("expectations", {}))]
    having = len(records) - len(without)
    assert without and having
    with LlmTestDouble() as double:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        done = run_cli("evaluate", cwd=project_copy)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        gate = gate_named(project_copy, "correctness")
        assert gate["passed"] and gate["rows_scored"] == gate["rows_applicable"] == having
        assert gate["rows_not_applicable"] == len(without) and gate["rows_errored"] == 0
        assert double.counts["judge"] == having  # not one call for a row it does not apply to
        md = (project_copy / "reports" / "gates.md").read_text().splitlines()
        [row] = [line.split(" | ") for line in md if line.startswith("| `correctness` |")]
        assert row[3] == f"{having}/{having} ({len(without)} not applicable)"

        raw["scorers"]["correctness"] = {"missing_expectations": "error"}
        (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        done = run_cli("evaluate", "--no-judge-cache", cwd=project_copy)
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        gate = gate_named(project_copy, "correctness")
        assert gate["rows_errored"] == len(without) and gate["rows_applicable"] == len(records)
        assert double.counts["judge"] == 2 * having  # still no call for them: they are errors
    assert len(gate["failing_rows"]) + gate["more_failing_rows"] == len(without)
    assert {r["input"] for r in gate["failing_rows"]} <= {
        r["inputs"]["query"] or "(empty)" for r in without
    }
    assert all(
        r["shown"] == "error" and r["rationale"].endswith("missing_expectations: error)")
        for r in gate["failing_rows"]
    )
