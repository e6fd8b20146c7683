"""The LLM-judge verdict cache: keys, storage, corruption, and evaluate end to end against a
loopback judge test double that counts calls."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import mlflow
import yaml
from conftest import PROJECT
from llm_test_double import FAIL_MARKER, LlmTestDouble
from test_evaluate import offline

from {{ cookiecutter.package_name }}.evaluation.judge_cache import (
    CACHE_KEY,
    JudgeCache,
    digest,
    verdict_key,
)

PACKAGE = "{{ cookiecutter.package_name }}"
IDENTITY = {
    "scorer": "safety",
    "type": "safety",
    "options": {},
    "model": "openai:/judge",
    "instructions": None,
}


def span(name, inputs, outputs, start):
    return SimpleNamespace(
        name=name,
        span_type="RETRIEVER",
        parent_id="p",
        inputs=inputs,
        outputs=outputs,
        start_time_ns=start,
    )


def trace(*spans):
    return SimpleNamespace(data=SimpleNamespace(spans=list(spans)))


def test_every_key_part_changes_the_key():
    row = ({"query": "a"}, "answer", {"expected_facts": ["x"]})
    base = verdict_key(IDENTITY, *row)
    variants = [
        verdict_key({**IDENTITY, "scorer": "safety_2"}, *row),
        verdict_key({**IDENTITY, "type": "relevance"}, *row),
        verdict_key({**IDENTITY, "options": {"guidelines": "Be brief"}}, *row),
        verdict_key({**IDENTITY, "model": "openai:/other"}, *row),
        verdict_key({**IDENTITY, "instructions": "Judge it"}, *row),
        verdict_key(IDENTITY, {"query": "b"}, *row[1:]),
        verdict_key(IDENTITY, row[0], "other answer", row[2]),
        verdict_key(IDENTITY, *row[:2], {"expected_facts": ["y"]}),
        verdict_key(IDENTITY, *row, trace(span("retrieve", {"q": "a"}, ["doc 1"], 1))),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert verdict_key(IDENTITY, {"query": "a"}, "answer", {"expected_facts": ["x"]}) == base
    # Trace ids and times change every run; what the judge reads does not.
    one = trace(span("retrieve", {"q": "a"}, ["doc 1"], 1))
    same = trace(span("retrieve", {"q": "a"}, ["doc 1"], 1))
    other_docs = trace(span("retrieve", {"q": "a"}, ["doc 2"], 1))
    assert (
        verdict_key(IDENTITY, *row, one)
        == verdict_key(IDENTITY, *row, same)
        != verdict_key(IDENTITY, *row, other_docs)
    )


def test_put_get_corrupt_and_clear(tmp_path):
    cache = JudgeCache(tmp_path / "cache")
    key = digest("row 1")
    verdict = {
        "value": "yes",
        "rationale": "fine",
        "source": {"source_type": "LLM_JUDGE", "source_id": "m"},
        "metadata": {},
    }
    assert cache.get(key) is None and cache.stats.corrupt == 0
    cache.put(key, verdict)
    assert cache.get(key) == verdict
    path = cache.path(key)
    path.write_text("{not json")
    assert cache.get(key) is None and cache.stats.corrupt == 1 and not path.exists()
    cache.put(key, verdict)
    entry = json.loads(path.read_text())
    entry["feedback"]["value"] = "no"  # a verdict changed on disk: the checksum no longer matches
    path.write_text(json.dumps(entry))
    assert cache.get(key) is None and cache.stats.corrupt == 2
    cache.put(key, verdict)
    assert cache.clear() == 1 and cache.get(key) is None


def judged(project_copy, base_url, monkeypatch):
    """The shipped config offline, plus an LLM safety judge served by the test double."""
    raw = offline(project_copy / "evaluation.yaml")
    raw["judge"] = {"model": "openai:/test-judge", "cache": True, "cache_dir": ".judge-cache"}
    raw["scorers"]["safety"] = {}
    raw["quality_gates"]["safety"] = 1.0
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_BASE", base_url)
    return raw


def evaluate(project_copy, *args):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            PACKAGE,
            "evaluate",
            "--config",
            str(project_copy / "evaluation.yaml"),
            *args,
        ],
        cwd=project_copy,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    report = project_copy / "reports" / "gates.json"
    return done, json.loads(report.read_text()) if report.exists() else None


def safety_assessments(project_copy, run_id):
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    frame = mlflow.search_traces(run_id=run_id, locations=[run.info.experiment_id])
    found = {}
    for request, assessments in zip(frame["request"], frame["assessments"], strict=True):
        [a] = [a for a in assessments if a["assessment_name"] == "safety"]
        found[json.dumps(request, sort_keys=True)] = a
    return found


def test_rerun_reuses_every_verdict_and_logs_it_as_the_same_assessment(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        judged(project_copy, double.base_url, monkeypatch)
        done, first = evaluate(project_copy)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        rows = first["rows"]
        assert double.calls == rows
        assert first["judge_cache"]["misses"] == rows and first["judge_cache"]["hits"] == 0

        done, second = evaluate(project_copy)
        assert done.returncode == 0 and double.calls == rows  # not one judge call more
        assert (
            second["judge_cache"]["hits"] == rows
            and second["judge_cache"]["judge_calls_saved"] == rows
        )
        assert [g["observed"] for g in second["gates"]] == [g["observed"] for g in first["gates"]]
        fresh, cached = (
            safety_assessments(project_copy, first["run_id"]),
            safety_assessments(project_copy, second["run_id"]),
        )
        for request, before in fresh.items():
            after = cached[request]
            assert (
                after["feedback"] == before["feedback"]
                and after["rationale"] == before["rationale"]
            )
            assert (
                after["source"]
                == before["source"]
                == {"source_type": "LLM_JUDGE", "source_id": "openai:/test-judge"}
            )
            assert before["metadata"][CACHE_KEY] == "miss" and after["metadata"][CACHE_KEY] == "hit"

        evaluate(project_copy, "--no-judge-cache")
        assert double.calls == 2 * rows  # disabled: every row judged again
        cleared = subprocess.run(
            [
                sys.executable,
                "-m",
                PACKAGE,
                "judge-cache",
                "clear",
                "--config",
                str(project_copy / "evaluation.yaml"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert f"Removed {rows} cached verdict(s)" in cleared.stdout
        evaluate(project_copy)
        assert double.calls == 3 * rows


def test_changed_rows_are_judged_again_and_only_they(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        judged(project_copy, double.base_url, monkeypatch)
        evaluate(project_copy)
        before = double.calls
        dataset = project_copy / "data" / "eval_dataset.jsonl"
        rows = [json.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
        rows[0]["inputs"]["query"] += " Thanks!"
        rows[1]["inputs"]["query"] += " " + FAIL_MARKER
        dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
        done, report = evaluate(project_copy)
        assert double.calls == before + 2 and report["judge_cache"]["hits"] == report["rows"] - 2
        assert done.returncode in (0, 1)


def test_failed_verdicts_are_not_cached(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        judged(project_copy, double.base_url, monkeypatch)
        double.status = 400  # not retried (5xx and 429 are, with minutes of back-off)
        done, report = evaluate(project_copy)
        assert done.returncode == 1  # the safety gate fails closed on errored rows
        safety = next(g for g in report["gates"] if g["gate"] == "safety")
        assert safety["rows_errored"] == report["rows"]
        assert report["judge_cache"]["errors_not_cached"] == report["rows"]
        double.status = 200
        _, again = evaluate(project_copy)
        assert again["judge_cache"]["hits"] == 0 and again["judge_cache"]["misses"] == again["rows"]


def test_the_benchmark_runs_and_the_candidate_calls_the_judges_only_for_changed_rows():
    """benchmarks/judge_cache_benchmark.py end to end on an instant test double: its candidate
    is an agent version with its own prompt factory, as a team's would be."""
    done = subprocess.run(
        [sys.executable, "benchmarks/judge_cache_benchmark.py", "--latency", "0"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    records, _, judges = next(line for line in lines if " LLM judges, " in line).split()[:3]
    verdicts = int(records) * int(judges)
    rows = {line[:34].strip(): line[34:].split() for line in lines}
    # judge calls, cache hits, misses
    assert rows["first run"][1:] == [str(verdicts), "0", str(verdicts)]
    assert rows["re-run, unchanged"][1:] == ["0", str(verdicts), "0"]
    changed = 3 * int(judges)
    assert rows["candidate, 3 outputs changed"][1:] == [
        str(changed),
        str(verdicts - changed),
        str(changed),
    ]
