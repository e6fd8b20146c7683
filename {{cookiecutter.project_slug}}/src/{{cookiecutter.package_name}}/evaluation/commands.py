"""The core commands: `evaluate`, `check-config` and `judge-cache clear`. Heavy imports wait
until a command runs, so `--help` answers at once."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..command_parts import (
    agent_option,
    config_option,
    dataset_option,
    exit_with,
    fail,
    load,
    reports_folder,
    reports_option,
    show_next,
    tracking_uri_option,
)


@click.command("check-config")
@config_option
@tracking_uri_option
@dataset_option
@agent_option
def check_config(
    config_path: Path | None, tracking_uri: str | None, dataset: str | None, agent: str | None
) -> None:
    """Validate evaluation.yaml, the dataset it names and the agent callable (imported, its
    parameters checked against the dataset's inputs), without running anything."""
    config = load(config_path, tracking_uri, dataset, agent, check_agent=True)
    scorers = ", ".join(f"{s.name} ({s.type})" for s in config.scorers)
    click.echo(f"evaluation.yaml is valid: target {config.target}, scorers {scorers}")
    field, _ = config.where("agent.callable")
    if config.agent_callable:
        click.echo(f"Agent: {config.agent_callable} ({field}) imports and takes the inputs")
    click.echo(config.store_line)


@click.group("judge-cache")
def judge_cache() -> None:
    """The local cache of LLM-judge verdicts (judge.cache_dir in evaluation.yaml)."""


@judge_cache.command("clear")
@config_option
def clear_judge_cache(config_path: Path | None) -> None:
    """Delete every cached verdict, so the next evaluation judges every row again."""
    from .judge_cache import JudgeCache

    config = load(config_path)
    removed = JudgeCache(config.judge_cache_dir).clear()
    click.echo(f"Removed {removed} cached verdict(s) from {config.judge_cache_dir}")


@click.command()
@config_option
@click.option("--run-name", default="evaluation", show_default=True, help="MLflow run name.")
@reports_option("gates.json, gates.md and gates.html")
@click.option(
    "--no-judge-cache", is_flag=True, help="Judge every row again (judge.cache in evaluation.yaml)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show MLflow's own log lines and progress bar.")
@tracking_uri_option
@dataset_option
@agent_option
def evaluate(
    config_path: Path | None,
    run_name: str,
    reports_path: Path | None,
    no_judge_cache: bool,
    verbose: bool,
    tracking_uri: str | None,
    dataset: str | None,
    agent: str | None,
) -> None:
    """Run the agent on the dataset, score it, apply the quality gates, write the report.

    --dataset and --agent evaluate other records or another agent once, without editing
    evaluation.yaml; the quality gates and scorers stay as configured.
    """
    if not verbose:  # read when MLflow is imported; the progress line says what matters
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    config = load(config_path, tracking_uri, dataset, agent, check_agent=True)
    from ..dataset import DatasetError
    from ..runtime import InfrastructureError
    from .report import print_table, write_reports
    from .run import RunAborted
    from .run import evaluate as run_evaluation

    folder = reports_folder(config, reports_path)
    try:
        report = run_evaluation(
            config,
            run_name=run_name,
            use_cache=not no_judge_cache,
            verbose=verbose,
            echo=click.echo,
        )
    except RunAborted as aborted:
        json_path, md_path, _ = write_reports(aborted.report, folder)
        fail(
            f"the run was aborted: {aborted}\nPartial report: {md_path} and {json_path}; "
            f"MLflow run {aborted.report.run_id} is marked FAILED"
        )
    except (DatasetError, InfrastructureError) as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - an MLflow or store failure is not a gate verdict
        fail(f"evaluation could not run: {type(err).__name__}: {err}")
    json_path, md_path, html_path = write_reports(report, folder)
    print_table(report)
    show_next(config, [md_path, html_path, json_path], [("MLflow run", report.run_url)])
    exit_with(report.passed)
