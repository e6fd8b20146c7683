"""Turn `agent:` in evaluation.yaml into the predict function MLflow calls."""

from __future__ import annotations

import importlib
import os

from ..config import EvalConfig
from ..runtime import InfrastructureError

PROMPT_ENV = "AGENT_PROMPT_URI"


def load_predict_fn(config: EvalConfig):
    import mlflow

    if config.agent_endpoint:
        return mlflow.genai.to_predict_fn(config.agent_endpoint)
    module_name, _, function_name = config.agent_callable.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise InfrastructureError(
            f"agent.callable {config.agent_callable!r} cannot be imported ({err}); "
            "check the module path and that the project is installed (`make install`)"
        ) from err
    # Undecorated, every span the agent opens would become a trace of its own.
    if not getattr(function, "__mlflow_traced__", False):
        function = mlflow.trace(function)
    return function


def prepare_prompt(config: EvalConfig) -> str | None:
    """Make the agent's system prompt resolvable and tell the agent where it is.

    An AGENT_PROMPT_URI already in the environment wins (for trying another version); the
    returned note says so.
    """
    if not config.prompt_name:
        return None
    if os.environ.get(PROMPT_ENV):
        return f"{PROMPT_ENV}={os.environ[PROMPT_ENV]} from the environment overrides agent.prompt"
    from ..agent.prompts import ensure_registered

    os.environ[PROMPT_ENV] = ensure_registered(config.prompt_name, config.prompt_alias)
    return None
