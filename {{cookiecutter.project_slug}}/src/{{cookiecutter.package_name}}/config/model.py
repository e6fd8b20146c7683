"""The typed, frozen configuration every command receives; journeys add their own sections
(config/<journey>.py) as optional fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..scorer_catalog import SCORERS
from .problems import CONFIG_FILE

COMMAND_LINE, ENVIRONMENT = "command line", "environment"  # where an override comes from
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"


@dataclass(frozen=True)
class ScorerConfig:
    name: str  # the assessment name MLflow logs, and the name gates use
    type: str  # a key of scorer_catalog.SCORERS
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentVersion:
    """One agent version to evaluate: a callable, an endpoint, a registered prompt (with the
    configured agent callable) or a prompt template file registered as a new version."""

    callable: str | None = None
    endpoint: str | None = None
    prompt: str | None = None
    prompt_file: str | None = None

    def describe(self) -> str:
        kind, value = next((k, v) for k, v in vars(self).items() if v)
        return f"{kind} {value}"


@dataclass(frozen=True)
class Overrides:
    """Settings given for one run, over evaluation.yaml (config/loader.py checks them)."""

    tracking_uri: str | None = None  # --tracking-uri
    environment_tracking_uri: str | None = None  # MLFLOW_TRACKING_URI, below --tracking-uri
    dataset: str | None = None  # --dataset: a JSONL file, from the working directory
    agent: str | None = None  # --agent: module:function or endpoints:/name
    cwd: Path = field(default_factory=Path.cwd)  # what relative paths and sqlite URIs start from


@dataclass(frozen=True)
class EvalConfig:
    root: Path
    target: str
    tracking_uri: str
    experiment: str
    judge_model: str
    agent_callable: str | None
    agent_endpoint: str | None
    prompt_name: str | None
    prompt_alias: str
    dataset_path: Path | None  # None when the dataset is a Unity Catalog table
    scorers: tuple[ScorerConfig, ...]
    quality_gates: dict[str, float]
    max_workers: int | None  # None: decided per run from what it calls (evaluation/concurrency.py)
    max_scorer_workers: int | None
    predict_rate_limit: float
    llm_rate_limit: float  # calls per second to each LLM endpoint; 0: none
    max_retries: int  # retries of a rate-limited or failing LLM call
    llm_timeout: float  # seconds one LLM call may take
    judge_cache: bool
    judge_cache_dir: Path
    uc_catalog: str
    uc_schema: str
    sql_warehouse_id: str
    reflection_model: str
    embedding_model: str
    journeys: dict[str, bool]
    # The journeys' sections, None when absent. Typed Any: their classes live in
    # config/<journey>.py, which exists only in projects generated with that journey and
    # imports this module.
    align_judge: Any = None  # align.AlignJudge
    align: Any = None  # align.AlignSettings
    regression: Any = None  # regression.RegressionSettings
    profiling: Any = None  # profiling.ProfilingSettings
    tracing: Any = None  # tracing.TracingSettings
    datasets: Any = None  # datasets.DatasetsSettings
    dataset_table: str | None = None  # catalog.schema.table, read through a SQL warehouse
    dataset_warehouse_id: str = ""
    dataset_source: str | None = None  # an MLflow evaluation dataset's name (dataset.source)
    agent_shape: str = "single_turn"  # agent.shape (config/agent_shape.py)
    conversation: Any = None  # agent_shape.ConversationSettings, for agent.shape multi_turn
    sqlite_wal: bool = True  # WAL journal and synchronous=NORMAL for a sqlite store (runtime.py)
    # Settings not taken from evaluation.yaml: setting -> the option or variable that gave it
    # ("mlflow.tracking_uri": "MLFLOW_TRACKING_URI", "dataset.path": "--dataset", ...).
    origins: dict[str, str] = field(default_factory=dict)

    def where(self, setting: str) -> tuple[str, str]:
        """(field, source) that name a setting in a message: the option or environment variable
        it came from, else its key in evaluation.yaml."""
        origin = self.origins.get(setting)
        if origin is None:
            return setting, CONFIG_FILE
        return origin, COMMAND_LINE if origin.startswith("--") else ENVIRONMENT

    @property
    def store_line(self) -> str:
        """The store in use and where it was chosen, as each command that opens it says."""
        origin = self.origins.get("mlflow.tracking_uri", CONFIG_FILE)
        return f"MLflow store: {self.resolved_tracking_uri} (from {origin})"

    @property
    def dataset_label(self) -> str:
        """Where the records come from, as messages name it."""
        if self.dataset_table:
            return f"table {self.dataset_table}"
        if self.dataset_source:
            return f"mlflow:{self.dataset_source}"
        path = self.dataset_path
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else path.name

    @property
    def uses_judge(self) -> bool:
        return any(SCORERS[s.type].needs_judge for s in self.scorers)

    def scorer(self, name: str) -> ScorerConfig:
        return next(s for s in self.scorers if s.name == name)

    @property
    def resolved_tracking_uri(self) -> str:
        """sqlite paths are relative to the project root, whatever the working directory."""
        prefix = "sqlite:///"
        if self.tracking_uri.startswith(prefix) and not self.tracking_uri.startswith(prefix + "/"):
            return prefix + str((self.root / self.tracking_uri[len(prefix) :]).resolve())
        return self.tracking_uri
