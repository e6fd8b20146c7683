"""The LLM endpoints a run will call, and one cheap call to each before the first row.

A judge or agent endpoint that is unreachable, refuses the key, does not know the model or is
failing would otherwise show up as hundreds of errored rows (or a run that retries for hours).
Each distinct endpoint gets one chat request asking for a single token, with a short timeout,
all in parallel; any answer but a success, a 400 (the endpoint is there and judged the tiny
request, e.g. a model that wants other parameters) or a 429 (there, only busy) stops the run
with the endpoint, the status, the provider's message and the setting to fix.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..config import EvalConfig
from ..config.ensemble import judge_models, offline_fix
from ..llm_endpoints import error_message, openai_auth_headers, openai_base_url
from ..scorer_catalog import SCORERS

PING = [{"role": "user", "content": "Reply with the word ok."}]
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 5.0, 10.0
AGENT_MODEL_ENV = "AGENT_LLM_MODEL"  # the sample agent's LLM mode (agent/support_agent.py)


@dataclass(frozen=True)
class LlmEndpoint:
    role: str  # what calls it: "judge" or "agent"
    setting: str  # where the model is chosen, named in every message
    model: str
    url: str | None  # None: known to be remote, but not probed (see `skipped`)
    fix: str  # what to check when it does not answer
    headers: dict = field(default_factory=dict, compare=False, repr=False)
    payload: dict = field(default_factory=dict, compare=False, repr=False)
    skipped: str | None = None

    @property
    def label(self) -> str:
        return f"{self.role} {self.model}"


def llm_scorers(config: EvalConfig) -> list[str]:
    return [s.name for s in config.scorers if SCORERS[s.type].needs_judge]


def endpoints_in_use(config: EvalConfig, agent_endpoint: str | None = None) -> list[LlmEndpoint]:
    """Every LLM endpoint the run calls: the judge model when LLM scorers run (and each scorer
    ensemble's models), the agent's serving endpoint, or the sample agent's model
    (AGENT_LLM_MODEL) when set."""
    # judge.model when LLM scorers run, each ensemble's models, a simulated user's model
    found = [judge_endpoint(m, setting) for m, setting in judge_models(config).items()]
    agent_endpoint = agent_endpoint or config.agent_endpoint
    if agent_endpoint:
        found.append(serving_endpoint(agent_endpoint))
    elif os.environ.get(AGENT_MODEL_ENV, "").strip():
        found.append(agent_model_endpoint(os.environ[AGENT_MODEL_ENV].strip()))
    return found


def judge_endpoint(model: str, setting: str = "judge.model") -> LlmEndpoint:
    # MLflow's simulated user calls its model the way a judge does
    role = "simulated user" if setting.startswith("agent.conversation") else "judge"
    if model == "databricks":
        return LlmEndpoint(
            role,
            setting,
            model,
            None,
            "",
            skipped="Databricks-managed judges are called through databricks-agents",
        )
    provider, _, name = model.partition(":/")
    key = f"{provider.upper()}_API_KEY"
    fix = (
        f"check {key}"
        + (" and OPENAI_API_BASE (an OpenAI-compatible server)" if provider == "openai" else "")
        + f", or {offline_fix(setting)} to run offline"
    )
    try:
        from mlflow.metrics.genai.model_utils import _get_provider_instance

        instance = _get_provider_instance(provider, name)
        url = instance.get_endpoint_url("llm/v1/chat")
        payload = instance.adapter_class.chat_to_model(
            {"messages": PING, "max_tokens": 1}, instance.config
        )
        return LlmEndpoint(role, setting, model, url, fix, dict(instance.headers or {}), payload)
    except Exception as err:  # noqa: BLE001 - MLflow names what the provider lacks
        return LlmEndpoint(
            role,
            setting,
            model,
            None,
            fix,
            skipped=f"MLflow cannot address it directly ({err})",
        )


def agent_model_endpoint(model: str) -> LlmEndpoint:
    base = openai_base_url()
    fix = (
        f"check {AGENT_MODEL_ENV}, OPENAI_API_BASE and OPENAI_API_KEY, "
        f"or unset {AGENT_MODEL_ENV} for offline answers"
    )
    name = model.removeprefix("openai:/")
    if not base:
        return LlmEndpoint(
            "agent", AGENT_MODEL_ENV, name, None, fix, skipped="no OPENAI_API_BASE is set"
        )
    payload = {"model": name, "messages": PING, "max_tokens": 1}
    return LlmEndpoint(
        "agent",
        AGENT_MODEL_ENV,
        name,
        f"{base.rstrip('/')}/chat/completions",
        fix,
        openai_auth_headers(),
        payload,
    )


def serving_endpoint(uri: str) -> LlmEndpoint:
    """A Databricks model-serving endpoint (endpoints:/name), called as a chat model."""
    name = uri.removeprefix("endpoints:/")
    fix = (
        "check agent.endpoint and the workspace credentials "
        "(DATABRICKS_HOST and DATABRICKS_TOKEN, or a profile)"
    )
    try:
        from databricks.sdk.core import Config

        workspace = Config()
        headers = workspace.authenticate()
        url = f"{workspace.host.rstrip('/')}/serving-endpoints/{name}/invocations"
    except Exception as err:  # noqa: BLE001 - no workspace configured or databricks-sdk missing
        return LlmEndpoint(
            "agent", "agent.endpoint", uri, None, fix, skipped=f"no workspace to reach ({err})"
        )
    return LlmEndpoint(
        "agent", "agent.endpoint", uri, url, fix, headers, {"messages": PING, "max_tokens": 1}
    )


def probe(endpoint: LlmEndpoint) -> str | None:
    """One request to the endpoint; None when it answered as a working endpoint does."""
    import requests

    try:
        response = requests.post(
            endpoint.url,
            json=endpoint.payload,
            headers=endpoint.headers,
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        )
    except requests.exceptions.Timeout:
        seen = f"did not answer within {CONNECT_TIMEOUT_S + READ_TIMEOUT_S:g} s"
    except requests.exceptions.ConnectionError as err:
        cause = "connection refused" if "refused" in str(err).lower() else type(err).__name__
        seen = f"cannot be reached ({cause})"
    except requests.exceptions.RequestException as err:
        seen = f"cannot be called ({type(err).__name__}: {err})"
    else:
        status = response.status_code
        if status < 300 or status in (400, 429):
            return None
        hint = {
            401: "the key was refused",
            403: "the key may not use it",
            404: f"the model {endpoint.model!r} or the URL is unknown there",
        }.get(status, "the endpoint is failing" if status >= 500 else "unexpected answer")
        seen = f"answered HTTP {status} ({hint}): {error_message(response)}"
    return f"{endpoint.setting} {endpoint.model!r}: {endpoint.url} {seen}; {endpoint.fix}"


def preflight(endpoints: list[LlmEndpoint]) -> list[str]:
    """Problems found by probing every probe-able endpoint at once; empty when all answered."""
    probed = [e for e in endpoints if e.url]
    if not probed:
        return []
    with ThreadPoolExecutor(max_workers=len(probed), thread_name_prefix="preflight") as pool:
        return [problem for problem in pool.map(probe, probed) if problem]
