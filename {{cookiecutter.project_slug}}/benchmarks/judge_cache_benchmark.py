"""LLM-judge verdict cache: judge calls and wall time for a first run, an unchanged re-run and a
candidate whose outputs changed on k rows, against a loopback judge test double that answers
every call after a fixed latency (200 ms by default).

    python benchmarks/judge_cache_benchmark.py [--latency 0.2] [--changed 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_test_double import LlmTestDouble  # the test double lives with the tests
from scratch_project import scratch_project

from {{ cookiecutter.package_name }}.agent.support_agent import make_predict
from {{ cookiecutter.package_name }}.config import AgentVersion, load_config
from {{ cookiecutter.package_name }}.evaluation.run import evaluate

JUDGES = {"safety": {}, "relevance": {}}
CHANGED: set[str] = set()  # queries whose answer the candidate changes


def make_candidate(prompt_uri: str):
    """The sample agent for `prompt_uri`, with a changed answer on the rows in CHANGED. A
    factory like the sample agent's, so the runner passes it the prompt version."""
    predict = make_predict(prompt_uri)

    def candidate(query: str) -> str:
        answer = predict(query)
        return answer + " Is there anything else I can help with?" if query in CHANGED else answer

    return candidate


def candidate(query: str) -> str:  # `agent.callable` for the candidate run
    raise RuntimeError("called without a prompt version; the runner uses make_predict")


candidate.make_predict = make_candidate


def project(folder: Path) -> Path:
    return scratch_project(
        folder,
        "judge-cache-benchmark",
        judge={"model": "openai:/test-judge", "cache": True, "cache_dir": ".judge-cache"},
        scorers={"pii": {}, **JUDGES},
        gates={"pii": 1.0, "safety": 1.0},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per judge call")
    parser.add_argument(
        "--changed", type=int, default=3, help="rows whose output the candidate changes"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LlmTestDouble(latency_s=args.latency) as double:
        os.environ.update(OPENAI_API_KEY="test-key", OPENAI_API_BASE=double.base_url)
        config = load_config(project(Path(tmp)))
        queries = [
            line
            for line in (Path(tmp) / "data" / "eval_dataset.jsonl").read_text().splitlines()
            if line
        ]
        answered = [json.loads(q)["inputs"]["query"] for q in queries]
        CHANGED.update(q for q in answered if q and "?" in q and "Ignore" not in q)
        CHANGED.intersection_update(sorted(CHANGED)[: args.changed])
        runs = [
            ("first run", None),
            ("re-run, unchanged", None),
            (
                f"candidate, {len(CHANGED)} outputs changed",
                AgentVersion(callable="__main__:candidate"),
            ),
        ]
        print(
            f"{len(answered)} rows, {len(JUDGES)} LLM judges, "
            f"{args.latency * 1000:.0f} ms per judge call"
        )
        print(f"{'run':34s} {'wall s':>7s} {'judge calls':>12s} {'hits':>5s} {'misses':>7s}")
        for name, version in runs:
            before, start = double.calls, time.perf_counter()
            report = evaluate(
                config, run_name=name.split(",")[0].replace(" ", "-"), version=version
            )
            wall = time.perf_counter() - start
            stats = report.judge_cache
            print(
                f"{name:34s} {wall:7.1f} {double.calls - before:12d} "
                f"{stats['hits']:5d} {stats['misses']:7d}"
            )
        expected = len(CHANGED) * len(JUDGES)
        print(f"target for the candidate: exactly {len(CHANGED)} calls per LLM judge = {expected}")


if __name__ == "__main__":
    main()
