"""Shared helpers: render the template in-process, with answers as a user would give them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULTS = json.loads((TEMPLATE / "cookiecutter.json").read_text())


def bake(output_dir: Path, **answers) -> Path:
    """Render with --no-input and the given answers; returns the project folder."""
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)
        )
    )


def cookiecutter_cli(output_dir: Path, *args: str, stdin: str | None = None):
    """The `cookiecutter` command on this template, as a user runs it (answers typed on `stdin`
    when given, else `--no-input` with the `key=value` args)."""
    no_input = [] if stdin is not None else ["--no-input"]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", *no_input, str(TEMPLATE), *args],
        cwd=output_dir,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def make(project: Path, *targets: str) -> subprocess.CompletedProcess:
    """A rendered project's Makefile target, with this virtualenv's Python as the user's."""
    return subprocess.run(
        ["make", "--no-print-directory", *targets, f"PYTHON={sys.executable}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def baked(tmp_path: Path):
    def _bake(**answers) -> Path:
        return bake(tmp_path, **answers)

    return _bake
