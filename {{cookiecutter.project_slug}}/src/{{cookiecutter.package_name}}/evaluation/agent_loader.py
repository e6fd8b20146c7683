"""Turn an agent version (evaluation.yaml `agent:`, or a version to compare) into the predict
function MLflow calls, with the agent's system prompt resolved in the prompt registry."""

from __future__ import annotations

import importlib
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
    module_name, _, function_name = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise InfrastructureError(
            f"agent callable {reference!r} cannot be imported ({err}); "
            "check the module path and that the project is installed (`make install`)"
        ) from err
    return traced(function)


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
