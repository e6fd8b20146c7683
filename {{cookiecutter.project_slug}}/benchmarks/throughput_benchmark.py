"""Evaluation throughput: this project's `evaluate` against plain `mlflow.genai.evaluate` with its
best settings (MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT=0, MLFLOW_GENAI_EVAL_MAX_WORKERS=2), same rows,
agent, scorers and store type (a fresh sqlite file each), one process after the other. Prints
rows/s for each, the ratio, and the traces and assessments each store holds afterwards.
`--profile` adds where each side's CPU goes: per MLflow store method (calls and CPU ms per row,
all threads) and outside the store (agent, scorers, the harness).

    python benchmarks/throughput_benchmark.py [--rows 1000] [--profile]
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

from scratch_project import cycled_records, plain_evaluate, scratch_project  # on sys.path
from store_cpu import StoreCpu

PLAIN_SETTINGS = {"MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": "0", "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2"}


def make_project(folder: Path, rows: int) -> Path:
    """This project's config with deterministic scorers and `rows` records cycled from the
    dataset."""
    return scratch_project(
        folder,
        "throughput",
        judge={"model": "none"},
        scorers={"pii": {}, "length": {"max_length": 1200}, "fact_coverage": {}, "refusal": {}},
        gates={"pii": 1.0},
        records=cycled_records(rows),
    )


def run_plain(config_path: Path) -> tuple[float, float]:
    """mlflow.genai.evaluate as the MLflow docs show it, on the same agent and scorers."""
    os.environ.update(PLAIN_SETTINGS)
    return plain_evaluate(config_path, "plain")


def run_project(config_path: Path) -> tuple[float, float]:
    """What `evaluate` runs (evaluation.run.evaluate), timed the same way."""
    import mlflow  # noqa: F401 - imported before timing, as on the plain side

    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.evaluation.run import evaluate

    config = load_config(config_path)
    start, cpu = time.perf_counter(), time.process_time()
    evaluate(config, run_name="project")
    return time.perf_counter() - start, time.process_time() - cpu  # wall, CPU of all threads


def store_counts(config_path: Path) -> tuple[int, int, str]:
    import sqlite3

    import mlflow

    database = config_path.parent / "mlflow.db"
    mlflow.set_tracking_uri(f"sqlite:///{database}")
    experiment = mlflow.get_experiment_by_name("throughput")
    traces = mlflow.search_traces(
        locations=[experiment.experiment_id], return_type="list", include_spans=False
    )
    with sqlite3.connect(database) as db:
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    return len(traces), sum(len(t.info.assessments) for t in traces), journal


def print_profile(profiles: dict[str, dict], rows: int, top: int = 6) -> None:
    """CPU ms per row by MLflow store method (calls per row), the rest of the store, and outside
    it."""
    plain = profiles["plain"]["store"]
    methods = sorted(plain, key=lambda name: -plain[name][1])[:top]
    table = {}
    for side, measured in profiles.items():
        store = measured["store"]
        cells = {name: store.get(name, [0, 0.0]) for name in methods}
        cells["other store methods"] = [
            sum(c for n, (c, _) in store.items() if n not in methods),
            sum(s for n, (_, s) in store.items() if n not in methods),
        ]
        in_store = sum(s for _, s in store.values())
        cells["outside the store"] = [None, measured["cpu"] - in_store]
        cells["total CPU"] = [None, measured["cpu"]]
        table[side] = cells
    print("  CPU ms per row, all threads (store calls per row):      plain            project")
    for label in table["plain"]:
        line = f"    {label:<46}"
        for side in ("plain", "project"):
            calls, seconds = table[side][label]
            count = f"({calls / rows:.1f})" if calls is not None else ""
            line += f" {seconds / rows * 1000:8.1f} {count:>7}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="also print where the CPU goes")
    parser.add_argument(
        "--side", choices=["plain", "project"], help=argparse.SUPPRESS
    )  # child process
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # one side, in its own process: nothing cached from the other
        store = StoreCpu().install() if args.profile else None
        seconds, cpu = (run_plain if args.side == "plain" else run_project)(args.config)
        print(
            json.dumps({"seconds": seconds, "cpu": cpu, "store": store.as_dict() if store else {}})
        )
        return

    with tempfile.TemporaryDirectory() as scratch:
        results, profiles = {}, {}
        for side in ("plain", "project"):
            config_path = make_project(Path(scratch) / side, args.rows)
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--side",
                    side,
                    "--config",
                    str(config_path),
                    *(["--profile"] if args.profile else []),
                ],
                capture_output=True,
                text=True,
                check=False,
                cwd=config_path.parent,
                env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            )
            if done.returncode != 0:
                raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            profiles[side] = measured
            results[side] = (measured["seconds"], *store_counts(config_path))
    print(f"{args.rows} rows, sample agent, 4 deterministic scorers, sqlite store:")
    labels = {
        "plain": "plain mlflow.genai.evaluate (best settings)",
        "project": "this project's evaluate",
    }
    for side, (seconds, traces, assessments, journal) in results.items():
        print(
            f"  {labels[side]:<44} {seconds:7.1f} s  {args.rows / seconds:6.1f} rows/s  "
            f"traces {traces}  assessments {assessments}  journal {journal}"
        )
    ratio = results["plain"][0] / results["project"][0]
    print(f"  throughput ratio (project / plain): {ratio:.2f}x")
    if args.profile:
        print_profile(profiles, args.rows)
    if results["plain"][1:3] != results["project"][1:3]:
        raise SystemExit("the two stores hold different numbers of traces or assessments")


if __name__ == "__main__":
    main()
