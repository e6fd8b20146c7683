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
from .core import SCHEMA, check_core
from .model import EvalConfig
from .problems import CONFIG_FILE, ConfigError, Problem

# journeys.<key> -> (its module in this package, its section in evaluation.yaml)
JOURNEY_MODULES = {
    "regression": ("regression", "regression"),
    "profiling": ("profiling", "profiling"),
    "tracing": ("tracing", "tracing"),
    "align_optimize": ("align", "align"),
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


def load_config(path: Path | str) -> EvalConfig:
    """Parse and validate evaluation.yaml; raise ConfigError listing every problem.

    Only the settings: the dataset's records are checked by dataset.check_dataset, and
    project.load_project runs both (what the CLI and the template's hook call).
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
