"""A scratch copy of this project for a benchmark: the local sqlite store, every journey off, and
the judge, scorers and gates the benchmark names; and plain `mlflow.genai.evaluate` on it, the
baseline every benchmark times this project against. Only for benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
JOURNEY_SECTIONS = {
    "regression": "regression",
    "profiling": "profiling",
    "tracing": "tracing",
    "align_optimize": "align",
}


def cycled_records(rows: int, distinct_inputs: bool = False) -> list[str]:
    """`rows` records (JSON lines) cycled from the shipped dataset, each with its own id; with
    `distinct_inputs`, each query also gets its number, so no two rows share an input."""
    lines = [
        line
        for line in (PROJECT / "data" / "eval_dataset.jsonl").read_text().splitlines()
        if line.strip()
    ]
    records = []
    for i in range(rows):
        record = json.loads(lines[i % len(lines)])
        record["id"] = f"{record.get('id', 'row')}-{i}"
        if distinct_inputs and record["inputs"]["query"]:
            record["inputs"]["query"] += f" (#{i})"
        records.append(json.dumps(record))
    return records


SINGLE_TURN_AGENT = "{{ cookiecutter.package_name }}.agent.support_agent:predict"


def scratch_project(
    folder: Path,
    experiment: str,
    judge: dict,
    scorers: dict,
    gates: dict,
    records: list[str] | None = None,
    keep: tuple[str, ...] = (),
) -> Path:
    """Write the project into `folder`; `records` (JSON lines) replace the shipped dataset; the
    journeys in `keep` keep their sections."""
    shutil.copytree(PROJECT / "src", folder / "src", ignore=shutil.ignore_patterns("__pycache__"))
    if records is None:
        shutil.copytree(PROJECT / "data", folder / "data")
    else:
        (folder / "data").mkdir()
        (folder / "data" / "eval_dataset.jsonl").write_text("\n".join(records) + "\n")
    raw = yaml.safe_load((PROJECT / "evaluation.yaml").read_text())
    raw.update(target="local", judge=judge, scorers=scorers, quality_gates=gates)
    raw["mlflow"] = {"tracking_uri": "sqlite:///mlflow.db", "experiment": experiment}
    raw["agent"]["prompt"]["name"] = "support_agent_system"
    if raw["agent"].get("shape") == "multi_turn":  # the benchmarks time single requests
        raw["agent"].pop("conversation", None)
        raw["agent"].update(callable=SINGLE_TURN_AGENT, shape="single_turn")
        raw["dataset"] = {"path": "data/eval_dataset.jsonl"}
    for journey, section in JOURNEY_SECTIONS.items():
        if journey in keep:
            continue
        raw.pop(section, None)
        raw["journeys"][journey] = False
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder / "evaluation.yaml"


def plain_evaluate(config_path: Path, run_name: str) -> tuple[float, float]:
    """mlflow.genai.evaluate as the MLflow docs show it, on this project's agent, rows and scorers
    (MLflow's judges as they are, no cache); wall and CPU seconds of all threads."""
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
    start, cpu = time.perf_counter(), time.process_time()
    with mlflow.start_run(run_name=run_name):
        mlflow.genai.evaluate(data=rows, predict_fn=predict_fn, scorers=scorers)
    return time.perf_counter() - start, time.process_time() - cpu
