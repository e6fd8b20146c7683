"""CPU time spent inside MLflow's tracking store, per store method, across all threads.

Only for benchmarks: `StoreCpu().install()` wraps every public method of MLflow's SQL store for
the rest of the process and adds each call's thread CPU time to that method. A store method
called by another one (start_trace reads the experiment) counts under the outer call only.
"""

from __future__ import annotations

import functools
import inspect
import threading
import time


class StoreCpu:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._inside = threading.local()

    def install(self) -> StoreCpu:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        for name, method in store_methods():
            setattr(SqlAlchemyStore, name, self._timed(name, method))
        return self

    def _timed(self, name: str, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            if getattr(self._inside, "active", False):  # nested: the outer call counts it
                return method(*args, **kwargs)
            self._inside.active, start = True, time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                spent = time.thread_time() - start
                self._inside.active = False
                with self._lock:
                    self.calls[name] = self.calls.get(name, 0) + 1
                    self.seconds[name] = self.seconds.get(name, 0.0) + spent

        return timed

    def as_dict(self) -> dict[str, list]:
        return {name: [self.calls[name], self.seconds[name]] for name in self.calls}


def store_methods() -> list[tuple[str, object]]:
    """(name, function) of every public instance method of MLflow's SQL store."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return [
        (name, method)
        for name in dir(SqlAlchemyStore)
        if not name.startswith("_")
        and inspect.isfunction(method := inspect.getattr_static(SqlAlchemyStore, name))
    ]
