"""The command line: one click group, assembled from each journey's commands.py. The pieces
they share (options, exit codes, `fail`) are in command_parts.py; nothing imports this module but
the entry points, so the import graph has no cycle (tests/test_layout.py checks it)."""

from __future__ import annotations

import click

{% if cookiecutter.journey_align_optimize -%}
from .align.commands import align, labels, optimize, promote, rollback
{% endif -%}
{% if cookiecutter.journey_datasets -%}
from .datasets.commands import dataset
{% endif -%}
from .evaluation.commands import check_config, evaluate, judge_cache
{%- if cookiecutter.journey_profiling %}
from .profiling.commands import profile
{%- endif %}
{%- if cookiecutter.journey_regression %}
from .regression.commands import compare
{%- endif %}
{%- if cookiecutter.journey_tracing %}
from .tracing.commands import monitoring, tracing
{%- endif %}

COMMANDS = [
    evaluate,
    check_config,
    judge_cache,
{%- if cookiecutter.journey_regression %}
    compare,
{%- endif %}
{%- if cookiecutter.journey_profiling %}
    profile,
{%- endif %}
{%- if cookiecutter.journey_tracing %}
    tracing,
    monitoring,
{%- endif %}
{%- if cookiecutter.journey_align_optimize %}
    labels,
    align,
    optimize,
    promote,
    rollback,
{%- endif %}
{%- if cookiecutter.journey_datasets %}
    dataset,
{%- endif %}
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Evaluate the agent with MLflow GenAI and enforce quality gates."""


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli()
