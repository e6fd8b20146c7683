"""Find evaluation runs by id or name, and fetch their traces in one query per run."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from .runtime import InfrastructureError

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
# How a run made by `evaluate` is told apart. MLflow tags every `mlflow.genai.evaluate` run with
# mlflow.runType; `compare` logs the agent_version param on each side it evaluates, and `evaluate`
# on its own never does (evaluation/run.py).
EVALUATE_RUN_TYPE = ("mlflow.runType", "genai_evaluate")
VERSION_PARAM = "agent_version"
PROMPT_PARAM = "agent_prompt_uri"
PARENT_TAG = "mlflow.parentRunId"  # evaluate starts a run of its own, never a nested one
MAX_LISTED = 10  # runs listed when a name is ambiguous


def resolve_run(experiment_id: str, ref: str | None = None):
    """A run by id, or the newest run with that name; with no ref, the newest finished run.

    Raises InfrastructureError naming what was looked for when nothing matches.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    if ref and RUN_ID.match(ref):
        try:
            return mlflow.get_run(ref)
        except MlflowException:
            pass  # a 32-hex run *name* is possible too
    filters = ["attributes.status = 'FINISHED'"]
    if ref:
        filters.append(f"attributes.run_name = '{ref.replace(chr(39), '')}'")
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=" and ".join(filters),
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if not runs:
        raise _not_found(experiment_id, ref)
    return runs[0]


def _not_found(experiment_id: str, ref: str | None) -> InfrastructureError:
    wanted = f"run {ref!r}" if ref else "a finished run"
    return InfrastructureError(
        f"no {wanted} in experiment {experiment_id}; run `evaluate` first or pass a run id"
    )


class AmbiguousRunError(InfrastructureError):
    """A run name that several finished runs share: which one is meant is the user's call."""

    def __init__(self, name: str, runs: list):
        self.name, self.runs = name, runs
        count = str(len(runs)) if len(runs) <= MAX_LISTED else f"more than {MAX_LISTED}"
        lines = [
            f"run name {name!r} matches {count} finished runs; pass the id of the one you mean "
            "(newest first):",
            *(f"  {describe_run(run)}" for run in runs[:MAX_LISTED]),
        ]
        if len(runs) > MAX_LISTED:
            lines.append("  ... and older ones (the MLflow UI lists every run)")
        super().__init__("\n".join(lines))


def describe_run(run) -> str:
    """A run as a person picks it from a list: id, start time (UTC) and what it evaluated."""
    started = datetime.fromtimestamp(run.info.start_time / 1000, tz=timezone.utc)
    when = f"{started:%Y-%m-%d %H:%M:%S} UTC"
    return f"{run.info.run_id}  started {when}  version: {run_version(run)}"


def run_version(run) -> str:
    """The agent version a run evaluated: `compare`'s description of it, else the prompt URI,
    with the prompt versions MLflow linked to the run (an alias names no version)."""
    params = run.data.params
    described = params.get(VERSION_PARAM) or params.get(PROMPT_PARAM) or "not recorded"
    linked = _linked_prompts(run.data.tags.get("mlflow.linkedPrompts"))
    return f"{described} ({linked})" if linked else described


def _linked_prompts(raw: str | None) -> str:
    import json

    try:
        prompts = json.loads(raw) if raw else []
        return ", ".join(f"prompt {p['name']} v{p['version']}" for p in prompts)
    except (ValueError, TypeError, KeyError):
        return ""


def resolve_one_run(experiment_id: str, ref: str):
    """A run by id, or the one finished run with that name.

    Raises AmbiguousRunError listing the runs when several finished runs share the name (a name
    is not an id: `evaluate` names every run "evaluation" by default), InfrastructureError when
    none has it.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    if RUN_ID.match(ref):
        try:
            return mlflow.get_run(ref)
        except MlflowException:
            pass  # a 32-hex run *name* is possible too
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=(
            f"attributes.status = 'FINISHED' and attributes.run_name = '{ref.replace(chr(39), '')}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=MAX_LISTED + 1,
        output_format="list",
    )
    if not runs:
        raise _not_found(experiment_id, ref)
    if len(runs) > 1:
        raise AmbiguousRunError(ref, runs)
    return runs[0]


def made_by_evaluate(run) -> bool:
    """An `evaluate` run: an mlflow.genai.evaluate run that is neither a side `compare`
    evaluated nor nested in another run."""
    tag, value = EVALUATE_RUN_TYPE
    return (
        run.data.tags.get(tag) == value
        and VERSION_PARAM not in run.data.params
        and PARENT_TAG not in run.data.tags
    )


def latest_evaluate_run(experiment_id: str):
    """The newest finished run `evaluate` made, under whatever run name it was given; the runs
    `compare` evaluates after it are passed over. InfrastructureError when there is none."""
    from mlflow.tracking import MlflowClient

    tag, value = EVALUATE_RUN_TYPE
    client, token = MlflowClient(), None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"attributes.status = 'FINISHED' and tags.`{tag}` = '{value}'",
            order_by=["attributes.start_time DESC"],
            max_results=100,
            page_token=token,
        )
        found = next((run for run in page if made_by_evaluate(run)), None)
        if found is not None:
            return found
        token = page.token
        if not token:
            raise InfrastructureError(
                f"no finished run made by `evaluate` in experiment {experiment_id} (runs "
                "evaluated for a comparison count only when named); run `evaluate` first or "
                "pass a run id or name"
            )


def run_traces(run, return_type: str = "pandas", include_spans: bool = True):
    """All traces of a run: one search_traces query, never one per trace. Without spans a trace
    has its assessments, tags and metadata but no request or response (about 3x cheaper)."""
    import mlflow

    return mlflow.search_traces(
        run_id=run.info.run_id,
        locations=[run.info.experiment_id],
        return_type=return_type,
        include_spans=include_spans,
    )
