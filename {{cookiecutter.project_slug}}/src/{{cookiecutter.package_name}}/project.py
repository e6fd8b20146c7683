"""A project's settings and the dataset they name, checked together: what `check-config`,
every command and the template's post-generation hook load."""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, EvalConfig, load_config
from .dataset import dataset_problems


def load_project(path: Path | str) -> EvalConfig:
    """load_config, then the dataset file's records; ConfigError lists every problem."""
    config = load_config(path)
    problems = dataset_problems(config)
    if problems:
        raise ConfigError(problems)
    return config
