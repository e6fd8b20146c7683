"""Calls to LLM endpoints (the agent's model, the judges' model) as an evaluation needs them.

One `Endpoint` per distinct URL holds what the run knows about it: how many calls may be in
flight (halved on HTTP 429, grown again on success), a pause while the endpoint asked for one
(`Retry-After`), retries of transient failures with back-off, a per-call timeout, counters for
the progress line and the report, and a circuit breaker: after many failures in a row, or when
most recent calls failed, every call to it raises `EndpointDown`, which stops the run.

`EndpointDown` is a BaseException on purpose: MLflow's evaluation harness turns every Exception
raised by an agent or a scorer into an errored row and goes on; an endpoint that is down must
stop the run instead of producing hundreds of errored rows an hour later.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

# Statuses worth another try: the endpoint is busy or briefly unwell. Anything else (400, 401,
# 403, 404, ...) is the request's or the configuration's fault, and a retry would change nothing.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Answers that say the endpoint cannot serve this run at all (key refused, unknown model): they
# count towards the breaker. Other 4xx (400, 413, 422) concern one request: that row errors.
UNUSABLE_STATUSES = frozenset({401, 403, 404})
TRIP_AFTER_FAILURES_IN_A_ROW = 8
RECENT_WINDOW = 20
TRIP_SHARE_OF_RECENT = 0.8
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 8.0
MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After is honoured as 60 s; the breaker decides beyond


class EndpointDown(BaseException):  # a BaseException: see the module docstring
    """An endpoint failed so often that the run must stop; `reason` says what was seen."""

    def __init__(self, endpoint: str, reason: str):
        self.endpoint, self.reason = endpoint, reason
        super().__init__(f"{endpoint} is down: {reason}")


class EndpointFailed(RuntimeError):
    """One call failed for good: retries used up, or a status that no retry changes."""

    def __init__(self, endpoint: str, status: int | None, message: str):
        self.endpoint, self.status, self.message = endpoint, status, message
        where = f"HTTP {status}" if status else "no answer"
        super().__init__(f"{endpoint}: {where}: {message}")


@dataclass
class EndpointStats:
    calls: int = 0  # requests sent, retries included
    succeeded: int = 0
    retries: int = 0
    throttled: int = 0  # HTTP 429 answers
    failed: int = 0  # calls that failed for good (after their retries)


@dataclass
class Settings:
    max_in_flight: int = 8
    max_retries: int = 5
    timeout_s: float = 30.0
    rate_limit: float = 0.0  # calls per second; 0: none (429s still slow the run down)
    connect_timeout_s: float = 5.0


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_message(response) -> str:
    """The provider's own message from an error answer (OpenAI's {"error": {"message"}} and
    Databricks' {"message"} shapes), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:300] or response.reason or ""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error)[:300]
        return str(error)[:300]
    return str(body)[:300]


