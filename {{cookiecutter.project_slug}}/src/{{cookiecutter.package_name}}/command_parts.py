"""What every command shares: the --config and --reports options, the exit codes, `fail` and
loading the config. Each journey's commands.py imports these; cli.py only assembles the group.

Exit codes, for CI: 0 every gate passed, 1 a gate failed, 2 a config or infrastructure error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

EXIT_PASS, EXIT_GATE_FAILED, EXIT_ERROR = 0, 1, 2

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Path to evaluation.yaml (default: the nearest one from the current folder up).",
)


def reports_option(files: str):
    """--reports FOLDER, for the report files a command writes (named in the help)."""
    return click.option(
        "--reports",
        "reports_path",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"Folder for {files} (default: reports/ in the project).",
    )


def reports_folder(config, reports_path: Path | None = None) -> Path:
    """Where a command writes its reports: --reports, else reports/ beside evaluation.yaml."""
    return reports_path or config.root / "reports"


def fail(message: str) -> None:
    """Exit 2 with the message; a message listing several problems gets one error line each."""
    click.echo("\n".join(f"error: {line}" for line in message.splitlines() or [""]), err=True)
    sys.exit(EXIT_ERROR)


def exit_with(passed: bool) -> None:
    sys.exit(EXIT_PASS if passed else EXIT_GATE_FAILED)


def load(config_path: Path | None):
    from .config import ConfigError, find_config
    from .project import load_project

    try:
        return load_project(config_path or find_config())
    except ConfigError as err:
        fail(str(err))
