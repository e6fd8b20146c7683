"""One live progress line for an evaluation, in place of MLflow's INFO lines and tqdm bar.

rows done/total, rows/s, LLM calls (retries included), judge-cache hits, retries, failed calls
and the time left. MLflow's harness counts a row when its scorers finished; its progress bar is
swapped, for the length of the run, for a sink that feeds this line (`verbose` keeps MLflow's
bar and its INFO logging instead). On a terminal the line redraws in place; elsewhere (CI) it is
printed once, at the end.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time

from .. import llm_endpoints

HARNESS_MODULE = "mlflow.genai.evaluation.harness"


class Progress:
    def __init__(self, total: int, cache=None, clock=time.monotonic):
        self.total = total
        self.done = 0
        self.cache = cache
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()

    def begin(self) -> None:
        """The first row starts now (rows/s leaves out the set-up before it)."""
        self._start = self._clock()

    def advance(self, rows: int = 1) -> None:
        with self._lock:
            self.done += rows

    def line(self) -> str:
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.done / elapsed
        calls = llm_endpoints.REGISTRY.totals()
        hits = self.cache.stats.hits if self.cache is not None else 0
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 and left else ("done" if not left else "-")
        return (
            f"rows {self.done}/{self.total} | {rate:.1f} rows/s | LLM calls {calls.calls} | "
            f"cache hits {hits} | retries {calls.retries} | failed calls {calls.failed} | "
            f"ETA {eta}"
        )


class _HarnessBar:
    """What MLflow's harness calls on its tqdm bar, fed into a Progress (and into MLflow's own
    bar, `shown`, with -v)."""

    def __init__(self, progress: Progress, shown=None):
        self.progress, self.shown = progress, shown
        progress.begin()

    @property
    def bar_format(self) -> str:
        return self.shown.bar_format if self.shown is not None else ""

    @bar_format.setter
    def bar_format(self, value: str) -> None:
        if self.shown is not None:
            self.shown.bar_format = value

    def update(self, n: int = 1) -> None:
        self.progress.advance(n)
        if self.shown is not None:
            self.shown.update(n)

    def refresh(self) -> None:
        if self.shown is not None:
            self.shown.refresh()

    def close(self) -> None:
        if self.shown is not None:
            self.shown.close()


@contextlib.contextmanager
def live_progress(progress: Progress, verbose: bool = False):
    """Count rows into `progress` for the block and show it as one live line on stderr; MLflow's
    INFO lines, its bar and what it prints to stdout (a run summary; litellm's notices) are
    hidden unless `verbose`, which shows them instead of the line."""
    import io

    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    harness = importlib.import_module(HARNESS_MODULE)
    bar = getattr(harness, "tqdm", None)
    harness.tqdm = lambda *args, **kwargs: _HarnessBar(
        progress, bar(*args, **kwargs) if verbose and bar is not None else None
    )
    if verbose:
        try:
            yield progress
        finally:
            harness.tqdm = bar
        return
    mlflow_logger = logging.getLogger("mlflow")
    level = mlflow_logger.level
    mlflow_logger.setLevel(logging.WARNING)
    console = Console(stderr=True)
    if not console.is_terminal:  # a CI log: the whole line, not cut at 80 columns
        console = Console(stderr=True, width=240)
    try:
        with (
            Live(
                get_renderable=lambda: Text(progress.line(), no_wrap=True, overflow="ellipsis"),
                console=console,
                refresh_per_second=4,
                transient=False,
            ),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            yield progress
    finally:
        if not console.is_terminal:  # the one line printed at the end gets its line break
            console.line()
        harness.tqdm = bar
        mlflow_logger.setLevel(level)
