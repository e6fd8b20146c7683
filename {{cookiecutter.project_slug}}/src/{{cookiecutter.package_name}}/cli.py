"""Command line: `evaluate` and `check-config`. Heavy imports wait until a command runs,
so `--help` answers at once.

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


def fail(message: str) -> None:
    """Exit 2 with the message; a message listing several problems gets one error line each."""
    click.echo("\n".join(f"error: {line}" for line in message.splitlines() or [""]), err=True)
    sys.exit(EXIT_ERROR)


def load(config_path: Path | None):
    from .config import ConfigError, find_config, load_config

    try:
        return load_config(config_path or find_config())
    except ConfigError as err:
        fail(str(err))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Evaluate the agent with MLflow GenAI and enforce quality gates."""


@cli.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate evaluation.yaml and the dataset it names, without running anything."""
    config = load(config_path)
    scorers = ", ".join(f"{s.name} ({s.type})" for s in config.scorers)
    click.echo(f"evaluation.yaml is valid: target {config.target}, scorers {scorers}")


@cli.group("judge-cache")
def judge_cache_group() -> None:
    """The local cache of LLM-judge verdicts (judge.cache_dir in evaluation.yaml)."""


@judge_cache_group.command("clear")
@config_option
def clear_judge_cache(config_path: Path | None) -> None:
    """Delete every cached verdict, so the next evaluation judges every row again."""
    from .evaluation.judge_cache import JudgeCache

    config = load(config_path)
    removed = JudgeCache(config.judge_cache_dir).clear()
    click.echo(f"Removed {removed} cached verdict(s) from {config.judge_cache_dir}")


@cli.command()
@config_option
@click.option("--run-name", default="evaluation", show_default=True, help="MLflow run name.")
@click.option(
    "--reports",
    "reports_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for gates.json and gates.md (default: reports/ in the project).",
)
@click.option("--no-judge-cache", is_flag=True, help="Judge every row again (judge.cache in evaluation.yaml).")
@click.option("-v", "--verbose", is_flag=True, help="Show MLflow's own log lines and progress bar.")
def evaluate(config_path: Path | None, run_name: str, reports_path: Path | None, no_judge_cache: bool,
             verbose: bool) -> None:
    """Run the agent on the dataset, score it, apply the quality gates, write the report."""
    if not verbose:  # read when MLflow is imported; the progress line says what matters
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    config = load(config_path)
    from .dataset import DatasetError
    from .evaluation.report import print_table, write_reports
    from .evaluation.run import RunAborted, reports_dir
    from .evaluation.run import evaluate as run_evaluation
    from .runtime import InfrastructureError

    folder = reports_path or reports_dir(config)
    try:
        report = run_evaluation(config, run_name=run_name, use_cache=not no_judge_cache,
                                verbose=verbose, echo=click.echo)
    except RunAborted as aborted:
        json_path, md_path = write_reports(aborted.report, folder)
        fail(f"the run was aborted: {aborted}\nPartial report: {md_path} and {json_path}; "
             f"MLflow run {aborted.report.run_id} is marked FAILED")
    except (DatasetError, InfrastructureError) as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - an MLflow or store failure is not a gate verdict
        fail(f"evaluation could not run: {type(err).__name__}: {err}")
    json_path, md_path = write_reports(report, folder)
    print_table(report)
    click.echo(f"Report: {md_path} and {json_path}")
    sys.exit(EXIT_PASS if report.passed else EXIT_GATE_FAILED)


{%- if cookiecutter.journey_regression %}


from .regression.commands import compare  # journeys register after the core commands

cli.add_command(compare)
{%- endif %}
{%- if cookiecutter.journey_profiling %}


from .profiling.commands import profile  # journeys register after the core commands

cli.add_command(profile)
{%- endif %}
{%- if cookiecutter.journey_tracing %}


from .tracing.commands import monitoring, tracing  # journeys register after the core commands

cli.add_command(tracing)
cli.add_command(monitoring)
{%- endif %}
{%- if cookiecutter.journey_align_optimize %}


from .align.commands import align, labels, optimize, promote, rollback  # journeys register last

for command in (labels, align, optimize, promote, rollback):
    cli.add_command(command)
{%- endif %}


def main() -> None:
    cli()
