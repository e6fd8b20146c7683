"""Route MLflow's LLM-judge HTTP requests through this project's endpoint flow control.

MLflow 3.17's judges on gateway providers (openai:/, anthropic:/, ... and gateway:/) send each
chat request with `send_chat_request` in mlflow/genai/judges/adapters/utils.py: up to 10 retries
with back-off of up to 30 s for 429 and 5xx, `Retry-After` ignored, 300 s per request. A dead
judge then holds a run for hours. `route_judge_calls()` swaps that function, as
the gateway adapter sees it, for one with the same signature that sends through
`llm_endpoints` (adaptive in-flight limit, Retry-After, bounded retries, per-call timeout,
circuit breaker) and raises the same ChatCompletionError MLflow expects, so MLflow's own
handling (context-window pruning, structured-output fallback, error messages) is unchanged.

`route_judge_calls()` installs it for the rest of the process and is never undone: MLflow runs
each scorer in a helper thread with a timeout, and helper threads still running when a run is
aborted would otherwise fall back to MLflow's retries (measured: exit 3 minutes after the abort).

The Databricks-managed judge (`judge.model: databricks`) goes through databricks-agents, and
providers MLflow reaches through litellm keep litellm's retries; neither is routed here.
"""

from __future__ import annotations

from .. import llm_endpoints
from ..runtime import InfrastructureError

ADAPTER_MODULE = "mlflow.genai.judges.adapters.gateway_adapter"
VERIFIED_ON = "3.17"


def send_chat_request(endpoint: str, headers: dict, payload: dict, num_retries: int = 0) -> dict:
    """MLflow's send_chat_request, through the endpoint's flow control (which does the retrying,
    so `num_retries` is not used)."""
    from mlflow.genai.judges.adapters.utils import ChatCompletionError, is_context_window_error

    try:
        response = llm_endpoints.REGISTRY.get(endpoint).post(endpoint, headers, payload)
    except llm_endpoints.EndpointFailed as err:
        raise ChatCompletionError(status_code=err.status or 503, message=str(err)) from err
    if response.status_code >= 400:
        message = llm_endpoints.error_message(response)
        raise ChatCompletionError(
            status_code=response.status_code,
            message=message,
            is_context_window_error=response.status_code == 400
            and is_context_window_error(message),
        )
    return response.json()


def route_judge_calls() -> None:
    """From now on, judges' chat requests in this process go through llm_endpoints."""
    import importlib

    adapter = importlib.import_module(ADAPTER_MODULE)
    original = getattr(adapter, "send_chat_request", None)
    if original is send_chat_request:
        return
    if original is None:
        from mlflow.version import VERSION

        raise InfrastructureError(
            f"mlflow {VERSION} no longer sends judge requests through {ADAPTER_MODULE}."
            f"send_chat_request; this project was verified on mlflow {VERIFIED_ON}.x: "
            f"pin 'mlflow>=3.17.2,<3.18' or update evaluation/judge_calls.py"
        )
    adapter.send_chat_request = send_chat_request
