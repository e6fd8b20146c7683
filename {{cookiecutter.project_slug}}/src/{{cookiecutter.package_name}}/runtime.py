"""Process set-up shared by every command: offline hygiene, the MLflow version, the tracking
store."""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sqlite3
import sys
from importlib.metadata import PackageNotFoundError, version

from .config import EvalConfig
from .credentials import model_credentials_problem

# The APIs used here (mlflow.genai.evaluate with PIIDetection, RegexMatch and ResponseLength,
# search_traces(locations=...), the prompt registry on sqlite) were verified on 3.17.2.
# pyproject.toml pins the same floor; this check names the fix when an older one is installed.
MLFLOW_MIN = (3, 17, 2)

# Without these, MLflow reaches for the network at start-up and at the first judge call.
OFFLINE_DEFAULTS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_MODEL_CATALOG_URI": "",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}


class InfrastructureError(RuntimeError):
    """The environment cannot run the command (missing package, credentials, store)."""


class ProblemsError(ValueError):
    """Input that cannot be used, with every problem found; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def parse_version(text: str) -> tuple[int, ...]:
    """Leading numeric release parts: '3.18.0rc1' -> (3, 18, 0)."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def installed_mlflow() -> str | None:
    """The installed MLflow version (mlflow-skinny counts), or None: the one place it is read."""
    for name in ("mlflow-skinny", "mlflow"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def check_mlflow_version() -> str:
    installed = installed_mlflow()
    if installed is None:
        raise InfrastructureError("mlflow is not installed; run `make install`")
    if parse_version(installed) < MLFLOW_MIN:
        floor = ".".join(map(str, MLFLOW_MIN))
        raise InfrastructureError(
            f"mlflow {installed} is older than {floor}, which this project needs; "
            f"run `pip install 'mlflow>={floor}'`"
        )
    return installed


def apply_environment(config: EvalConfig) -> None:
    """Set up the process for the config's MLflow store: the offline defaults, and one line on
    stderr saying which store it is and where that was chosen (every command that opens the
    store calls this first)."""
    apply_offline_defaults()
    route_default_judge(config)
    announce_store(config)


JUDGE_DEFAULT_ENV = "MLFLOW_GENAI_JUDGE_DEFAULT_MODEL"


def route_default_judge(config: EvalConfig) -> None:
    """MLflow's judges make some calls of their own to its default judge model (openai:/
    gpt-4.1-mini off Databricks), whatever model they were given: a tool-call judge lists the
    agent's tools that way when no LLM span of the trace records them. Those calls go to the
    configured judge instead (the first of judge.model and the ensembles' models); a
    MLFLOW_GENAI_JUDGE_DEFAULT_MODEL the user set wins."""
    from .config.ensemble import judge_models

    judges = [m for m, where in judge_models(config).items() if not where.startswith("agent.")]
    if judges:
        os.environ.setdefault(JUDGE_DEFAULT_ENV, judges[0])


def apply_offline_defaults() -> None:
    """Environment MLflow reads at import or call time; the user's own settings win."""
    for key, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(key, value)


_ANNOUNCED: set[str] = set()  # store lines this process has printed


def announce_store(config: EvalConfig) -> None:
    """`MLflow store: <uri> (from <where>)` on stderr, once per process and store, so a user
    sees where the runs go (the environment's MLFLOW_TRACKING_URI included) and stdout keeps
    only what the command reports."""
    line = config.store_line
    if line not in _ANNOUNCED:
        _ANNOUNCED.add(line)
        print(line, file=sys.stderr, flush=True)


SQLITE_PREFIX = "sqlite:///"
_TUNED_STORES: set[str] = set()  # sqlite files this process opens in WAL mode


def tune_sqlite_store(config: EvalConfig) -> bool:
    """Write-ahead logging and synchronous=NORMAL on every connection to the sqlite store.

    MLflow commits each span, trace and assessment on its own; with the default rollback journal
    each commit syncs the file twice, and a reader (`mlflow ui`) blocks the writer. WAL syncs at
    checkpoints only and lets readers run beside the evaluation. What it buys depends on the
    disk's sync cost: 1.0-1.35x in benchmarks/throughput_benchmark.py on a VM disk. A power loss
    may drop the last commits, never corrupt the store. mlflow.sqlite_wal: false turns it off;
    other stores are untouched.
    """
    uri = config.resolved_tracking_uri
    if not (config.sqlite_wal and uri.startswith(SQLITE_PREFIX)):
        return False
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _TUNED_STORES.add(os.path.realpath(uri[len(SQLITE_PREFIX) :]))
    if not event.contains(Engine, "connect", _sqlite_pragmas):  # once per process
        event.listen(Engine, "connect", _sqlite_pragmas)
        atexit.register(checkpoint_sqlite_stores)
    return True


def checkpoint_sqlite_stores() -> None:
    """Fold the write-ahead log into the store file, so that mlflow.db alone (a CI cache, a copy)
    holds every run and trace even if a connection was left open."""
    for path in sorted(_TUNED_STORES):
        if not os.path.exists(path):
            continue
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=20)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError:  # another process holds it; the log keeps the data safe
            pass


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if os.path.realpath(path) not in _TUNED_STORES:
        return
    try:
        dbapi_connection.execute("PRAGMA journal_mode=WAL")  # kept in the file once set
    except sqlite3.OperationalError:  # another process holds the store: keep its journal mode
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # per connection; safe under WAL


def check_judge_credentials(config: EvalConfig) -> None:
    """Fail before evaluating when an LLM judge cannot be reached at all (exit 2, not 1)."""
    from .config.ensemble import judge_models, offline_fix

    # judge.model when LLM scorers run, ensemble members, a simulated user's model
    for model, setting in judge_models(config).items():
        problem = model_credentials_problem(setting, model)
        if problem:
            raise InfrastructureError(f"{problem}; or, to run offline, {offline_fix(setting)}")


def connect(config: EvalConfig):
    """Import MLflow, check its version, point it at the configured store and experiment."""
    apply_environment(config)
    check_mlflow_version()
    tune_sqlite_store(config)
    import mlflow

    mlflow.set_tracking_uri(config.resolved_tracking_uri)
    if config.target == "databricks":
        mlflow.set_registry_uri("databricks-uc")  # prompts live in Unity Catalog there
    try:
        experiment = mlflow.set_experiment(config.experiment)
    except Exception as err:  # any store failure is infrastructure, not a gate result
        raise InfrastructureError(
            f"cannot open experiment {config.experiment!r} ({config.store_line}): {err}"
        ) from err
    return mlflow, experiment
