"""Where an evaluation's CPU goes, across all threads: inside MLflow's store, inside LLM calls
(HTTP and JSON), inside the agent's own code, inside scorers; the rest is MLflow's harness and
tracing (thread pools, span bookkeeping, the exporter). Only for benchmarks.

`CpuSplit().install(agent)` wraps those functions for the rest of the process. Each stretch of
thread CPU counts under the innermost wrapped call running on that thread (a store write made
while a span ends inside the agent counts as store), so the parts add up to the CPU of the
wrapped calls.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time

from store_cpu import store_methods  # a sibling script: benchmarks/ is on sys.path

STORE, LLM, AGENT, SCORERS = (
    "MLflow store",
    "LLM calls (HTTP, JSON)",
    "agent code and spans",
    "scorer code",
)


class CpuSplit:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def install(self, agent_callable: str) -> CpuSplit:
        from mlflow.genai.scorers.base import Scorer
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
        from requests import Session

        for name, method in store_methods():
            setattr(SqlAlchemyStore, name, self.wrap(method, STORE))
        Session.request = self.wrap(
            Session.request, LLM
        )  # every LLM call: the project's and MLflow's
        for cls in {Scorer, *_subclasses(Scorer)}:
            if "run" in vars(cls):  # what MLflow's harness calls on every scorer
                cls.run = self.wrap(vars(cls)["run"], SCORERS)
        module_name, _, name = agent_callable.partition(":")
        module = importlib.import_module(module_name)
        function = getattr(module, name)
        wrapped = self.wrap(function, AGENT)
        factory = getattr(function, "make_predict", None)
        if factory is not None:  # the runner builds predict per prompt version: wrap those too
            wrapped.make_predict = lambda *args, **kwargs: self.wrap(
                factory(*args, **kwargs), AGENT
            )
        setattr(module, name, wrapped)
        return self

    def wrap(self, function, bucket: str):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            stack = self._local.__dict__.setdefault("stack", [])
            now = time.thread_time()
            if stack:  # pause the caller's bucket
                self._add(stack[-1][0], now - stack[-1][1])
            stack.append([bucket, now])
            try:
                return function(*args, **kwargs)
            finally:
                now = time.thread_time()
                self._add(bucket, now - stack.pop()[1])
                if stack:
                    stack[-1][1] = now  # the caller's bucket runs again

        return timed

    def _add(self, bucket: str, seconds: float) -> None:
        with self._lock:
            self.seconds[bucket] = self.seconds.get(bucket, 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        return dict(self.seconds)


def _subclasses(cls) -> set:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def print_split(splits: dict[str, dict], rows: int) -> None:
    """CPU ms per row by bucket, one column per side."""
    sides = list(splits)
    print("  CPU ms per row, all threads:" + "".join(f"{side:>15s}" for side in sides))
    for bucket in (STORE, LLM, AGENT, SCORERS):
        print(
            f"    {bucket:<27s}"
            + "".join(f"{splits[s]['split'].get(bucket, 0.0) / rows * 1000:15.1f}" for s in sides)
        )
    rest = {s: splits[s]["cpu"] - sum(splits[s]["split"].values()) for s in sides}
    print(
        f"    {'MLflow harness and tracing':<27s}"
        + "".join(f"{rest[s] / rows * 1000:15.1f}" for s in sides)
    )
    print(f"    {'total':<27s}" + "".join(f"{splits[s]['cpu'] / rows * 1000:15.1f}" for s in sides))
