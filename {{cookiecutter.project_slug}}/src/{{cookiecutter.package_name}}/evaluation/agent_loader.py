"""Turn an agent version (evaluation.yaml `agent:`, or a version to compare) into the predict
function MLflow calls, with the agent's system prompt resolved in the prompt registry; and the
checks that an own agent can run at all (imports, parameters, prompt versions)."""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import AgentVersion, EvalConfig
from ..runtime import InfrastructureError

PROMPT_ENV = "AGENT_PROMPT_URI"  # set by a user, it overrides agent.prompt (default_prompt)


@dataclass
class LoadedAgent:
    predict_fn: object
    prompt_uri: str | None  # the prompt version the agent will load, if it uses one
    notes: list[str]


def load_agent(config: EvalConfig, version: AgentVersion | None = None) -> LoadedAgent:
    """The configured agent, or `version` of it, built for its prompt version.

    The prompt version is passed to the callable's factory (`predict.make_predict`, see
    agent/support_agent.py), never through the environment.
    """
    version = version or AgentVersion(
        callable=config.agent_callable, endpoint=config.agent_endpoint
    )
    if version.endpoint:
        import mlflow

        return LoadedAgent(mlflow.genai.to_predict_fn(version.endpoint), None, [])
    notes: list[str] = []
    if version.prompt or version.prompt_file:
        bootstrap_prompt(config)  # a fresh store gets agent.prompt before versions of it are read
    if version.prompt:
        check_prompt_exists(version.prompt)
        prompt_uri = version.prompt
    elif version.prompt_file:
        prompt_uri = register_prompt_file(config, config.root / version.prompt_file)
    else:
        prompt_uri, notes = default_prompt(config)
    reference = version.callable or config.agent_callable
    function = import_callable(reference)
    factory = getattr(function, "make_predict", None)
    if prompt_uri and factory is not None:
        return LoadedAgent(traced(factory(prompt_uri)), prompt_uri, notes)
    if version.prompt or version.prompt_file:
        raise InfrastructureError(
            f"agent callable {reference!r} cannot be given a prompt version: it has no "
            "`make_predict(prompt_uri)` factory (see agent/support_agent.py)"
        )
    if prompt_uri:
        notes.append(
            f"agent callable {reference} has no make_predict factory: agent.prompt "
            f"({prompt_uri}) is not passed to it"
        )
    return LoadedAgent(function, None, notes)


def import_callable(reference: str):
    try:
        return traced(find_callable(reference))
    except InfrastructureError as err:
        raise InfrastructureError(f"agent callable {err}") from err


# Where an own agent's module goes so that agent.callable finds it (README: Plug in your own
# agent): importable from wherever a command runs, as this package is after `make install`.
IMPORT_FIX = (
    f"put its module in src/{__package__.partition('.')[0]}/agent/ (or install its package) "
    "and run `make install`; see the README, Plug in your own agent"
)


def find_callable(reference: str):
    """The function `module.path:function` names, imported as it is (not yet traced)."""
    module_name, _, function_name = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except Exception as err:  # noqa: BLE001 - the module's own import error is the message
        raise InfrastructureError(
            f"{reference!r} cannot be imported ({type(err).__name__}: {err}); {IMPORT_FIX}"
        ) from err
    if not callable(function):
        kind = type(function).__name__
        raise InfrastructureError(f"{reference!r} is not a function: it is of type {kind}")
    return function


def parameter_problems(function, reference: str, records, label: str) -> list[tuple[str, str]]:
    """(problem, fix) for each way the dataset's inputs miss `function`'s parameters, which
    MLflow fills with each record's inputs as keyword arguments: a required parameter a record
    does not give, or an input key no parameter takes (unless the function takes **kwargs)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # no signature to read (a builtin): nothing to check
        return []
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    problems = []
    for p in parameters:
        if p.kind is p.POSITIONAL_ONLY and p.default is p.empty:
            problems.append(
                (
                    f"{reference} needs positional-only parameter {p.name!r}, which no input "
                    "can give: MLflow passes inputs by keyword",
                    "make it a keyword parameter",
                )
            )
        elif p.kind in keyword and p.default is p.empty:
            lacking = [r.line for r in records if p.name not in r.inputs]
            if lacking:
                where = in_records(lacking, len(records), label, gives=False)
                fix = f"add {p.name!r} to the inputs, or give the parameter a default"
                problems.append((f"{reference} needs parameter {p.name!r}, which {where}", fix))
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return problems
    names = {p.name for p in parameters if p.kind in keyword}
    for key in sorted({k for r in records for k in r.inputs} - names):
        giving = [r.line for r in records if key in r.inputs]
        where = in_records(giving, len(records), label, gives=True)
        fix = "rename the parameter or the input key, or let the function take **kwargs"
        problems.append((f"{reference} has no parameter {key!r}, which {where}", fix))
    return problems


def in_records(numbers: list[int], total: int, label: str, gives: bool) -> str:
    """Which records give (or lack) an input key: 'every record of data/x.jsonl gives in its
    inputs', 'data/x.jsonl does not give in the inputs of lines 1, 4 and 9'."""
    if len(numbers) == total:
        return f"{'every' if gives else 'no'} record of {label} gives in its inputs"
    verb = "gives" if gives else "does not give"
    if len(numbers) == 1:
        return f"{label} {verb} in the inputs of line {numbers[0]}"
    shown = ", ".join(map(str, numbers[:3]))
    if len(numbers) > 3:
        return f"{label} {verb} in the inputs of lines {shown} and {len(numbers) - 3} more"
    head, _, last = shown.rpartition(", ")
    return f"{label} {verb} in the inputs of lines {head} and {last}"


