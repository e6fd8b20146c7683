"""evaluation.yaml to an EvalConfig: the core settings, then the section of each journey this
project was generated with (config/<journey>.py is rendered only with its journey)."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import yaml

from .checker import Checker
from .core import SCHEMA, check_core, store_problem
from .dataset import MANAGED, managed_name
from .model import COMMAND_LINE, ENVIRONMENT, TRACKING_URI_ENV, EvalConfig, Overrides
from .names import CALLABLE, ENDPOINT
from .problems import CONFIG_FILE, ConfigError, Problem

# journeys.<key> -> (its module in this package, its section in evaluation.yaml)
JOURNEY_MODULES = {
    "regression": ("regression", "regression"),
    "profiling": ("profiling", "profiling"),
    "tracing": ("tracing", "tracing"),
    "align_optimize": ("align", "align"),
    "datasets": ("datasets", "datasets"),
}


def find_config(start: Path | None = None) -> Path:
    """evaluation.yaml in the given folder or the nearest parent, so commands work anywhere."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    raise ConfigError(
        [Problem("", f"not found in {here} or its parents", "run from the project", here)]
    )


def load_config(path: Path | str, overrides: Overrides | None = None) -> EvalConfig:
    """Parse and validate evaluation.yaml, then the `overrides` of one run (command-line
    options, MLFLOW_TRACKING_URI); raise ConfigError listing every problem.

    Only the settings: the dataset's records are checked by dataset.check_dataset, and
    project.load_project runs both (what the CLI and the template's hook call). The hook
    passes no overrides: a rendered project is checked as written.
    """
    path = Path(path)
    source = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError([Problem("", f"cannot read ({err.strerror})", source=source)]) from err
    except yaml.YAMLError as err:
        message = f"not valid YAML: {err}".replace("\n", " ")
        raise ConfigError([Problem("", message, source=source)]) from err
    if not isinstance(raw, dict):
        problem = "must be a mapping of settings (see the README)"
        raise ConfigError([Problem("", problem, value=raw, source=source)])
    checker = Checker(raw, path.parent.resolve(), source)
    journeys = rendered_journeys()
    schema = dict(SCHEMA)
    for key, (_, section) in JOURNEY_MODULES.items():
        # A section of a journey not generated here is reported by not_generated, not as unknown.
        schema.update(journeys[key].SCHEMA if key in journeys else {section: None})
    checker.unknown_keys(raw, schema)
    config = check_core(checker)
    for key, (_, section) in JOURNEY_MODULES.items():
        if key in journeys:
            config = dataclasses.replace(config, **journeys[key].check(checker, config))
        else:
            not_generated(checker, key, section, config.journeys[key])
    if overrides is not None:
        config = apply_overrides(checker, config, overrides)
    if checker.problems:
        raise ConfigError(checker.problems)
    return config


def rendered_journeys() -> dict[str, ModuleType]:
    """The journey sections this project has, by journeys.<key>."""
    found = {}
    for key, (module_name, _) in JOURNEY_MODULES.items():
        name = f"{__package__}.{module_name}"
        if importlib.util.find_spec(name) is not None:
            found[key] = importlib.import_module(name)
    return found


def not_generated(checker: Checker, key: str, section: str, on: bool) -> None:
    """A journey this project was generated without: it cannot be switched on here."""
    variables = json.dumps({f"journey_{key}": True})
    fix = (
        f"add it with `make update-template VARIABLES='{variables}'` "
        "(README: Keeping up with the template)"
    )
    if on:
        checker.problem(f"journeys.{key}", "is on but this project was generated without it", fix)
    if checker.get(section) is not None:
        checker.problem(section, f"belongs to the {key} journey, which this project has not", fix)


def apply_overrides(c: Checker, config: EvalConfig, overrides: Overrides) -> EvalConfig:
    """The config with one run's overrides, each checked by the rule of the setting it replaces;
    a problem names the option or variable (`command line: --agent: ...`)."""
    origins = dict(config.origins)  # setting -> the option or variable that set it
    changes = {
        **store_override(c, config.target, overrides, origins),
        **dataset_override(c, overrides, origins),
        **agent_override(c, overrides, origins),
    }
    return dataclasses.replace(config, **changes, origins=origins)


