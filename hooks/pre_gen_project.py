"""Check the answers that shape paths, names and file syntax, before any file is rendered.

Rules about the evaluation itself (scorers, gates, judges, Unity Catalog names) live in the
rendered project's config module and run in the post-generation hook: one source of truth.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
SCORER_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")
PYTHON_VERSION = re.compile(r"^3\.(1[0-9]|[2-9][0-9])$")
CHOICES = {"target": ("local", "databricks"), "ci_provider": ("github", "gitlab", "none")}
JOURNEYS = ("journey_regression", "journey_profiling", "journey_tracing", "journey_align_optimize")
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
    for key in JOURNEYS:
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
    try:
        gates = gate_pairs(answers.get("quality_gates", ""))
    except ValueError as err:
        gates = {}
        errors.append(f"quality_gates: {err}; write name=threshold pairs, e.g. pii=1.0,refusal=1.0")
    for name, threshold in gates.items():
        if not SCORER_TOKEN.match(str(name)):
            errors.append(f"quality_gates: {name!r} is not a scorer name; gates name scorers, e.g. pii=1.0")
        try:
            float(threshold)
        except (TypeError, ValueError):
            errors.append(f"quality_gates: threshold {threshold!r} of {name!r} is not a number")
    if not gates and "quality_gates:" not in " ".join(errors):
        errors.append("quality_gates: is empty; set at least one gate, e.g. pii=1.0")
    version = str(answers.get("python_version", ""))
    if not PYTHON_VERSION.match(version):
        errors.append(f"python_version: {version!r} is not 3.10 or newer in major.minor form")
    return errors


def validate(answers: dict) -> list[str]:
    return check_names(answers) + check_shapes(answers)


def rendered_answers() -> dict:
    # cookiecutter renders this file; tojson escapes every answer as JSON, quotes included.
    return json.loads(r"""{{ cookiecutter | tojson }}""")


def main() -> int:
    errors = validate(rendered_answers())
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