class Endpoint:
    def __init__(self, name: str, settings: Settings, clock=time.monotonic):
        self.name = name
        self.settings = settings
        self.stats = EndpointStats()
        self.down: EndpointDown | None = None
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = float(settings.max_in_flight)
        self._in_flight = 0
        self._paused_until = 0.0
        self._next_decrease = 0.0  # one halving per pause (or second), however many calls saw it
        self._failures_in_a_row = 0
        self._recent: deque[bool] = deque(maxlen=RECENT_WINDOW)  # True: the call failed
        self._rate = None
        if settings.rate_limit > 0:
            from mlflow.genai.evaluation.rate_limiter import RPSRateLimiter

            self._rate = RPSRateLimiter(settings.rate_limit)

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    def post(self, url: str, headers: dict, payload: dict):
        """POST `payload` as JSON; returns the final requests.Response (2xx, or a status no retry
        changes). Raises EndpointFailed when retries are used up, EndpointDown when it is down."""
        import requests

        session = _session()
        timeout = (self.settings.connect_timeout_s, self.settings.timeout_s)
        attempt = 0
        while True:
            self._acquire()
            status, message, wait, response = None, "", None, None
            try:
                response = session.post(
                    url,
                    headers={"Content-Type": "application/json", **headers},
                    json=payload,
                    timeout=timeout,
                )
                status = response.status_code
            except requests.exceptions.Timeout:
                message = (
                    f"no answer within {self.settings.timeout_s:g} s (concurrency.llm_timeout)"
                )
            except requests.exceptions.RequestException as err:
                message = f"cannot connect: {type(err).__name__}"
            finally:
                self._release()
            if status is not None and status < 400:
                self._succeeded()
                return response
            if status is not None:
                message = error_message(response)
                if status not in TRANSIENT_STATUSES:
                    self._failed(
                        f"HTTP {status}: {message}",
                        final=True,
                        endpoint_fault=status in UNUSABLE_STATUSES,
                    )
                    return response
            final = attempt >= self.settings.max_retries
            if status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                self._throttled(wait, final)
            else:
                self._failed(f"HTTP {status}: {message}" if status else message, final)
            if final:
                raise EndpointFailed(self.name, status, message)
            attempt += 1
            with self._cond:
                self.stats.retries += 1
            if wait is None:  # 429 without Retry-After, 5xx, timeouts: exponential back-off
                wait = random.uniform(0.5, 1.0) * min(
                    BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1)
                )
            self._sleep_unless_down(wait)

    # -- flow control --------------------------------------------------------------------------
    def _acquire(self) -> None:
        with self._cond:
            while True:
                if self.down is not None:
                    raise self.down
                now = self._clock()
                if now < self._paused_until:
                    self._cond.wait(self._paused_until - now)
                elif self._in_flight < self.limit:
                    self._in_flight += 1
                    self.stats.calls += 1
                    break
                else:
                    self._cond.wait(0.5)
        if self._rate is not None:
            self._rate.acquire()

    def _release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def _sleep_unless_down(self, seconds: float) -> None:
        deadline = self._clock() + seconds
        with self._cond:
            while self.down is None and self._clock() < deadline:
                self._cond.wait(deadline - self._clock())
            if self.down is not None:
                raise self.down

    def _succeeded(self) -> None:
        with self._cond:
            self.stats.succeeded += 1
            self._failures_in_a_row = 0
            self._recent.append(False)
            # Additive increase: about one more call in flight per `limit` successes.
            self._limit = min(float(self.settings.max_in_flight), self._limit + 1.0 / self._limit)

    def _throttled(self, retry_after: float | None, final: bool) -> None:
        with self._cond:
            self.stats.throttled += 1
            self.stats.failed += final
            now = self._clock()
            pause = min(MAX_RETRY_AFTER_S, retry_after) if retry_after is not None else 0.0
            if now >= self._next_decrease:
                self._limit = max(1.0, self._limit / 2)
                self._next_decrease = now + max(pause, 1.0)
            self._paused_until = max(self._paused_until, now + pause)

    def _failed(self, reason: str, final: bool, endpoint_fault: bool = True) -> None:
        with self._cond:
            if final:
                self.stats.failed += 1
            if not endpoint_fault:
                return
            self._failures_in_a_row += 1
            self._recent.append(True)
            if self.down is not None:
                return
            share = sum(self._recent) / len(self._recent)
            if self._failures_in_a_row >= TRIP_AFTER_FAILURES_IN_A_ROW:
                why = f"{self._failures_in_a_row} calls in a row failed, the last with {reason}"
            elif len(self._recent) == RECENT_WINDOW and share >= TRIP_SHARE_OF_RECENT:
                why = (
                    f"{sum(self._recent)} of the last {RECENT_WINDOW} calls failed, "
                    f"the last with {reason}"
                )
            else:
                return
            self.down = EndpointDown(self.name, why)
            self._cond.notify_all()


@dataclass
class Registry:
    """The endpoints one run calls, by name; `configure` starts a run with fresh state."""

    settings: Settings = field(default_factory=Settings)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: Settings) -> None:
        with self._lock:
            self.settings = settings
            self.endpoints = {}

    def get(self, name: str) -> Endpoint:
        with self._lock:
            if name not in self.endpoints:
                self.endpoints[name] = Endpoint(name, self.settings)
            return self.endpoints[name]

    def totals(self) -> EndpointStats:
        total = EndpointStats()
        for endpoint in list(self.endpoints.values()):
            for key in vars(total):
                setattr(total, key, getattr(total, key) + getattr(endpoint.stats, key))
        return total

    def down(self) -> EndpointDown | None:
        return next((e.down for e in list(self.endpoints.values()) if e.down is not None), None)


_local = threading.local()


def _session():
    """One HTTP session per thread: connections (and TLS handshakes) are reused across calls."""
    if not hasattr(_local, "session"):
        import requests

        _local.session = requests.Session()
    return _local.session


REGISTRY = Registry()  # one per process: the agent and the judges share what is known


BASE_URL_ENVS = ("OPENAI_API_BASE", "OPENAI_BASE_URL")  # the precedence MLflow's judges use


def openai_base_url() -> str | None:
    """The OpenAI-compatible endpoint from the environment (http://host:port/v1), if set."""
    return next((os.environ[name] for name in BASE_URL_ENVS if os.environ.get(name)), None)


def openai_auth_headers() -> dict[str, str]:
    """OPENAI_API_KEY as a bearer token, when set."""
    key = os.environ.get("OPENAI_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def chat_completion(base_url: str, payload: dict, headers: dict | None = None) -> dict:
    """An OpenAI-compatible chat completion through the endpoint's flow control; raises
    EndpointFailed (or EndpointDown) when it cannot be had."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    endpoint = REGISTRY.get(url)
    response = endpoint.post(url, headers or {}, payload)
    if response.status_code >= 400:
        raise EndpointFailed(url, response.status_code, error_message(response))
    return response.json()
