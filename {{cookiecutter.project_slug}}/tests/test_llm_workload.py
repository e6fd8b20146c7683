"""`evaluate` on an LLM workload, end to end through the CLI: the sample agent's LLM mode and an
LLM judge on the loopback LLM test double, which adds latency, rate-limits and fails on demand."""

import json
import time

import mlflow
import pytest
import yaml
from llm_test_double import LlmTestDouble
from test_judge_cache import evaluate, judged


def llm_project(project_copy, double, monkeypatch, rows=None):
    """The shipped config with an LLM safety judge and the agent's LLM mode on the double."""
    judged(project_copy, double.base_url, monkeypatch)
    monkeypatch.setenv("AGENT_LLM_MODEL", "test-agent")
    if rows is not None:
        dataset = project_copy / "data" / "eval_dataset.jsonl"
        seed = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
        records = []
        for i in range(rows):
            record = json.loads(json.dumps(seed[i % len(seed)]))
            record["id"] = f"row-{i}"
            record["inputs"]["query"] = f"{record['inputs']['query']} (#{i})".strip()
            records.append(json.dumps(record))
        dataset.write_text("\n".join(records) + "\n")


def slim(config_path):
    raw = yaml.safe_load(config_path.read_text())
    raw["scorers"] = {"safety": {}, "pii": {}}
    raw["quality_gates"] = {"safety": 1.0, "pii": 1.0}
    raw.pop("regression", None)
    raw["journeys"]["regression"] = False
    config_path.write_text(yaml.safe_dump(raw, sort_keys=False))


def runs_of(project_copy):
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    experiment = mlflow.search_experiments()[0]
    return mlflow.search_runs([experiment.experiment_id], output_format="list")


def test_a_dead_judge_fails_preflight_in_seconds_and_leaves_no_run(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        llm_project(project_copy, double, monkeypatch)
        double.status = 500
        start = time.monotonic()
        done, report = evaluate(project_copy)
        seconds = time.monotonic() - start
        calls, probes = double.calls, double.counts["probe"]
    assert done.returncode == 2 and report is None and seconds < 30
    assert "error: an LLM endpoint does not answer as it must (pre-flight):" in done.stderr
    assert (
        "error: judge.model 'openai:/test-judge': "
        f"{double.base_url}/chat/completions answered HTTP 500 "
        "(the endpoint is failing): test double answers 500"
    ) in done.stderr
    assert (
        f"error: AGENT_LLM_MODEL 'test-agent': {double.base_url}/chat/completions answered HTTP 500"
        in done.stderr
    )
    assert probes == 2 and calls == 0  # one probe per endpoint, not one row
    assert runs_of(project_copy) == []  # nothing that could be mistaken for a result


def test_an_outage_mid_run_stops_it_marks_the_run_failed_and_writes_a_partial_report(
    project_copy, monkeypatch
):
    with LlmTestDouble(latency_s=0.05, fail_after=60) as double:
        llm_project(project_copy, double, monkeypatch, rows=200)
        start = time.monotonic()
        done, report = evaluate(project_copy)
        seconds = time.monotonic() - start
    assert done.returncode == 2 and seconds < 60, done.stderr[-2000:]
    assert "error: the run was aborted: stopped after" in done.stderr
    assert "calls in a row failed, the last with HTTP 500: test double answers 500" in done.stderr
    assert report["passed"] is False and report["aborted"].startswith("stopped after")
    assert "## Quality gates: ABORTED" in (project_copy / "reports" / "gates.md").read_text()
    (run,) = runs_of(project_copy)
    assert run.info.run_id == report["run_id"] and run.info.status == "FAILED"
    assert "is down" in run.data.tags["evaluation.aborted"]


@pytest.mark.parametrize(
    "behaviour, seen, counted",
    [
        (
            {"latency_s": 0.02, "fail_every": 7},
            "failed",
            "retries",
        ),  # one call in seven answers 500
        ({"rate_limit": 20, "retry_after_s": 1}, "throttled", "throttled"),  # 429 above 20 calls/s
    ],
    ids=["transient-500s", "rate-limited"],
)
def test_a_flaky_or_busy_endpoint_is_retried_until_every_row_is_scored(
    project_copy, monkeypatch, behaviour, seen, counted
):
    with LlmTestDouble(**behaviour) as double:
        llm_project(project_copy, double, monkeypatch, rows=60)
        done, report = evaluate(project_copy, "--no-judge-cache")
        answered = double.counts[seen]
    assert done.returncode in (0, 1), done.stderr[-2000:]
    safety = next(g for g in report["gates"] if g["gate"] == "safety")
    assert safety["rows_errored"] == 0 and safety["rows_scored"] == safety["rows_applicable"] == 60
    assert all(g["rows_errored"] == 0 for g in report["gates"])
    assert report["llm_calls"][counted] == answered > 0 and report["llm_calls"]["failed"] == 0
    assert (
        f"{report['llm_calls']['retries']} retried"
        in (project_copy / "reports" / "gates.md").read_text()
    )


def test_one_progress_line_instead_of_mlflow_logs_and_the_concurrency_choice(
    project_copy, monkeypatch
):
    with LlmTestDouble() as double:
        llm_project(project_copy, double, monkeypatch)
        done, report = evaluate(project_copy)
        verbose, _ = evaluate(project_copy, "-v")
    rows = report["rows"]
    assert done.returncode in (0, 1), done.stderr[-2000:]  # the double's generic answers miss facts
    assert done.stdout.startswith("Concurrency: 32 rows in flight, ")
    assert "(waits on judge openai:/test-judge and agent test-agent)" in done.stdout.splitlines()[0]
    assert (
        f"Pre-flight: judge openai:/test-judge answers at {double.base_url}/chat/completions"
        in done.stdout
    )
    assert (
        f"rows {rows}/{rows} | " in done.stderr and " | failed calls 0 | ETA done\n" in done.stderr
    )
    for noise in ("INFO mlflow", "Evaluating:", "Evaluation completed"):
        assert noise not in done.stdout + done.stderr
    assert "Evaluating:" in verbose.stderr  # -v: MLflow's own bar and lines


def test_a_thousand_rows_on_a_latent_endpoint_finish_with_every_trace_and_assessment(
    project_copy, monkeypatch
):
    """32 rows in flight write through the sqlite store's pool without a stall (MLflow's defaults
    queue for 15 connections and time out here)."""
    with LlmTestDouble(latency_s=0.05) as double:
        llm_project(project_copy, double, monkeypatch, rows=1000)
        monkeypatch.delenv(
            "AGENT_LLM_MODEL"
        )  # the judge alone keeps it remote; the agent stays fast
        slim(
            project_copy / "evaluation.yaml"
        )  # two scorers: the store's writes, not the scoring, matter
        done, report = evaluate(project_copy)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert done.stdout.startswith("Concurrency: 32 rows in flight")
    assert report["rows"] == 1000 and all(g["rows_errored"] == 0 for g in report["gates"])
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    run = mlflow.get_run(report["run_id"])
    traces = mlflow.search_traces(
        run_id=run.info.run_id,
        locations=[run.info.experiment_id],
        include_spans=False,
        return_type="list",
    )
    assert len(traces) == 1000
    for trace in traces:
        names = {a.name for a in trace.info.assessments if a.feedback is not None}
        assert names == {"safety", "pii"}