def store_override(c: Checker, target: str, overrides: Overrides, origins: dict) -> dict:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else mlflow.tracking_uri (nothing to change).

    A relative sqlite path given there starts from the working directory, as MLflow reads it.
    """
    for name, value in (
        ("--tracking-uri", overrides.tracking_uri),
        (TRACKING_URI_ENV, overrides.environment_tracking_uri),
    ):
        if value and value.strip():
            if wrong := store_problem(target, value.strip()):
                problem, fix = wrong
                if name == TRACKING_URI_ENV:
                    unset = f"unset {name} to use mlflow.tracking_uri in {CONFIG_FILE}"
                    fix = f"{fix}, or {unset}" if fix else unset
                override_problem(c, name, problem, fix, value)
            origins["mlflow.tracking_uri"] = name
            return {"tracking_uri": absolute_sqlite(value.strip(), overrides.cwd)}
    return {}


def dataset_override(c: Checker, overrides: Overrides, origins: dict) -> dict:
    """--dataset: a JSON Lines file, or mlflow:<name> for an MLflow evaluation dataset, instead
    of dataset.path, dataset.table or dataset.source; a file's records are checked with the
    file's (project.load_project), a dataset's when a run reads it."""
    if overrides.dataset is None:
        return {}
    if overrides.dataset.strip().startswith(MANAGED):
        name = managed_name(overrides.dataset)
        if name is None:
            fix = "e.g. mlflow:eval_dataset"
            override_problem(c, "--dataset", "names no dataset", fix, overrides.dataset)
        origins["dataset.source"] = "--dataset"
        return {"dataset_source": name, "dataset_path": None, "dataset_table": None}
    path = (overrides.cwd / overrides.dataset).resolve()
    if not overrides.dataset.strip() or not path.is_file():
        problem = f"{overrides.dataset!r} is not a file"
        override_problem(c, "--dataset", problem, "give a JSON Lines file", overrides.dataset)
    origins["dataset.path"] = "--dataset"
    return {
        "dataset_path": path,
        "dataset_table": None,
        "dataset_warehouse_id": "",
        "dataset_source": None,
    }


def agent_override(c: Checker, overrides: Overrides, origins: dict) -> dict:
    """--agent: a callable or a serving endpoint instead of agent.callable or agent.endpoint."""
    if overrides.agent is None:
        return {}
    reference = overrides.agent.strip()
    kind = agent_kind(reference)
    if kind is None:
        problem = f"{overrides.agent!r} is neither module.path:function nor endpoints:/<name>"
        override_problem(c, "--agent", problem, "e.g. my_agent.agent:predict", overrides.agent)
    origins.update({"agent.callable": "--agent", "agent.endpoint": "--agent"})
    return {
        "agent_callable": reference if kind == "callable" else None,
        "agent_endpoint": reference if kind == "endpoint" else None,
    }


def agent_kind(reference: str) -> str | None:
    """'callable' or 'endpoint' for a well-formed agent reference (agent.callable's and
    agent.endpoint's patterns), else None."""
    if CALLABLE.match(reference):
        return "callable"
    return "endpoint" if ENDPOINT.match(reference) else None


def override_problem(c: Checker, name: str, problem: str, fix: str, value: str) -> None:
    """A problem with an option's or an environment variable's value, named as given."""
    source = ENVIRONMENT if name == TRACKING_URI_ENV else COMMAND_LINE
    c.problems.append(Problem(name, problem, fix, value, source))


def absolute_sqlite(uri: str, cwd: Path) -> str:
    """sqlite:///relative.db as MLflow would open it from `cwd`, so the store line is exact."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/") and len(uri) > len(prefix):
        return prefix + str((cwd / uri[len(prefix) :]).resolve())
    return uri
