"""Evaluation on an LLM workload: the sample agent in its LLM mode and three LLM judges (safety,
correctness, guidelines) plus the four deterministic scorers, against a loopback OpenAI-compatible
TEST DOUBLE (tests/llm_test_double.py, in a process of its own) that adds latency per call and
can answer HTTP 429 above a rate and 500 for a share of calls.

For each row count and latency, one process after the other, each on a fresh sqlite store and
the same rows, it times:
  plain-default  mlflow.genai.evaluate with MLflow's defaults (its automatic rate limiter),
  plain-best     mlflow.genai.evaluate with its best setting (MAX_WORKERS=10, no predict limit),
  project-cold   this project's evaluate with an empty judge cache,
  project-warm   the same again with the cache the cold run filled (fresh store).
It prints wall and CPU seconds, rows/s, CPU ms per row, the LLM calls the double answered, the
ratios against plain-best, latency hidden (each side against itself at 0 ms), and the store-write
floor: the CPU ms per row spent inside MLflow's store on the project-cold run (the writes of
every span, trace and assessment; one core can do no better than 1000 / floor rows/s).
A plain run that has not finished within --plain-timeout is reported as "stalled".

    python benchmarks/llm_workload_benchmark.py [--rows 100,1000] [--latency-ms 0,50,300,1000]
        [--sides plain-default,plain-best,project-cold,project-warm] [--plain-timeout 600]
        [--profile]
    python benchmarks/llm_workload_benchmark.py --dead-judge   # seconds to a clear failure
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cpu_split import print_split  # on sys.path
from scratch_project import PROJECT, cycled_records, plain_evaluate, scratch_project

SIDES = ("plain-default", "plain-best", "project-cold", "project-warm")
PLAIN_BEST = {"MLFLOW_GENAI_EVAL_MAX_WORKERS": "10", "MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": "0"}
SCORERS = {
    "safety": {},
    "correctness": {},
    "helpful": {"type": "guidelines", "guidelines": "Must directly address the user's question"},
    "pii": {},
    "length": {"max_length": 1200},
    "fact_coverage": {},
    "refusal": {},
}


def make_project(folder: Path, rows: int) -> Path:
    return scratch_project(
        folder,
        "llm-workload",
        judge={"model": "openai:/stub-judge", "cache": True},
        scorers=SCORERS,
        gates={"safety": 1.0},
        records=cycled_records(rows, distinct_inputs=True),
    )


class Double:
    """The test double in its own process, so its CPU is not counted on either side."""

    def __init__(self, latency_ms: float, *extra: str):
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(PROJECT / "tests" / "llm_test_double.py"),
                "--latency-ms",
                str(latency_ms),
                *extra,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=PROJECT / "tests",
        )
        self.port = int(self.process.stdout.readline().split()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as answer:
            return json.load(answer)

    def calls(self) -> int:
        return self.stats()["calls"]

    def close(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a client killed mid-call can hold its handler
            self.process.kill()
            self.process.wait()


def child(side: str, config_path: Path, profile: bool = False) -> dict:
    """One side, in this process (started by `run_side`): wall, CPU and store CPU; with
    `profile`, the CPU split by what it was spent on (cpu_split.py)."""
    import mlflow  # noqa: F401 - imported before timing on both sides
    from cpu_split import CpuSplit  # benchmarks/ is on sys.path when run
    from store_cpu import StoreCpu

    from {{ cookiecutter.package_name }}.config import load_config

    config = load_config(config_path)
    split = CpuSplit().install(config.agent_callable) if profile else None
    store = StoreCpu().install()
    if side.startswith("plain"):
        wall, cpu = plain_evaluate(config_path, side)
    else:
        from {{ cookiecutter.package_name }}.evaluation.run import evaluate

        start, cpu = time.perf_counter(), time.process_time()
        evaluate(config, run_name=side)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    measured = {"wall": wall, "cpu": cpu, "store_cpu": sum(s for _, s in store.as_dict().values())}
    return {**measured, "split": split.as_dict()} if split else measured


def run_side(
    side: str, config_path: Path, double: Double, timeout: float, profile: bool = False
) -> dict:
    # The offline hygiene the project applies (runtime.OFFLINE_DEFAULTS) on both sides: without it
    # plain evaluate's first judge call waits for a model-catalog download that cannot happen.
    env = {
        **os.environ,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_MODEL_CATALOG_URI": "",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "MLFLOW_LOGGING_LEVEL": "WARNING",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_API_BASE": double.base_url,
        "AGENT_LLM_MODEL": "stub-agent",
        "TQDM_DISABLE": "1",
    }
    for name in list(env):
        if name.startswith(("MLFLOW_GENAI_EVAL_", "MLFLOW_SQLALCHEMYSTORE_")):
            del env[name]
    if side == "plain-best":
        env.update(PLAIN_BEST)
    before = double.calls()
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                side,
                "--config",
                str(config_path),
                *(["--profile"] if profile else []),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=config_path.parent,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"stalled": timeout, "calls": double.calls() - before}
    if done.returncode != 0:
        raise SystemExit(f"{side} failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["calls"] = double.calls() - before
    return measured


def measure(
    rows: int, latency_ms: float, sides: list[str], plain_timeout: float, profile: bool = False
) -> dict[str, dict]:
    results = {}
    double = Double(latency_ms)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            project = None
            for side in sides:
                if side == "project-warm" and project is not None:
                    (project / "mlflow.db").unlink(missing_ok=True)  # a fresh store, the cache kept
                    config_path = project / "evaluation.yaml"
                else:
                    config_path = make_project(Path(scratch) / side, rows)
                    if side == "project-cold":
                        project = config_path.parent
                timeout = plain_timeout if side.startswith("plain") else 24 * 3600
                results[side] = run_side(side, config_path, double, timeout, profile)
                print(
                    f"    {rows} rows, {latency_ms:g} ms, {side}: {row_text(results[side], rows)}",
                    flush=True,
                )
    finally:
        double.close()
    return results


def row_text(measured: dict, rows: int) -> str:
    if "stalled" in measured:
        return (
            f"stalled: not finished in {measured['stalled']:.0f} s "
            f"({measured['calls']} LLM calls answered)"
        )
    return (
        f"{measured['wall']:7.1f} s wall {measured['cpu']:7.1f} s CPU "
        f"{rows / measured['wall']:6.1f} rows/s "
        f"{measured['cpu'] / rows * 1000:6.1f} ms CPU/row {measured['calls']:6d} LLM calls"
    )


def print_table(table: dict, sides: list[str]) -> None:
    print(
        "\nrows latency side           wall s  CPU s  rows/s  CPU ms/row  LLM calls  "
        "vs plain-best  vs 0 ms"
    )
    for (rows, latency), results in sorted(table.items()):
        best = results.get("plain-best", {}).get("wall")
        for side in sides:
            measured = results[side]
            if "stalled" in measured:
                print(
                    f"{rows:5d} {latency:5g} ms {side:14s} "
                    f"stalled: not finished in {measured['stalled']:.0f} s"
                )
                continue
            ratio = f"{best / measured['wall']:12.2f}x" if best else f"{'-':>13s}"
            zero = table.get((rows, 0.0), {}).get(side, {}).get("wall")
            hidden = f"{measured['wall'] / zero:6.2f}x" if zero else f"{'-':>7s}"
            print(
                f"{rows:5d} {latency:5g} ms {side:14s} "
                f"{measured['wall']:6.1f} {measured['cpu']:6.1f} "
                f"{rows / measured['wall']:7.1f} {measured['cpu'] / rows * 1000:11.1f} "
                f"{measured['calls']:10d} "
                f"{ratio} {hidden}"
            )
        if "project-cold" in results and "store_cpu" in results["project-cold"]:
            floor = results["project-cold"]["store_cpu"] / rows * 1000
            print(
                f"{'':15s} store-write floor: {floor:.1f} ms CPU per row inside MLflow's store "
                f"(at most {1000 / floor:.1f} rows/s on one core)"
            )
        splits = {side: m for side, m in results.items() if "split" in m}
        if splits:
            print_split(splits, rows)


def dead_judge() -> None:
    """Seconds to a clear failure (exit 2 with the reason) when the endpoint serving the judges
    and the agent is dead from the start (pre-flight), starts answering 500 mid-run, or starts
    hanging mid-run (timeouts, then the breaker); counted from the first failed call."""
    scenarios = (
        ("dead from the start: every call answers 500", ["--status", "500"]),
        ("every call answers 500 after the first 300", ["--fail-after", "300"]),
        ("every call hangs after the first 300", ["--hang-after", "300"]),
    )
    for label, extra in scenarios:
        double = Double(300, *extra)
        try:
            with tempfile.TemporaryDirectory() as scratch:
                config_path = make_project(Path(scratch) / "dead", 100)
                env = {
                    **os.environ,
                    "OPENAI_API_KEY": "test-key",
                    "OPENAI_API_BASE": double.base_url,
                    "AGENT_LLM_MODEL": "stub-agent",
                    "MLFLOW_DISABLE_TELEMETRY": "true",
                }
                start = time.monotonic()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "{{ cookiecutter.package_name }}",
                        "evaluate",
                        "--config",
                        str(config_path),
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                end = time.monotonic()
                outage = double.stats().get("outage_started_at", start)
        finally:
            double.close()
        first_error = next(
            (line for line in done.stderr.splitlines() if line.startswith("error:")), ""
        )
        print(
            f"{label}: exit {done.returncode} {end - max(outage, start):.1f} s "
            "after the first failed call "
            f"({end - start:.1f} s in all)\n    {first_error[:220]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100,1000")
    parser.add_argument("--latency-ms", default="0,50,300,1000")
    parser.add_argument("--sides", default=",".join(SIDES))
    parser.add_argument("--plain-timeout", type=float, default=600)
    parser.add_argument(
        "--dead-judge", action="store_true", help="time the failure of a dead judge"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print where each side's CPU goes"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.config, args.profile)))
        return
    if args.dead_judge:
        dead_judge()
        return
    sides = [s for s in args.sides.split(",") if s]
    unknown = set(sides) - set(SIDES)
    if unknown:
        raise SystemExit(f"unknown side(s) {sorted(unknown)}; choose from {SIDES}")
    table = {}
    for rows in (int(r) for r in args.rows.split(",")):
        for latency in (float(ms) for ms in args.latency_ms.split(",")):
            table[(rows, latency)] = measure(rows, latency, sides, args.plain_timeout, args.profile)
    print_table(table, sides)


if __name__ == "__main__":
    main()
