"""A scratch copy of this project for a benchmark: the local sqlite store, every journey off, and
the judge, scorers and gates the benchmark names. Only for benchmarks."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
JOURNEY_SECTIONS = {"regression": "regression", "profiling": "profiling", "tracing": "tracing", "align_optimize": "align"}


def scratch_project(folder: Path, experiment: str, judge: dict, scorers: dict, gates: dict,
                    records: list[str] | None = None) -> Path:
    """Write the project into `folder`; `records` (JSON lines) replace the shipped dataset."""
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
    for journey, section in JOURNEY_SECTIONS.items():
        raw.pop(section, None)
        raw["journeys"][journey] = False
    (folder / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder / "evaluation.yaml"
