"""Turn an agent version (evaluation.yaml `agent:`, or a version to compare) into the predict
function MLflow calls, with the agent's system prompt resolved in the prompt registry."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..config import AgentVersion, EvalConfig
from ..runtime import InfrastructureError

PROMPT_ENV = "AGENT_PROMPT_URI"  # how the agent learns which prompt version to load


@dataclass
class LoadedAgent:
    predict_fn: object
    prompt_uri: str | None  # the prompt version the agent will load, if it uses one
    notes: list[str]


def load_agent(config: EvalConfig, version: AgentVersion | None = None) -> LoadedAgent:
    """The configured agent, or `version` of it; sets AGENT_PROMPT_URI for the agent to read."""
    version = version or AgentVersion(callable=config.agent_callable, endpoint=config.agent_endpoint)
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
    if prompt_uri:
        os.environ[PROMPT_ENV] = prompt_uri
    return LoadedAgent(import_callable(version.callable or config.agent_callable), prompt_uri, notes)


def import_callable(reference: str):
    import mlflow

    module_name, _, function_name = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise InfrastructureError(
            f"agent callable {reference!r} cannot be imported ({err}); "
            "check the module path and that the project is installed (`make install`)"
        ) from err
    # Undecorated, every span the agent opens would become a trace of its own.
    if not getattr(function, "__mlflow_traced__", False):
        function = mlflow.trace(function)
    return function


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
        raise InfrastructureError("a prompt_file version needs agent.prompt.name in evaluation.yaml")
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
