"""What every command shares: the --config, --reports and one-run options, the exit codes,
`fail` and loading the config. Each journey's commands.py imports these; cli.py only assembles
the group.

Exit codes, for CI: 0 every gate passed, 1 a gate failed, 2 a config or infrastructure error.
"""

from __future__ import annotations

import os
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


# One-run overrides of evaluation.yaml, checked by its rules (config/loader.py apply_overrides).
tracking_uri_option = click.option(
    "--tracking-uri",
    metavar="URI",
    default=None,
    help="MLflow store for this run (default: MLFLOW_TRACKING_URI, else mlflow.tracking_uri).",
)
dataset_option = click.option(
    "--dataset",
    metavar="PATH",
    default=None,
    help="JSON Lines records to evaluate instead of dataset.path (or dataset.table).",
)
agent_option = click.option(
    "--agent",
    metavar="MODULE:FUNCTION|endpoints:/NAME",
    default=None,
    help="Agent to evaluate instead of agent.callable or agent.endpoint.",
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


def show_next(config, reports=(), links=()) -> None:
    """Where to look next, the last lines of a command: its report files, then the MLflow UI
    pages of what it ran or read (label, address; None when no address is known), and for a
    local store how to serve them."""
    if reports:
        *first, last = [str(path) for path in reports]
        click.echo("Report: " + (f"{', '.join(first)} and {last}" if first else last))
    known = [(label, url) for label, url in links if url]
    for label, url in known:
        click.echo(f"{label}: {url}")
    if known:
        from .ui_links import serve_command

        if command := serve_command(config):
            click.echo(f"MLflow UI: `{command}` serves these links")


def fail(message: str) -> None:
    """Exit 2 with the message; a message listing several problems gets one error line each."""
    click.echo("\n".join(f"error: {line}" for line in message.splitlines() or [""]), err=True)
    sys.exit(EXIT_ERROR)


def exit_with(passed: bool) -> None:
    sys.exit(EXIT_PASS if passed else EXIT_GATE_FAILED)


def load(
    config_path: Path | None,
    tracking_uri: str | None = None,
    dataset: str | None = None,
    agent: str | None = None,
    check_agent: bool = False,
):
    """The project's config for this command: evaluation.yaml, then MLFLOW_TRACKING_URI and
    the command's one-run options over it; exit 2 listing every problem. `check_agent` also
    imports the agent callable and checks its parameters against the dataset's inputs."""
    from .config import ConfigError, find_config
    from .config.model import TRACKING_URI_ENV, Overrides
    from .project import agent_problems, load_project

    overrides = Overrides(
        tracking_uri=tracking_uri,
        environment_tracking_uri=os.environ.get(TRACKING_URI_ENV),
        dataset=dataset,
        agent=agent,
    )
    try:
        config = load_project(config_path or find_config(), overrides)
        if check_agent and (problems := agent_problems(config)):
            raise ConfigError(problems)
    except ConfigError as err:
        fail(str(err))
    return config
