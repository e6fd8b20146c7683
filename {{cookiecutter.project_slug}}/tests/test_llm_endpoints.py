"""LLM endpoint flow control, pre-flight probes and the concurrency decision, against the
loopback LLM test double."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import PROJECT
from llm_test_double import LlmTestDouble

from {{ cookiecutter.package_name }} import llm_endpoints
from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.evaluation import concurrency, preflight
from {{ cookiecutter.package_name }}.evaluation.judge_cache import JudgeCache
from {{ cookiecutter.package_name }}.evaluation.scorers import cached_judge

PAYLOAD = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def call_many(endpoint, url, count, workers=8):
    """`count` calls from `workers` threads; each result is the response or the exception."""

    def one(_):
        try:
            return endpoint.post(url, {}, PAYLOAD)
        except (Exception, llm_endpoints.EndpointDown) as err:  # noqa: BLE001 - the test reads them
            return err

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(count)))


def test_one_call_in_seven_failing_is_retried_until_every_call_succeeds():
    with LlmTestDouble(fail_every=7) as double:
        url = f"{double.base_url}/chat/completions"
        endpoint = llm_endpoints.Endpoint(url, llm_endpoints.Settings(max_in_flight=8))
        results = call_many(endpoint, url, 70)
    assert all(getattr(r, "status_code", None) == 200 for r in results)
    assert endpoint.down is None and endpoint.stats.failed == 0
    assert endpoint.stats.retries == double.counts["failed"] >= 10
    assert endpoint.stats.calls == double.counts["calls"] == 70 + endpoint.stats.retries


def test_http_429_pauses_every_caller_for_retry_after_and_lowers_the_calls_in_flight():
    with LlmTestDouble(rate_limit=5, retry_after_s=1) as double:
        url = f"{double.base_url}/chat/completions"
        endpoint = llm_endpoints.Endpoint(
            url, llm_endpoints.Settings(max_in_flight=16, max_retries=8)
        )
        results = call_many(endpoint, url, 24, workers=16)
        requests = list(double.requests)
    assert all(getattr(r, "status_code", None) == 200 for r in results)
    assert endpoint.stats.throttled == double.counts["throttled"] > 0
    assert endpoint.limit < 16  # halved on the first 429, not yet grown back to 16
    # Retry-After: 1 is honoured by every caller: after the first 429 nothing is sent for ~1 s.
    first = next(r["at"] for r in requests if r.get("throttled"))
    assert not [r for r in requests if first + 0.1 < r["at"] < first + 0.9]


def test_an_endpoint_that_keeps_failing_trips_the_breaker_quickly():
    with LlmTestDouble() as double:
        double.status = 503
        url = f"{double.base_url}/chat/completions"
        endpoint = llm_endpoints.Endpoint(url, llm_endpoints.Settings(max_in_flight=8))
        start = time.monotonic()
        results = call_many(endpoint, url, 40)
        seconds = time.monotonic() - start
    assert isinstance(endpoint.down, llm_endpoints.EndpointDown)
    assert "8 calls in a row failed, the last with HTTP 503" in endpoint.down.reason
    assert all(
        isinstance(r, (llm_endpoints.EndpointDown, llm_endpoints.EndpointFailed)) for r in results
    )
    assert sum(isinstance(r, llm_endpoints.EndpointDown) for r in results) >= 30  # not sent at all
    assert double.counts["calls"] < 20 and seconds < 10


def test_a_request_error_is_not_an_outage():
    with LlmTestDouble() as double:
        double.status = 400  # this request's fault: the row errors, the endpoint is fine
        url = f"{double.base_url}/chat/completions"
        endpoint = llm_endpoints.Endpoint(url, llm_endpoints.Settings())
        results = call_many(endpoint, url, 20)
    assert [r.status_code for r in results] == [400] * 20
    assert endpoint.down is None and double.counts["calls"] == 20 and endpoint.stats.retries == 0


def test_a_hung_endpoint_times_out_per_call():
    with LlmTestDouble(latency_s=2) as double:
        url = f"{double.base_url}/chat/completions"
        endpoint = llm_endpoints.Endpoint(url, llm_endpoints.Settings(max_retries=0, timeout_s=0.3))
        start = time.monotonic()
        with pytest.raises(llm_endpoints.EndpointFailed, match=r"no answer within 0\.3 s"):
            endpoint.post(url, {}, PAYLOAD)
        assert time.monotonic() - start < 1.5


@pytest.mark.parametrize(
    "status, says",
    [
        (401, "answered HTTP 401 (the key was refused): test double answers 401"),
        (404, "answered HTTP 404 (the model 'openai:/test-judge' or the URL is unknown there)"),
        (500, "answered HTTP 500 (the endpoint is failing)"),
    ],
)
def test_preflight_names_the_endpoint_the_status_and_the_fix(monkeypatch, status, says):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with LlmTestDouble() as double:
        double.status = status
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        endpoint = preflight.judge_endpoint("openai:/test-judge")
        (problem,) = preflight.preflight([endpoint])
    assert problem.startswith(
        f"judge.model 'openai:/test-judge': {double.base_url}/chat/completions {says}"
    )
    assert problem.endswith(
        "check OPENAI_API_KEY and OPENAI_API_BASE (an OpenAI-compatible server), "
        "or set judge.model to none to run offline"
    )


def test_preflight_names_an_unreachable_or_silent_endpoint(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with LlmTestDouble() as double:
        closed = double.base_url
    monkeypatch.setenv("OPENAI_API_BASE", closed)
    (problem,) = preflight.preflight([preflight.judge_endpoint("openai:/test-judge")])
    assert f"{closed}/chat/completions cannot be reached (connection refused)" in problem
    monkeypatch.setattr(preflight, "READ_TIMEOUT_S", 0.3)
    with LlmTestDouble(latency_s=2) as double:
        monkeypatch.setenv("AGENT_LLM_MODEL", "agent-model")
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        start = time.monotonic()
        (problem,) = preflight.preflight([preflight.agent_model_endpoint("agent-model")])
        assert time.monotonic() - start < 2
    assert problem.startswith(
        f"AGENT_LLM_MODEL 'agent-model': {double.base_url}/chat/completions did not answer within"
    )
    assert "unset AGENT_LLM_MODEL for offline answers" in problem


def test_a_working_endpoint_passes_preflight_with_one_tiny_request(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with LlmTestDouble() as double:
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        assert preflight.preflight([preflight.judge_endpoint("openai:/test-judge")]) == []
        (request,) = double.requests
    assert request["body"]["model"] == "test-judge" and request["body"]["max_tokens"] == 1


def remote_config(write_config, **changes):
    return load_config(
        write_config(
            judge__model="openai:/test-judge",
            scorers={"safety": {}, "pii": {}},
            quality_gates={"safety": 1.0},
            **changes,
        )
    )


def test_concurrency_follows_what_the_run_calls(write_config, monkeypatch):
    for name in concurrency.MLFLOW_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    offline = load_config(PROJECT / "evaluation.yaml")
    if offline.uses_judge:  # a render with an LLM judge: take it offline
        offline = load_config(
            write_config(judge__model="none", scorers={"pii": {}}, quality_gates={"pii": 1.0})
        )
    local = concurrency.decide(offline, [])
    assert (local.max_workers, local.max_scorer_workers) == (2, 2)
    assert "local agent and code scorers only" in local.describe() and "\n" not in local.describe()

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    remote = remote_config(write_config)
    endpoints = [preflight.judge_endpoint("openai:/test-judge")]
    plan = concurrency.decide(remote, endpoints)
    assert (plan.max_workers, plan.max_scorer_workers) == (32, 2)
    assert "waits on judge openai:/test-judge" in plan.describe()
    environment = plan.environment()
    assert environment["MLFLOW_GENAI_EVAL_SCORER_RATE_LIMIT"] == "0"  # code scorers never throttled
    assert int(environment["MLFLOW_SQLALCHEMYSTORE_POOL_SIZE"]) > 3 * 32  # every writer thread

    explicit = concurrency.decide(
        remote_config(write_config, concurrency__max_workers=4), endpoints
    )
    assert (
        explicit.max_workers == 4 and "concurrency.max_workers from evaluation.yaml" in explicit.why
    )
    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", "3")
    exported = concurrency.decide(remote, endpoints)
    assert exported.environment()["MLFLOW_GENAI_EVAL_MAX_WORKERS"] == "3"
    assert "from the environment: MLFLOW_GENAI_EVAL_MAX_WORKERS" in exported.why


def test_the_old_scorer_rate_limit_setting_says_what_replaced_it(write_config):
    from {{ cookiecutter.package_name }}.config import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"concurrency\.scorer_rate_limit: renamed; use concurrency\.llm_rate_limit",
    ):
        load_config(write_config(concurrency__scorer_rate_limit=5))
    with pytest.raises(
        ConfigError, match=r"concurrency\.max_workers: 'many' is not a thread count; use auto"
    ):
        load_config(write_config(concurrency__max_workers="many"))


def test_the_cache_judges_a_key_once_however_many_rows_ask_at_the_same_time(tmp_path):
    from mlflow.entities import AssessmentSource, Feedback

    from {{ cookiecutter.package_name }}.config import ScorerConfig

    calls, lock = [], threading.Lock()

    class SlowJudge:
        instructions = "judge it"

        def run(self, inputs, outputs, expectations, trace):
            with lock:
                calls.append(outputs)
            time.sleep(0.2)
            return Feedback(
                name="safety",
                value="yes",
                rationale=f"fine: {outputs}",
                source=AssessmentSource(source_type="LLM_JUDGE", source_id="openai:/m"),
            )

    cache = JudgeCache(tmp_path / "cache")
    scorer = cached_judge(SlowJudge(), ScorerConfig("safety", "safety"), "openai:/m", cache)
    answers = ["same answer"] * 12 + ["other answer"] * 4
    with ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = list(
            pool.map(
                lambda out: scorer.run(inputs={"q": 1}, outputs=out, expectations=None, trace=None),
                answers,
            )
        )
    assert sorted(calls) == ["other answer", "same answer"]  # one judge call per key
    assert cache.stats.misses == 2 and cache.stats.hits == 14
    assert {v.rationale for v in verdicts[:12]} == {"fine: same answer"}
    assert len(list((tmp_path / "cache").glob("*/*.json"))) == 2  # no entry lost
