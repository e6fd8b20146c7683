"""How many rows and calls an evaluation keeps in flight, decided from what it calls.

A run whose agent and scorers are local code is CPU-bound: MLflow's store writes under one
interpreter lock, where more threads only contend (benchmarks/throughput_benchmark.py), so it
keeps 2 rows in flight. A run that waits on LLM endpoints (judges, a remote agent or the agent's
model) needs enough calls in flight to hide their latency behind the CPU work: 32 rows, and all
scorers of a row at once. Each endpoint then adapts on its own (llm_endpoints.py): fewer calls in
flight after an HTTP 429, more again on success. MLflow's own rate limiters stay off: they
throttle every scorer, code scorers included, and its automatic one sizes thread pools that
outgrow the sqlite store's connection pool. Values set in evaluation.yaml win over the decision,
and an MLFLOW_GENAI_EVAL_* variable set before the command started wins over both.

The store's connection pool is sized to the threads that write to it (predict and score pools,
the trace refresh pool, the main thread): with SQLAlchemy's default of 5 + 10 connections, 30
or more writer threads queue for a connection and time out, which is how MLflow's defaults
stall on a sqlite store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .. import llm_endpoints
from ..config import EvalConfig
from .preflight import LlmEndpoint, llm_scorers

LOCAL_WORKERS = 2
REMOTE_WORKERS = 32
MLFLOW_VARIABLES = (
    "MLFLOW_GENAI_EVAL_MAX_WORKERS",
    "MLFLOW_GENAI_EVAL_MAX_SCORER_WORKERS",
    "MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT",
    "MLFLOW_GENAI_EVAL_SCORER_RATE_LIMIT",
    "MLFLOW_GENAI_EVAL_MAX_RETRIES",
    "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE",
    "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW",
)
_APPLIED: dict[str, str] = {}  # what `apply` last set, to tell it from the user's own values


def user_environment() -> dict[str, str]:
    """The MLflow variables the user set (not this process): they win over any decision, and a
    second run in one process (compare's candidate) is not held to the first run's values."""
    return {
        name: os.environ[name]
        for name in MLFLOW_VARIABLES
        if name in os.environ and os.environ[name] != _APPLIED.get(name)
    }


@dataclass(frozen=True)
class ConcurrencyPlan:
    max_workers: int  # rows in flight (MLflow's predict and score pools)
    max_scorer_workers: int  # scorers of one row at once
    predict_rate_limit: float  # agent calls per second, MLflow's limiter; 0: none
    llm: llm_endpoints.Settings  # per endpoint: calls in flight, retries, timeout, rate
    why: str
    remote: bool  # the run waits on LLM endpoints

    def environment(self) -> dict[str, str]:
        user = user_environment()
        workers = int(user.get("MLFLOW_GENAI_EVAL_MAX_WORKERS", self.max_workers))
        writers = 3 * workers + 4  # predict, score and refresh pools, main thread
        decided = {
            "MLFLOW_GENAI_EVAL_MAX_WORKERS": str(self.max_workers),
            "MLFLOW_GENAI_EVAL_MAX_SCORER_WORKERS": str(self.max_scorer_workers),
            "MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": str(self.predict_rate_limit),
            "MLFLOW_GENAI_EVAL_SCORER_RATE_LIMIT": "0",
            # llm_endpoints retries; MLflow retrying the whole scorer on top would multiply waits.
            "MLFLOW_GENAI_EVAL_MAX_RETRIES": "0",
            "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": str(writers),
            "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": str(writers),
        }
        return {**decided, **user}

    def describe(self) -> str:
        line = (
            f"Concurrency: {self.max_workers} rows in flight, {self.max_scorer_workers} scorers "
            f"per row at once ({self.why})"
        )
        if self.remote:
            line += (
                f"; LLM calls: {self.llm.max_retries} retries, {self.llm.timeout_s:g} s timeout, "
                "fewer in flight after HTTP 429"
            )
        return line


def decide(config: EvalConfig, endpoints: list[LlmEndpoint]) -> ConcurrencyPlan:
    judges = llm_scorers(config) if config.uses_judge else []
    remote = [e.label for e in endpoints]
    if remote:
        auto, why = REMOTE_WORKERS, f"waits on {' and '.join(remote)}"
        auto_scorers = max(1, len(config.scorers))
    else:
        auto, why = LOCAL_WORKERS, "local agent and code scorers only (CPU-bound)"
        auto_scorers = LOCAL_WORKERS
    if judges and not any(e.role == "judge" for e in endpoints):
        why += f"; LLM scorers {', '.join(judges)}"
    workers = config.max_workers or auto
    scorer_workers = config.max_scorer_workers or auto_scorers
    explicit = [
        name
        for name, value in (
            ("max_workers", config.max_workers),
            ("max_scorer_workers", config.max_scorer_workers),
        )
        if value
    ]
    if explicit:
        why += f" (concurrency.{' and concurrency.'.join(explicit)} from evaluation.yaml)"
    overridden = sorted(user_environment())
    if overridden:
        why += f" (from the environment: {', '.join(overridden)})"
    settings = llm_endpoints.Settings(
        max_in_flight=workers * max(1, scorer_workers),
        max_retries=config.max_retries,
        timeout_s=config.llm_timeout,
        rate_limit=config.llm_rate_limit,
    )
    return ConcurrencyPlan(
        workers, scorer_workers, config.predict_rate_limit, settings, why, bool(remote)
    )


def apply(plan: ConcurrencyPlan) -> None:
    """Set MLflow's variables for the plan (before the store is opened) and reset endpoints."""
    user, environment = user_environment(), plan.environment()
    os.environ.update(environment)
    _APPLIED.update({name: value for name, value in environment.items() if name not in user})
    llm_endpoints.REGISTRY.configure(plan.llm)