def prompt_version_problem(config: EvalConfig, versions: list[AgentVersion]) -> str | None:
    """Why the prompt versions `compare` would evaluate cannot reach the agent, or None.

    A prompt version reaches the agent only through agent.callable's `make_predict(prompt_uri)`
    factory: an agent without one, or a serving endpoint, would answer alike for every version.
    """
    prompted = [v.describe() for v in versions if v.prompt or v.prompt_file]
    if not prompted:
        return None
    if config.agent_callable:
        if getattr(find_callable(config.agent_callable), "make_predict", None) is not None:
            return None
        agent = f"{config.where('agent.callable')[0]} {config.agent_callable}"
        reason = "it has no make_predict(prompt_uri) factory (see agent/support_agent.py)"
    else:
        agent = f"{config.where('agent.endpoint')[0]} {config.agent_endpoint}"
        reason = "a serving endpoint is not given a prompt"
    return (
        f"compare varies the prompt ({' and '.join(prompted)}) but {agent} cannot take a prompt "
        f"version: {reason}, so both runs would answer alike. Give the agent a make_predict "
        "factory (README: Plug in your own agent), or compare agents instead: --baseline and "
        "--candidate take module:function or endpoints:/name"
    )


def traced(function):
    """The function under @mlflow.trace: undecorated, every span the agent opens would become
    a trace of its own."""
    import mlflow

    if getattr(function, "__mlflow_traced__", False):
        return function
    return mlflow.trace(function)  # functools.wraps: a make_predict attribute carries over


def default_prompt(config: EvalConfig) -> tuple[str | None, list[str]]:
    """agent.prompt, registered from the bundled template on first use.

    An AGENT_PROMPT_URI already in the environment wins (for trying another version), and the
    report says so.
    """
    if config.prompt_name and os.environ.get(PROMPT_ENV):
        uri = os.environ[PROMPT_ENV]
        return uri, [f"{PROMPT_ENV}={uri} from the environment overrides agent.prompt"]
    return bootstrap_prompt(config), []


def bootstrap_prompt(config: EvalConfig) -> str | None:
    """agent.prompt's URI, registering the bundled template when the name is new."""
    if not config.prompt_name:
        return None
    from ..agent.prompts import ensure_registered

    return ensure_registered(config.prompt_name, config.prompt_alias)


def check_prompt_exists(uri: str) -> None:
    from mlflow import MlflowClient

    if MlflowClient().load_prompt(uri, allow_missing=True) is None:
        raise InfrastructureError(
            f"prompt {uri!r} is not in the prompt registry; register it or fix the version/alias"
        )


def register_prompt_file(config: EvalConfig, path: Path) -> str:
    """A template file as a version of agent.prompt: reuse the newest version when the text is
    the same, otherwise register a new one (so re-running a comparison adds no versions)."""
    import mlflow
    from mlflow import MlflowClient

    if not config.prompt_name:
        raise InfrastructureError(
            "a prompt_file version needs agent.prompt.name in evaluation.yaml"
        )
    template = path.read_text(encoding="utf-8").strip()
    versions = MlflowClient().search_prompt_versions(config.prompt_name)
    newest = max(versions, key=lambda v: int(v.version), default=None)
    if newest is not None and newest.template == template:
        return f"prompts:/{config.prompt_name}/{newest.version}"
    registered = mlflow.genai.register_prompt(
        name=config.prompt_name,
        template=template,
        commit_message=f"from {path.name}",
    )
    return f"prompts:/{config.prompt_name}/{registered.version}"
