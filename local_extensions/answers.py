"""The answers' own checks, run before any folder is created: what shapes paths, names and file
syntax must be right, so rendering cannot fail half-way.

cookiecutter.json's last entry, `__answer_checks`, is a private variable: cookiecutter renders
it after the answers (never asking it), and rendering it calls `check_answers`. A bad answer
stops there, before cookiecutter creates the project folder (its pre-generation hook runs only
after that, and a slug such as "a/b" would leave "a/" behind). The pre-generation hook runs
the same checks again: for renders that skip the answers (`cookiecutter --replay`), for a
quality_gates mapping from a config file (cookiecutter renders mappings after the private
variables), and to print the warnings.

Rules about the evaluation itself (scorers, gates, judges, Unity Catalog names) live in the
rendered project's config package: `check_answers` runs them on a trial render
(trial_render.py) and the post-generation hook on the real one. One source of truth.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import sys
from pathlib import Path

import yaml  # cookiecutter's own dependency
from cookiecutter.exceptions import FailedHookException

from . import trial_render
from .vocabulary import CHOICES, GATE_SYNTAX, JOURNEYS, SCORER_NAME

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
SCORER_TOKEN = re.compile(SCORER_NAME)
PYTHON_VERSION = re.compile(r"^3\.(1[0-9]|[2-9][0-9])$")
JOURNEY_ANSWERS = tuple(f"journey_{key}" for key in JOURNEYS)
# The words cookiecutter reads as yes/no (cookiecutter.prompt.YesNoPrompt); anything else in a
# config file makes it warn and ignore the rest of the file.
YES_NO_WORDS = {"1", "true", "t", "yes", "y", "on", "0", "false", "f", "no", "n", "off"}
# Importing the project's package must not shadow the libraries it depends on.
TAKEN_NAMES = {"mlflow", "yaml", "click", "rich", "pandas", "numpy", "scipy", "databricks", "tests"}


def split_list(value) -> list[str]:
    """A comma-separated answer, or a list when a config file gave one."""
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def gate_pairs(value) -> dict:
    """`name=threshold, ...` as typed at the prompt, a mapping from a config file, or that
    mapping as JSON text (`quality_gates='{"pii": 1.0}'` on the command line)."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"{value!r} is not a JSON object ({err.msg})") from None
    if isinstance(value, dict):
        return dict(value)
    pairs = {}
    for pair in split_list(value):
        name, sep, threshold = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{pair!r} is not name=threshold")
        pairs[name.strip()] = threshold.strip()
    return pairs


def check_names(answers: dict) -> list[str]:
    errors = []
    name = str(answers.get("project_name", ""))
    if not name.strip():
        errors.append("project_name: is empty; give the project a name")
    elif "\n" in name or "\r" in name:
        errors.append("project_name: contains a line break; use one line")
    slug = str(answers.get("project_slug", ""))
    if not SLUG.match(slug):
        errors.append(
            f"project_slug: {slug!r} is not a folder name; use lowercase letters, digits and "
            "single hyphens, starting with a letter (e.g. support-agent-eval)"
        )
    package = str(answers.get("package_name", ""))
    if not PACKAGE.match(package) or keyword.iskeyword(package):
        errors.append(
            f"package_name: {package!r} is not a valid Python package name; use lowercase "
            "letters, digits and underscores, starting with a letter (e.g. support_agent_eval)"
        )
    elif package in TAKEN_NAMES or package in sys.stdlib_module_names:
        errors.append(f"package_name: {package!r} shadows an existing module; choose another name")
    return errors


def check_shapes(answers: dict) -> list[str]:
    """Answers the templates parse must parse, so rendering cannot fail half-way."""
    errors = []
    for key, allowed in CHOICES.items():
        if answers.get(key) not in allowed:
            errors.append(f"{key}: {answers.get(key)!r} is not one of {list(allowed)}")
    for key in JOURNEY_ANSWERS:
        if not isinstance(answers.get(key), bool):
            errors.append(f"{key}: {answers.get(key)!r} is not yes/no; answer true or false")
    scorers = split_list(answers.get("scorers", ""))
    if not scorers:
        errors.append("scorers: is empty; choose at least one scorer, e.g. pii,fact_coverage")
    for token in scorers:
        if not SCORER_TOKEN.match(token):
            errors.append(f"scorers: {token!r} is not a scorer name; use names such as pii,length")
    duplicates = sorted({t for t in scorers if scorers.count(t) > 1})
    if duplicates:
        errors.append(f"scorers: {duplicates} listed twice; list each scorer once")
    # A quality_gates mapping from a config file is rendered after `__answer_checks`: the
    # pre-generation hook checks it.
    if "quality_gates" in answers:
        errors += check_gates(answers["quality_gates"])
    version = str(answers.get("python_version", ""))
    if not PYTHON_VERSION.match(version):
        errors.append(f"python_version: {version!r} is not 3.10 or newer in major.minor form")
    return errors


