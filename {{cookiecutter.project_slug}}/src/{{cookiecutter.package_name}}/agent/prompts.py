"""The agent's system prompt: the bundled default and its home in the MLflow prompt registry.

The agent never uses DEFAULT_TEMPLATE directly. It loads the prompt named by a registry URI
(`prompts:/<name>@<alias>`), so a new prompt version can be evaluated, and later promoted by
moving the alias, without a code change. mlflow is imported inside the functions to keep
`import` of this module cheap for CLI start-up.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

# Text prompt in MLflow registry syntax, with the variables {query} and {context} written in
# double braces. Stripped so an editor's trailing blank lines do not become prompt versions.
DEFAULT_TEMPLATE = (Path(__file__).parent / "system_prompt.txt").read_text(encoding="utf-8").strip()

_LOAD_LOCK = threading.Lock()


def ensure_registered(name: str, alias: str = "production") -> str:
    """Make sure prompt `name` exists and has `alias`; return `prompts:/<name>@<alias>`.

    A prompt that does not exist yet is registered from DEFAULT_TEMPLATE and `alias` is pointed
    at that first version. An existing prompt is never changed: if it lacks `alias`, a
    RuntimeError says how to set it, because silently pointing the alias somewhere would decide
    which version is "production" on someone's behalf.
    """
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient()
    uri = f"prompts:/{name}@{alias}"
    if client.get_prompt(name) is None:
        version = mlflow.genai.register_prompt(
            name=name,
            template=DEFAULT_TEMPLATE,
            commit_message="Bundled default support-agent system prompt",
        ).version
        mlflow.genai.set_prompt_alias(name=name, alias=alias, version=version)
        return uri

    # MlflowClient.load_prompt (unlike mlflow.genai.load_prompt) does not link the prompt to an
    # active run or trace, and cache_ttl_seconds=0 reads the registry, not a stale cache.
    if client.load_prompt(uri, allow_missing=True, cache_ttl_seconds=0) is None:
        raise RuntimeError(
            f"Prompt '{name}' exists in the MLflow prompt registry but has no alias '{alias}'. "
            f"Point the alias at the version to use, e.g. "
            f"mlflow.genai.set_prompt_alias(name='{name}', alias='{alias}', version=<N>), "
            f"or use a prompt URI with an explicit version such as prompts:/{name}/<N>."
        )
    return uri


def load_system_prompt(uri: str):
    """Load the PromptVersion for `uri` once per process and registry.

    Caching matters because predict() runs for every evaluation row, in parallel threads, and
    mlflow.genai.load_prompt writes run links that MLflow documents as not thread-safe. The
    registry URI is part of the key so switching tracking stores (as tests do) cannot return
    a prompt from another store. Call `load_system_prompt.cache_clear()` to pick up an alias
    that was moved while the process runs. The cached object stays safe to use with
    mlflow.genai.optimize_prompts, which swaps templates by patching PromptVersion.template.
    """
    import mlflow

    # The lock makes parallel first calls load (and link) the prompt once, not once per thread.
    with _LOAD_LOCK:
        return _load_cached(mlflow.get_registry_uri(), uri)


@functools.lru_cache(maxsize=32)
def _load_cached(registry_uri: str, uri: str):
    import mlflow

    return mlflow.genai.load_prompt(uri)


load_system_prompt.cache_clear = _load_cached.cache_clear
