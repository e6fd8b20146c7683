"""A project's settings and the dataset they name, checked together: what `check-config`,
every command and the template's post-generation hook load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .config import ConfigError, EvalConfig, Problem, load_config
from .config.model import Overrides
from .dataset import DatasetError, dataset_problems, load_records


def load_project(path: Path | str, overrides: Overrides | None = None) -> EvalConfig:
    """load_config, then the dataset file's records; ConfigError lists every problem.

    A problem of a dataset given with --dataset names the option, not dataset.path.
    """
    config = load_config(path, overrides)
    field, source = config.where("dataset.path")
    problems = [
        dataclasses.replace(p, field=field, source=source) if p.field == "dataset.path" else p
        for p in dataset_problems(config)
    ]
    if problems:
        raise ConfigError(problems)
    return config


def conversation_context(record) -> dict:
    """The extra arguments a conversation's every turn passes (inputs.context)."""
    context = record.inputs.get("context")
    return context if isinstance(context, dict) else {}


def agent_problems(config: EvalConfig) -> list[Problem]:
    """The agent callable imports, and the dataset's inputs fit its parameters.

    Imports the agent's module, and so what it imports (usually MLflow): `check-config` and the
    commands that run the agent call it, the template's hook does not. A dataset in a Unity
    Catalog table is read only when a run starts, so its inputs are not checked here.
    """
    if not config.agent_callable:
        return []
    from .evaluation.agent_loader import find_callable, parameter_problems
    from .runtime import InfrastructureError, apply_offline_defaults

    apply_offline_defaults()  # importing the agent usually imports MLflow
    field, source = config.where("agent.callable")
    reference = config.agent_callable

    def problem(text: str, fix: str = "") -> Problem:
        return Problem(field, text, fix, reference, source)

    try:
        function = find_callable(reference)
    except InfrastructureError as err:
        return [problem(str(err))]
    if config.dataset_path is None:
        return []
    try:
        records = load_records(config.dataset_path, config.dataset_label)
    except DatasetError:  # load_project reports the dataset's own problems
        return []
    if config.agent_shape == "multi_turn":  # each turn calls it with the messages so far
        records = [
            dataclasses.replace(r, inputs={"messages": [], **conversation_context(r)})
            for r in records
        ]
    return [
        problem(text, fix)
        for text, fix in parameter_problems(function, reference, records, config.dataset_label)
    ]
