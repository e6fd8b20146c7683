"""The rendered project's own config checks, run on a trial render before anything is written.

The rules about the evaluation (scorers, gates, judges, Unity Catalog names) live in the
rendered project's config package; the post-generation hook runs them on the real render. A
problem found there stops generation, but cookiecutter then adds its own traceback after the
hook's lines (hooks.py logs the FailedHookException). So `check_answers` first renders the
project into a temporary folder, without hooks, and runs the post-generation hook's own check
there: a problem is reported as one line per problem, before any folder is made where the
user asked. The hook keeps its check, for renders that skip the answers (`--replay`) or get a
quality_gates mapping after this runs.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
EXTENSIONS = ["local_extensions.Vocabulary"]


def questions() -> list[str]:
    """The answers a render reads: cookiecutter.json's keys, private ones aside."""
    keys = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    return [key for key in keys if not key.startswith("_")]


def post_generation_hook():
    """hooks/post_gen_project.py as a module of its own name, so another template's `hooks`
    package in the same process (cruft renders two commits) is never the one used."""
    spec = importlib.util.spec_from_file_location(
        "_trial_post_gen_project", TEMPLATE / "hooks" / "post_gen_project.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_errors(answers: dict) -> list[str]:
    """The post-generation hook's error lines for a render of `answers`; [] when an answer a
    render needs is not there yet (a mapping cookiecutter renders later) or the trial cannot
    render: the hook then checks the real render."""
    if any(key not in answers for key in questions()):
        return []
    from cookiecutter.generate import generate_files

    context = {"cookiecutter": {**answers, "_extensions": EXTENSIONS}}
    hook = post_generation_hook()
    with tempfile.TemporaryDirectory(prefix="trial-render-") as folder:
        try:
            project = generate_files(
                repo_dir=str(TEMPLATE), context=context, output_dir=folder, accept_hooks=False
            )
            return hook.error_lines(Path(project), answers["package_name"])
        except Exception:  # noqa: BLE001 - the real render and its hook report their own failure
            return []