def check_gates(value) -> list[str]:
    errors = []
    try:
        gates = gate_pairs(value)
    except ValueError as err:
        gates = {}
        errors.append(f"quality_gates: {err}; write {GATE_SYNTAX}")
    for name, threshold in gates.items():
        if not SCORER_TOKEN.match(str(name)):
            errors.append(
                f"quality_gates: {name!r} is not a scorer name; gates name scorers, e.g. pii=1.0"
            )
        try:
            float(threshold)
        except (TypeError, ValueError):
            errors.append(f"quality_gates: threshold {threshold!r} of {name!r} is not a number")
    if not gates and not errors:
        errors.append("quality_gates: is empty; set at least one gate, e.g. pii=1.0")
    return errors


def validate(answers: dict) -> list[str]:
    return check_names(answers) + check_shapes(answers)


def config_file_in_environment() -> Path | None:
    """The config file COOKIECUTTER_CONFIG names (cookiecutter and cruft both read it). A relative
    name is taken from where the command started ($PWD): the hook runs in the new project."""
    name = os.environ.get("COOKIECUTTER_CONFIG", "").strip()
    if not name:
        return None
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(os.environ.get("PWD", ".")) / path


def check_team_defaults(default_context: dict, answers: dict) -> tuple[list[str], list[str]]:
    """(errors, warnings) for a config file's default_context: what cookiecutter drops quietly.

    A journey that is not yes/no makes cookiecutter warn and ignore every key after it, so the
    project would silently get template defaults: an error. A key that is not a question of this
    template is ignored: a warning, since one config file may serve several templates.
    """
    errors, warnings = [], []
    for key, value in default_context.items():
        if str(key).startswith("_"):
            continue
        if key not in answers:
            warnings.append(
                f"{key}: is not a question of this template, so cookiecutter ignored it; "
                "check its spelling in cookiecutter.json"
            )
        elif (
            key in JOURNEY_ANSWERS
            and not isinstance(value, bool)
            and str(value).strip().lower() not in YES_NO_WORDS
        ):
            errors.append(
                f"{key}: {value!r} is not yes/no, so cookiecutter ignored it and every key after "
                "it; write true or false"
            )
        elif isinstance(value, list):  # this template asks no choice question
            listed = ",".join(str(item) for item in value)
            errors.append(
                f"{key}: a YAML list, which cookiecutter reads as a choice and answers with its "
                f"first item alone; write it comma separated: {key}: {listed}"
            )
    return errors, warnings


def team_defaults_report(answers: dict) -> tuple[list[str], list[str]]:
    """check_team_defaults on the file COOKIECUTTER_CONFIG names, each line naming the file."""
    path = config_file_in_environment()
    if path is None:
        return [], []
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        return [], [
            f"COOKIECUTTER_CONFIG: could not re-read {path} to check it "
            f"({type(err).__name__}); name it by its absolute path"
        ]
    default_context = config.get("default_context") if isinstance(config, dict) else None
    errors, warnings = check_team_defaults(default_context or {}, answers)
    return [f"{path.name}: default_context.{e}" for e in errors], [
        f"{path.name}: default_context.{w}" for w in warnings
    ]


def gate_thresholds(value) -> dict[str, float]:
    """The quality_gates answer as floats, for the templates; the hook has already refused an
    answer that does not parse, so this never raises (an unparsable pair is left out)."""
    try:
        pairs = gate_pairs(value)
    except ValueError:
        return {}
    thresholds = {}
    for name, threshold in pairs.items():
        try:
            thresholds[str(name).strip()] = float(threshold)
        except (TypeError, ValueError):
            continue
    return thresholds


def report(answers: dict) -> dict[str, list[str]]:
    """{"errors": [...], "warnings": [...]}: every problem with the answers and the team's
    config file, one line each, for the hook to print."""
    team_errors, team_warnings = team_defaults_report(answers)
    return {"errors": team_errors + validate(answers), "warnings": team_warnings}


class AnswerError(FailedHookException):
    """Answers that stop generation. A FailedHookException, as the pre-generation hook's failure
    was, so callers catching that keep working; cookiecutter's command line prints its message
    as one line, without a traceback."""


def check_answers(answers: dict) -> str:
    """Rendered as cookiecutter.json's `__answer_checks`: print each error, one line each, and
    stop before any folder is created. Warnings are left to the pre-generation hook, which sees
    every answer."""
    errors = [f"error: {error}" for error in report(answers)["errors"]]
    if not errors:  # the project's config rules, once the answers themselves are sound
        errors = trial_render.config_errors(answers)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        raise AnswerError(
            "error: generation stopped before writing anything; change the answers named "
            "above and run again"
        )
    return "passed"
