"""Finish a rendered project: tidy what conditional file names left, then validate its config.

Runs again on every `cruft update`, in a temporary folder, so each step is idempotent and
reads only the rendered project, never the template folder.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path


def remove_empty_dirs(root: Path) -> list[Path]:
    """Folders left empty by files whose conditional name rendered empty (deepest first)."""
    removed = []
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()
            removed.append(folder)
    return removed


def validate_config(root: Path, package: str) -> list:
    """Problems in the rendered evaluation.yaml and its dataset, found by the project's own
    loader (`check-config` calls the same): a list of its config.Problem objects."""
    # Leave no __pycache__ in the rendered tree; restored, as this may run inside cookiecutter's
    # own process (trial_render.py).
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    sys.path.insert(0, str(root / "src"))
    try:
        config = importlib.import_module(f"{package}.config")
        project = importlib.import_module(f"{package}.project")
        try:
            project.load_project(root / config.CONFIG_FILE)
        except config.ConfigError as err:
            return err.problems
        return []
    finally:
        sys.dont_write_bytecode = bytecode
        sys.path.remove(str(root / "src"))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


# Which template answer set each part of evaluation.yaml, so an error names what to change.
ANSWER_FOR = {
    "target": "target",
    "mlflow.experiment": "experiment_name",
    "judge.model": "judge_model",
    "agent.shape": "agent_shape",
    "agent.prompt.name": "prompt_name",
    "scorers": "scorers",
    "quality_gates": "quality_gates",
    "unity_catalog.catalog": "uc_catalog",
    "unity_catalog.schema": "uc_schema",
    "unity_catalog.sql_warehouse_id": "sql_warehouse_id",
    "models.reflection": "reflection_model",
    "models.embedding": "embedding_model",
}


def answer_for(field: str) -> str | None:
    """The answer behind a setting: `quality_gates.x` -> `quality_gates`."""
    for prefix, answer in ANSWER_FOR.items():
        if field == prefix or field.startswith(prefix + "."):
            return answer
    return None


def error_lines(root: Path, package: str) -> list[str]:
    """One line per problem, naming the answer to change (local_extensions/trial_render.py
    runs this on a trial render before generation)."""
    lines = []
    for problem in validate_config(root, package):
        answer = answer_for(problem.field)
        fix = f"change the answer '{answer}'" if answer else "fix the answers"
        lines.append(f"error: {problem} ({fix} and generate again)")
    return lines


def main(root: Path, package: str) -> int:
    remove_empty_dirs(root)
    lines = error_lines(root, package)
    for line in lines:
        print(line, file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(Path(os.getcwd()), "{{ cookiecutter.package_name }}"))
