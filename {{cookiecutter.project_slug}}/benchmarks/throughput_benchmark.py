"""Evaluation throughput: this project's `evaluate` against plain `mlflow.genai.evaluate` with its
best settings (MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT=0, MLFLOW_GENAI_EVAL_MAX_WORKERS=2), same rows,
agent, scorers and store type (a fresh sqlite file each), one process after the other. Prints
rows/s for each, the ratio, and the traces and assessments each store holds afterwards.

    python benchmarks/throughput_benchmark.py [--rows 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch_project import PROJECT, scratch_project  # benchmarks/ is on sys.path when run

PLAIN_SETTINGS = {"MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": "0", "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2"}


def make_project(folder: Path, rows: int) -> Path:
    """This project's config with deterministic scorers and `rows` records cycled from the dataset."""
    lines = [line for line in (PROJECT / "data" / "eval_dataset.jsonl").read_text().splitlines() if line.strip()]
    records = []
    for i in range(rows):
        record = json.loads(lines[i % len(lines)])
        record["id"] = f"{record.get('id', 'row')}-{i}"
        records.append(json.dumps(record))
    return scratch_project(
        folder, "throughput", judge={"model": "none"},
        scorers={"pii": {}, "length": {"max_length": 1200}, "fact_coverage": {}, "refusal": {}},
        gates={"pii": 1.0}, records=records,
    )


def run_plain(config_path: Path) -> float:
    """mlflow.genai.evaluate as the MLflow docs show it, on the same agent and scorers."""
    os.environ.update(PLAIN_SETTINGS)
    import mlflow

    from {{ cookiecutter.package_name }}.agent.prompts import ensure_registered
    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.dataset import load_records
    from {{ cookiecutter.package_name }}.evaluation.agent_loader import PROMPT_ENV, import_callable
    from {{ cookiecutter.package_name }}.evaluation.scorers import build_scorers

    config = load_config(config_path)
    mlflow.set_tracking_uri(config.resolved_tracking_uri)
    mlflow.set_experiment(config.experiment)
    os.environ[PROMPT_ENV] = ensure_registered(config.prompt_name, config.prompt_alias)
    rows = [r.as_mlflow_row() for r in load_records(config.dataset_path)]
    predict_fn, scorers = import_callable(config.agent_callable), build_scorers(config, None)
    start = time.perf_counter()
    with mlflow.start_run(run_name="plain"):
        mlflow.genai.evaluate(data=rows, predict_fn=predict_fn, scorers=scorers)
    return time.perf_counter() - start


def run_project(config_path: Path) -> float:
    """What `evaluate` runs (evaluation.run.evaluate), timed the same way."""
    import mlflow  # noqa: F401 - imported before timing, as on the plain side

    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.evaluation.run import evaluate

    config = load_config(config_path)
    start = time.perf_counter()
    evaluate(config, run_name="project")
    return time.perf_counter() - start


def store_counts(config_path: Path) -> tuple[int, int, str]:
    import sqlite3

    import mlflow

    database = config_path.parent / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{database}")
    experiment = mlflow.get_experiment_by_name("throughput")
    traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list", include_spans=False)
    with sqlite3.connect(database) as db:
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    return len(traces), sum(len(t.info.assessments) for t in traces), journal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--side", choices=["plain", "project"], help=argparse.SUPPRESS)  # child process
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # one side, in its own process: nothing cached from the other
        seconds = (run_plain if args.side == "plain" else run_project)(args.config)
        print(json.dumps({"seconds": seconds}))
        return

    with tempfile.TemporaryDirectory() as scratch:
        results = {}
        for side in ("plain", "project"):
            config_path = make_project(Path(scratch) / side, args.rows)
            done = subprocess.run(
                [sys.executable, __file__, "--side", side, "--config", str(config_path)],
                capture_output=True, text=True, check=False, cwd=config_path.parent,
                env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            )
            if done.returncode != 0:
                raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
            seconds = json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
            results[side] = (seconds, *store_counts(config_path))
    print(f"{args.rows} rows, sample agent, 4 deterministic scorers, sqlite store:")
    labels = {"plain": "plain mlflow.genai.evaluate (best settings)", "project": "this project's evaluate"}
    for side, (seconds, traces, assessments, journal) in results.items():
        print(f"  {labels[side]:<44} {seconds:7.1f} s  {args.rows / seconds:6.1f} rows/s  "
              f"traces {traces}  assessments {assessments}  journal {journal}")
    ratio = results["plain"][0] / results["project"][0]
    print(f"  throughput ratio (project / plain): {ratio:.2f}x")
    if results["plain"][1:3] != results["project"][1:3]:
        raise SystemExit("the two stores hold different numbers of traces or assessments")


if __name__ == "__main__":
    main()
