"""Load and validate `evaluation.yaml`, the project's single configuration.

This module is the one source of truth for the rules: the CLI (`check-config`, `evaluate`) and
the template's post-generation hook both call `load_config`. It needs only PyYAML, so checking a
config never imports MLflow. Every problem is reported with its path in the file, its value and
the fix, all at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .dataset import DatasetError, load_records
from .scorer_catalog import EXPECTATION_KEYS, SCORERS

CONFIG_FILE = "evaluation.yaml"

TARGETS = ("local", "databricks")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # UC names without quoting or SQL metacharacters
SCORER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MODEL_URI = re.compile(r"^[a-z][a-z0-9_-]*:/[A-Za-z0-9][A-Za-z0-9._:/@-]*$")
CALLABLE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
ENDPOINT = re.compile(r"^endpoints:/[A-Za-z0-9][A-Za-z0-9_.-]*$")
WAREHOUSE_ID = re.compile(r"^[0-9a-f]{16}$")
# A user (e-mail), group name or service principal (application id): quoted with backticks in GRANTs.
PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,254}$")
LOCAL_PROMPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
DEFAULT_TRACKING_URI = {"local": "sqlite:///mlflow.db", "databricks": "databricks"}

JOURNEYS = ("regression", "profiling", "tracing", "align_optimize")
SCHEMA: dict[str, Any] = {
    "target": None,
    "mlflow": {"tracking_uri": None, "experiment": None, "sqlite_wal": None},
    "judge": {"model": None, "cache": None, "cache_dir": None},
    "agent": {"callable": None, "endpoint": None, "prompt": {"name": None, "alias": None}},
    "dataset": {"path": None, "table": None, "sql_warehouse_id": None},
    "scorers": None,  # free-form keys, checked per scorer
    "quality_gates": None,  # free-form keys, checked against scorers
    "concurrency": {
        "max_workers": None,
        "max_scorer_workers": None,
        "predict_rate_limit": None,
        "llm_rate_limit": None,
        "max_retries": None,
        "llm_timeout": None,
    },
    "unity_catalog": {"catalog": None, "schema": None, "sql_warehouse_id": None},
    "models": {"reflection": None, "embedding": None},
    "journeys": {name: None for name in JOURNEYS},
    "align": {
        "judge": {"name": None, "instructions": None, "feedback_type": None, "model": None},
        "label_schema": None,
        "labels": {"min_per_outcome": None, "holdout_fraction": None, "reviewers": None},
        "retrieval_k": None,
        "optimization": {"dataset": None, "optimizer": None, "max_metric_calls": None, "holdout_fraction": None},
    },
    "regression": {
        "baseline": {"callable": None, "endpoint": None, "prompt": None, "prompt_file": None},
        "candidate": {"callable": None, "endpoint": None, "prompt": None, "prompt_file": None},
        "tolerance": None,
        "max_regressed_rows": None,  # free-form keys: scorer names
        "fail_on_significant_drop": None,
        "alpha": None,
    },
    "profiling": {
        "budgets": None,  # free-form keys: <SPAN_TYPE or trace>.<statistic>
        "slowest_traces": None,
        "context_token_budget": None,
    },
    "tracing": {
        "experiment": None,
        "catalog": None,
        "schema": None,
        "table_prefix": None,
        "sql_warehouse_id": None,
        "judge_model": None,
        "monitors": None,  # free-form keys: monitor names
        "principals": None,
    },
}
# Settings that changed name or meaning: the message says what to write instead.
RENAMED = {
    "concurrency.scorer_rate_limit": (
        "renamed; use concurrency.llm_rate_limit (calls per second to each LLM endpoint, 0: none): "
        "a limit meant for judge calls no longer throttles code scorers"
    ),
}
PROMPT_URI = re.compile(r"^prompts:/[A-Za-z0-9][A-Za-z0-9_.-]*(/[0-9]+|@[A-Za-z][A-Za-z0-9_-]*)$")
# MLflow's span types (mlflow.entities.SpanType), listed here so config checks need no MLflow.
SPAN_TYPES = (
    "AGENT", "CHAIN", "CHAT_MODEL", "EMBEDDING", "EVALUATOR", "GUARDRAIL", "LLM", "MEMORY",
    "PARSER", "RERANKER", "RETRIEVER", "TASK", "TOOL", "UNKNOWN", "WORKFLOW",
)
LATENCY_STATS = ("mean_ms", "p50_ms", "p95_ms", "max_ms")
TOKEN_STATS = (
    "p50_input_tokens", "p95_input_tokens", "max_input_tokens",
    "p50_output_tokens", "p95_output_tokens", "p95_total_tokens",
)
JUDGE_VARIABLES = {"inputs", "outputs", "expectations", "conversation", "trace"}  # make_judge's
JUDGE_FEEDBACK_TYPES = ("yes_no", "bool", "float")


class ConfigError(ValueError):
    """One or more problems in evaluation.yaml; `problems` holds one line each."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = [f"{source}: {p}" for p in problems]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ScorerConfig:
    name: str  # the assessment name MLflow logs, and the name gates use
    type: str  # a key of scorer_catalog.SCORERS
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlignJudge:
    name: str
    instructions: str
    feedback_type: str
    model: str | None  # None: judge.model

    @property
    def label_schema_name(self) -> str:
        # MLflow's align() pairs expert labels with a judge by name, so the two are one value.
        return self.name


PROMPT_OPTIMIZERS = ("gepa", "metaprompt")


@dataclass(frozen=True)
class AlignSettings:
    """The align-optimize-deploy journey's settings besides the judge (align: in the file)."""

    min_labels_per_outcome: int  # `align` needs this many expert labels of each outcome
    label_holdout_fraction: float  # labels kept out of alignment to measure agreement
    reviewers: tuple[str, ...]  # Databricks labeling session users
    retrieval_k: int  # MemAlign: similar labelled examples shown to the judge
    optimization_dataset: Path
    optimization_dataset_label: str  # the path as written, for messages
    optimizer: str  # one of PROMPT_OPTIMIZERS
    max_metric_calls: int  # GEPA's evaluation budget
    holdout_fraction: float  # records kept out of optimization; `promote` decides on them


@dataclass(frozen=True)
class AgentVersion:
    """One agent version to compare: a callable, an endpoint, a registered prompt (with the
    configured agent callable) or a prompt template file registered as a new version."""

    callable: str | None = None
    endpoint: str | None = None
    prompt: str | None = None
    prompt_file: str | None = None

    def describe(self) -> str:
        kind, value = next((k, v) for k, v in vars(self).items() if v)
        return f"{kind} {value}"


@dataclass(frozen=True)
class RegressionSettings:
    baseline: AgentVersion
    candidate: AgentVersion
    tolerance: float  # a numeric drop no larger than this is not a regression
    max_regressed_rows: dict[str, int]  # per scorer; scorers not listed are not limited
    fail_on_significant_drop: bool
    alpha: float


@dataclass(frozen=True)
class ProfilingSettings:
    budgets: dict[str, float]  # "RETRIEVER.p95_ms" -> 300.0; "trace.p95_input_tokens" -> 4000
    slowest_traces: int
    context_token_budget: int  # input tokens per LLM span above which context bloat is flagged


@dataclass(frozen=True)
class MonitorConfig:
    """A scorer run on a sample of production traces: a catalog scorer, or a custom @scorer."""

    name: str
    sample_rate: float  # share of traces scored, in (0, 1]
    type: str | None = None  # a key of scorer_catalog.SCORERS
    options: dict[str, Any] = field(default_factory=dict)
    scorer: str | None = None  # module.path:attribute of a custom @scorer


@dataclass(frozen=True)
class TracingSettings:
    experiment: str  # where production traces and the monitors live
    catalog: str
    schema: str
    table_prefix: str | None  # None: the older schema-linked tables (see tracing/plan.py)
    sql_warehouse_id: str  # "" until set (here, in unity_catalog or with --warehouse-id)
    judge_model: str | None  # the model of monitored LLM judges
    monitors: tuple[MonitorConfig, ...]
    principals: tuple[str, ...]  # who gets MODIFY and SELECT on the trace tables


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
    align_judge: AlignJudge | None = None
    align: AlignSettings | None = None
    regression: RegressionSettings | None = None
    profiling: ProfilingSettings | None = None
    tracing: TracingSettings | None = None
    dataset_table: str | None = None  # catalog.schema.table, read through a SQL warehouse
    dataset_warehouse_id: str = ""
    sqlite_wal: bool = True  # WAL journal and synchronous=NORMAL for a sqlite store (runtime.py)

    @property
    def dataset_label(self) -> str:
        """Where the records come from, as messages name it."""
        if self.dataset_table:
            return f"table {self.dataset_table}"
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


def is_uc_name(name: str) -> bool:
    """catalog.schema.name, each part a plain Unity Catalog identifier (safe to backtick-quote)."""
    parts = name.split(".") if isinstance(name, str) else []
    return len(parts) == 3 and all(IDENTIFIER.match(p) for p in parts)


def find_config(start: Path | None = None) -> Path:
    """evaluation.yaml in the given folder or the nearest parent, so commands work anywhere."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder / CONFIG_FILE
    raise ConfigError(CONFIG_FILE, [f"not found in {here} or its parents; run from the project"])


def load_config(path: Path | str, check_dataset: bool = True) -> EvalConfig:
    """Parse and validate; raise ConfigError listing every problem."""
    path = Path(path)
    source = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(source, [f"cannot read ({err.strerror})"]) from err
    except yaml.YAMLError as err:
        raise ConfigError(source, [f"not valid YAML: {err}".replace("\n", " ")]) from err
    checker = _Checker(raw if isinstance(raw, dict) else {}, path.parent.resolve(), check_dataset)
    if not isinstance(raw, dict):
        raise ConfigError(source, ["must be a mapping of settings (see the README)"])
    config = checker.run()
    if checker.problems:
        raise ConfigError(source, checker.problems)
    return config


class _Checker:
    def __init__(self, raw: dict, root: Path, check_dataset: bool):
        self.raw, self.root, self.check_dataset = raw, root, check_dataset
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def unknown_keys(self, node: Any, schema: dict, where: str = "") -> None:
        if not isinstance(node, dict):
            if where:
                self.problem(where, f"must be a mapping, not {node!r}")
            return
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if path in RENAMED:
                self.problem(path, RENAMED[path])
            elif key not in schema:
                close = difflib.get_close_matches(str(key), list(schema), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {sorted(schema)}"
                self.problem(path, f"unknown setting{hint}")
            elif isinstance(schema[key], dict) and value is not None:
                self.unknown_keys(value, schema[key], path)

    def text(self, dotted: str, default: str | None = None, required: bool = True) -> str | None:
        value = self.get(dotted, default)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(dotted, "is missing; set it in evaluation.yaml")
            return None if value is None else ""
        if not isinstance(value, str):
            self.problem(dotted, f"{value!r} must be a string")
            return None
        return value.strip()

    def warehouse_id(self, dotted: str, default: str = "") -> str:
        """A SQL warehouse id or "" (not set); a malformed one is a problem."""
        warehouse = self.text(dotted, default, required=False) or ""
        if warehouse and not WAREHOUSE_ID.match(warehouse):
            self.problem(dotted, f"{warehouse!r} is not a SQL warehouse id; use the 16 hex characters "
                                 "from the warehouse's connection details")
        return warehouse

    def fraction(self, dotted: str, default: float) -> float:
        """A share strictly between 0 and 1 (a significance level, a held-out share)."""
        value = self.number(dotted, default, 0, float)
        if not 0 < value < 1:
            self.problem(dotted, f"{value} must lie between 0 and 1 (e.g. {default})")
        return value

    def inside_project(self, dotted: str, label: str, example: str) -> Path | None:
        """A path setting resolved in the project; None (and a problem) when it leads outside."""
        path = (self.root / label).resolve()
        if not path.is_relative_to(self.root):
            self.problem(dotted, f"{label!r} leads outside the project; keep it in the project (e.g. {example})")
            return None
        return path

    def number(self, dotted: str, default: float, minimum: float, kind: type = int) -> Any:
        value = self.get(dotted, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(dotted, f"{value!r} is not a number; use a number >= {minimum}")
            return default
        if kind is int and value != int(value):
            self.problem(dotted, f"{value!r} must be a whole number")
            return default
        if value < minimum:
            self.problem(dotted, f"{value!r} is below {minimum}; use a number >= {minimum}")
            return default
        return kind(value)

    def model_uri(self, dotted: str, value: str | None) -> None:
        if value and not MODEL_URI.match(value):
            self.problem(dotted, f"{value!r} is not a model URI; use provider:/model, e.g. openai:/gpt-4.1-mini")

    def run(self) -> EvalConfig:
        self.unknown_keys(self.raw, SCHEMA)
        target, tracking_uri, experiment = self.check_target_and_store()
        judge = self.text("judge.model", "none") or "none"
        if judge not in ("none", "databricks"):
            self.model_uri("judge.model", judge)
        agent_callable, agent_endpoint = self.check_agent()
        prompt_name = self.text("agent.prompt.name", required=False)
        prompt_alias = self.text("agent.prompt.alias", "production", required=False) or "production"
        self.check_prompt(target, prompt_name, prompt_alias)
        uc_catalog, uc_schema, warehouse = self.check_unity_catalog(target)
        reflection = self.text("models.reflection", "", required=False) or ""
        embedding = self.text("models.embedding", "", required=False) or ""
        self.model_uri("models.reflection", reflection)
        self.model_uri("models.embedding", embedding)
        scorers = self.check_scorers(judge)
        gates = self.check_gates(scorers)
        dataset_path, dataset_table, dataset_warehouse = self.check_dataset_source(target, warehouse, scorers)

        journeys = {name: self.flag(f"journeys.{name}", False) for name in JOURNEYS}

        return EvalConfig(
            root=self.root,
            target=target,
            tracking_uri=tracking_uri,
            experiment=experiment,
            judge_model=judge,
            agent_callable=agent_callable or None,
            agent_endpoint=agent_endpoint or None,
            prompt_name=prompt_name or None,
            prompt_alias=prompt_alias,
            dataset_path=dataset_path,
            dataset_table=dataset_table,
            sqlite_wal=self.flag("mlflow.sqlite_wal", True),
            dataset_warehouse_id=dataset_warehouse,
            scorers=tuple(scorers),
            quality_gates=gates,
            max_workers=self.workers("concurrency.max_workers"),
            max_scorer_workers=self.workers("concurrency.max_scorer_workers"),
            llm_rate_limit=self.number("concurrency.llm_rate_limit", 0, 0, float),
            max_retries=self.number("concurrency.max_retries", 5, 0),
            llm_timeout=self.number("concurrency.llm_timeout", 30, 1, float),
            judge_cache=self.flag("judge.cache", True),
            judge_cache_dir=self.root / (self.text("judge.cache_dir", ".judge-cache", required=False) or ".judge-cache"),
            predict_rate_limit=self.number("concurrency.predict_rate_limit", 0, 0, float),
            uc_catalog=uc_catalog,
            uc_schema=uc_schema,
            sql_warehouse_id=warehouse,
            reflection_model=reflection,
            embedding_model=embedding,
            journeys=journeys,
            align_judge=self.check_align_judge(journeys["align_optimize"]),
            align=self.check_align_settings(journeys["align_optimize"], agent_callable, prompt_name),
            regression=self.check_regression(journeys["regression"], scorers, agent_callable),
            profiling=self.check_profiling(journeys["profiling"]),
            tracing=self.check_tracing(journeys["tracing"], judge, scorers,
                                       (uc_catalog, uc_schema, warehouse, experiment)),
        )

    def check_target_and_store(self) -> tuple[str, str, str]:
        target = self.text("target") or "local"
        if target not in TARGETS:
            self.problem("target", f"{target!r} is not a target; use one of {list(TARGETS)}")
            target = "local"
        tracking_uri = self.text("mlflow.tracking_uri", DEFAULT_TRACKING_URI[target]) or ""
        if target == "databricks" and not tracking_uri.startswith("databricks"):
            self.problem("mlflow.tracking_uri", f"{tracking_uri!r} must be 'databricks' (or databricks://<profile>) for target databricks")
        if target == "local" and not tracking_uri.startswith(("sqlite:///", "http://", "https://")):
            self.problem("mlflow.tracking_uri", f"{tracking_uri!r} is not a local store; use sqlite:///mlflow.db or an http(s):// MLflow server")
        experiment = self.text("mlflow.experiment") or ""
        if experiment and target == "databricks" and not experiment.startswith("/"):
            self.problem("mlflow.experiment", f"{experiment!r} must be a workspace path such as /Shared/{experiment} on Databricks")
        return target, tracking_uri, experiment

    def check_agent(self) -> tuple[str | None, str | None]:
        agent_callable = self.text("agent.callable", required=False)
        agent_endpoint = self.text("agent.endpoint", required=False)
        if bool(agent_callable) == bool(agent_endpoint):
            self.problem("agent", "set exactly one of agent.callable (module:function) and agent.endpoint (endpoints:/name)")
        if agent_callable and not CALLABLE.match(agent_callable):
            self.problem("agent.callable", f"{agent_callable!r} is not module.path:function")
        if agent_endpoint and not ENDPOINT.match(agent_endpoint):
            self.problem("agent.endpoint", f"{agent_endpoint!r} is not a serving endpoint URI; use endpoints:/<endpoint-name>")
        return agent_callable, agent_endpoint

    def check_unity_catalog(self, target: str) -> tuple[str, str, str]:
        uc_catalog = self.text("unity_catalog.catalog", required=target == "databricks") or ""
        uc_schema = self.text("unity_catalog.schema", required=target == "databricks") or ""
        for key, value in (("catalog", uc_catalog), ("schema", uc_schema)):
            if value and not IDENTIFIER.match(value):
                self.problem(f"unity_catalog.{key}", f"{value!r} is not a valid Unity Catalog name; use letters, digits and underscores, starting with a letter or underscore")
        return uc_catalog, uc_schema, self.warehouse_id("unity_catalog.sql_warehouse_id")

    def check_dataset_source(self, target: str, warehouse: str, scorers) -> tuple:
        """(dataset path, table, table's warehouse): a Unity Catalog table or the JSONL file."""
        dataset_table, dataset_warehouse = self.check_dataset_table(target, warehouse)
        dataset_path = None
        if not dataset_table:
            dataset_label = self.text("dataset.path") or "data/eval_dataset.jsonl"
            dataset_path = self.inside_project("dataset.path", dataset_label, "data/eval_dataset.jsonl")
            if dataset_path and self.check_dataset:
                self.check_dataset_fits(dataset_path, dataset_label, scorers)
        return dataset_path, dataset_table, dataset_warehouse

    def check_align_judge(self, required: bool) -> AlignJudge | None:
        if self.get("align") is None:
            if required:
                self.problem("align", "journeys.align_optimize is on; define align.judge (name, instructions, feedback_type)")
            return None
        name = self.text("align.judge.name") or ""
        if name and not SCORER_NAME.match(name):
            self.problem("align.judge.name", f"{name!r} must use lowercase letters, digits and '_'")
        label_schema = self.get("align.label_schema")
        if label_schema is not None and label_schema != name:
            self.problem("align.label_schema", f"{label_schema!r} must equal align.judge.name {name!r} (MLflow pairs labels with the judge by name); remove it, it is derived")
        instructions = self.text("align.judge.instructions") or ""
        used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", instructions))
        if instructions and not used & {"inputs", "outputs", "trace", "conversation"}:
            self.problem("align.judge.instructions", "must refer to what is judged with the template variables inputs, outputs, trace or conversation (in double braces)")
        for variable in sorted(used - JUDGE_VARIABLES):
            self.problem("align.judge.instructions", f"'{variable}' is not a judge template variable; use {sorted(JUDGE_VARIABLES)}")
        feedback_type = self.text("align.judge.feedback_type", "yes_no") or "yes_no"
        if feedback_type not in JUDGE_FEEDBACK_TYPES:
            self.problem("align.judge.feedback_type", f"{feedback_type!r} must be one of {list(JUDGE_FEEDBACK_TYPES)}")
        model = self.text("align.judge.model", required=False) or None
        self.model_uri("align.judge.model", model if model not in (None, "databricks") else None)
        return AlignJudge(name, instructions, feedback_type, model)

    def check_align_settings(self, journey_on: bool, agent_callable: str | None, prompt_name: str | None) -> AlignSettings | None:
        if self.get("align") is None:
            return None  # check_align_judge reports a missing section
        if journey_on and not (agent_callable and prompt_name):
            self.problem("agent", "journeys.align_optimize optimizes the agent's prompt; set agent.callable and agent.prompt.name")
        reviewers = self.get("align.labels.reviewers", []) or []
        if not isinstance(reviewers, list) or not all(isinstance(r, str) and r.strip() for r in reviewers):
            self.problem("align.labels.reviewers", f"{reviewers!r} must be a list of user names (e-mail addresses on Databricks)")
            reviewers = []
        optimizer = self.text("align.optimization.optimizer", "gepa") or "gepa"
        if optimizer not in PROMPT_OPTIMIZERS:
            self.problem("align.optimization.optimizer", f"{optimizer!r} must be one of {list(PROMPT_OPTIMIZERS)}")
        example = "data/optimization_dataset.jsonl"
        label = self.text("align.optimization.dataset", example) or example
        path = self.inside_project("align.optimization.dataset", label, example)  # `optimize` checks it exists
        return AlignSettings(
            min_labels_per_outcome=self.number("align.labels.min_per_outcome", 5, 2),
            label_holdout_fraction=self.fraction("align.labels.holdout_fraction", 0.3),
            reviewers=tuple(r.strip() for r in reviewers),
            retrieval_k=self.number("align.retrieval_k", 5, 1),
            optimization_dataset=path,
            optimization_dataset_label=label,
            optimizer=optimizer,
            max_metric_calls=self.number("align.optimization.max_metric_calls", 100, 1),
            holdout_fraction=self.fraction("align.optimization.holdout_fraction", 0.3),
        )

    def workers(self, dotted: str) -> int | None:
        """A thread count, or None for `auto` (or not set): decided per run."""
        value = self.get(dotted)
        if value in (None, "auto"):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(dotted, f"{value!r} is not a thread count; use auto or a whole number >= 1")
            return None
        return value

    def flag(self, dotted: str, default: bool) -> bool:
        value = self.get(dotted, default)
        if not isinstance(value, bool):
            self.problem(dotted, f"{value!r} must be true or false")
            return default
        return value

    def mapping(self, dotted: str, example: str) -> dict:
        """An optional mapping setting; anything else is reported with an example."""
        value = self.get(dotted, {}) or {}
        if not isinstance(value, dict):
            self.problem(dotted, f"must be a mapping such as {example}")
            return {}
        return value

    def section(self, name: str, journey_on: bool) -> bool:
        """Whether to validate an optional journey section; a journey that is on needs one."""
        if self.get(name) is None:
            if journey_on:
                self.problem(name, f"journeys.{name} is on; add the {name} section (see the README)")
            return False
        return True

    def check_agent_version(self, where: str, has_callable: bool) -> AgentVersion:
        raw = self.get(where)
        if not isinstance(raw, dict):
            self.problem(where, "set one of callable, endpoint, prompt, prompt_file")
            return AgentVersion()
        version = AgentVersion(**{k: self.text(f"{where}.{k}", required=False) or None for k in vars(AgentVersion())})
        chosen = [k for k, v in vars(version).items() if v]
        if len(chosen) != 1:
            self.problem(where, f"set exactly one of callable, endpoint, prompt, prompt_file (found {chosen or 'none'})")
            return version
        if version.callable and not CALLABLE.match(version.callable):
            self.problem(f"{where}.callable", f"{version.callable!r} is not module.path:function")
        if version.endpoint and not ENDPOINT.match(version.endpoint):
            self.problem(f"{where}.endpoint", f"{version.endpoint!r} is not endpoints:/<endpoint-name>")
        if version.prompt and not PROMPT_URI.match(version.prompt):
            self.problem(f"{where}.prompt", f"{version.prompt!r} is not a prompt URI; use prompts:/<name>/<version> or prompts:/<name>@<alias>")
        if version.prompt_file:
            path = (self.root / version.prompt_file).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                self.problem(f"{where}.prompt_file", f"{version.prompt_file!r} is not a file in the project")
        if (version.prompt or version.prompt_file) and not has_callable:
            self.problem(where, "a prompt version needs agent.callable (the agent that loads the prompt)")
        return version

    def check_regression(self, journey_on: bool, scorers: list[ScorerConfig], agent_callable: str | None) -> RegressionSettings | None:
        if not self.section("regression", journey_on):
            return None
        names = {s.name for s in scorers}
        limits = self.mapping("regression.max_regressed_rows", "safety: 0 (scorer name: largest number of regressed rows)")
        checked = {}
        for name, limit in limits.items():
            where = f"regression.max_regressed_rows.{name}"
            if name not in names:
                self.problem(where, f"no scorer named {name!r}; limit one of {sorted(names)}")
            elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                self.problem(where, f"{limit!r} must be a whole number of rows, 0 or more")
            else:
                checked[name] = limit
        # A safety regression is never acceptable unless the config says otherwise.
        for scorer in scorers:
            if scorer.type == "safety":
                checked.setdefault(scorer.name, 0)
        return RegressionSettings(
            baseline=self.check_agent_version("regression.baseline", bool(agent_callable)),
            candidate=self.check_agent_version("regression.candidate", bool(agent_callable)),
            tolerance=self.number("regression.tolerance", 0.0, 0, float),
            max_regressed_rows=checked,
            fail_on_significant_drop=self.flag("regression.fail_on_significant_drop", True),
            alpha=self.fraction("regression.alpha", 0.05),
        )

    def check_profiling(self, journey_on: bool) -> ProfilingSettings | None:
        if not self.section("profiling", journey_on):
            return None
        raw = self.mapping("profiling.budgets", "RETRIEVER.p95_ms: 300")
        budgets = {}
        for key, limit in raw.items():
            where = f"profiling.budgets.{key}"
            scope, _, stat = str(key).partition(".")
            if scope != "trace" and scope not in SPAN_TYPES:
                close = difflib.get_close_matches(scope, [*SPAN_TYPES, "trace"], n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.problem(where, f"{scope!r} is not a span type; {hint}use one of {[*SPAN_TYPES, 'trace']}")
                continue
            if stat not in LATENCY_STATS + TOKEN_STATS:
                self.problem(where, f"{stat!r} is not a statistic; use one of {list(LATENCY_STATS + TOKEN_STATS)}")
                continue
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0:
                self.problem(where, f"{limit!r} must be a positive number")
                continue
            budgets[str(key)] = float(limit)
        return ProfilingSettings(
            budgets=budgets,
            slowest_traces=self.number("profiling.slowest_traces", 5, 1),
            context_token_budget=self.number("profiling.context_token_budget", 4000, 1),
        )

    def check_tracing(self, journey_on: bool, judge: str, scorers: list[ScorerConfig],
                      defaults: tuple[str, str, str, str]) -> TracingSettings | None:
        if not self.section("tracing", journey_on):
            return None
        uc_catalog, uc_schema, uc_warehouse, experiment = defaults
        names = {}
        for key, default in (("catalog", uc_catalog), ("schema", uc_schema), ("table_prefix", "")):
            value = self.text(f"tracing.{key}", default, required=False) or ""
            if value and not IDENTIFIER.match(value):
                self.problem(f"tracing.{key}", f"{value!r} is not a Unity Catalog name; use letters, digits and '_' (it is quoted into GRANT statements)")
            names[key] = value
        warehouse = self.warehouse_id("tracing.sql_warehouse_id", uc_warehouse)
        experiment = self.text("tracing.experiment", experiment, required=False) or experiment
        model = self.text("tracing.judge_model", required=False) or (judge if judge != "none" else None)
        if model and model != "databricks":
            self.model_uri("tracing.judge_model", model)
        principals = self.get("tracing.principals", []) or []
        if not isinstance(principals, list):
            self.problem("tracing.principals", "must be a list of users, groups or service principal ids")
            principals = []
        for principal in principals:
            if not isinstance(principal, str) or not PRINCIPAL.match(principal):
                self.problem("tracing.principals", f"{principal!r} is not a principal; use letters, digits, spaces and . _ @ + - (it is quoted into GRANT statements)")
        if len(set(map(str, principals))) != len(principals):
            self.problem("tracing.principals", "lists a principal twice")
        return TracingSettings(
            experiment=experiment,
            catalog=names["catalog"],
            schema=names["schema"],
            table_prefix=names["table_prefix"] or None,
            sql_warehouse_id=warehouse,
            judge_model=model,
            monitors=tuple(self.check_monitors(model, scorers)),
            principals=tuple(p for p in principals if isinstance(p, str) and PRINCIPAL.match(p)),
        )

    def check_monitors(self, model: str | None, scorers: list[ScorerConfig]) -> list[MonitorConfig]:
        """Production traces carry no expectations. What each platform runs is checked by the
        tracing plan, which knows the platform from the tracking URI."""
        configured = {s.name: s for s in scorers}
        monitors = []
        for name, raw in self.mapping("tracing.monitors", "safety: {sample_rate: 1.0}").items():
            where = f"tracing.monitors.{name}"
            if not isinstance(raw, dict) or not isinstance(name, str) or not SCORER_NAME.match(name):
                self.problem(where, "use name: {sample_rate: 0.5} (a name of lowercase letters, digits and '_')")
                continue
            options = dict(raw)
            rate = options.pop("sample_rate", None)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
                self.problem(f"{where}.sample_rate", f"{rate!r} must be a share of traces above 0 and at most 1")
                continue
            custom = options.pop("scorer", None)
            if custom is not None:
                if not isinstance(custom, str) or not CALLABLE.match(custom) or options:
                    self.problem(where, "a custom monitor is scorer: module.path:attribute (an @scorer) and sample_rate only")
                else:
                    monitors.append(MonitorConfig(name, float(rate), scorer=custom))
                continue
            reused = configured.get(name) if not options else None
            kind = reused.type if reused else options.pop("type", name)
            options = dict(reused.options) if reused else options
            spec = SCORERS.get(kind)
            if spec is None:
                self.problem(where, f"unknown scorer {kind!r}; choose from {sorted(SCORERS)} or set scorer: module:attribute")
                continue
            unknown = sorted(set(options) - set(spec.options)) + [k for k in spec.required_options if not options.get(k)]
            if unknown:
                self.problem(where, f"options {unknown} do not fit {kind}; it takes {sorted(spec.options) or 'none'}")
                continue
            if spec.applies_if_any:
                self.problem(where, f"{kind} needs expectations {list(spec.applies_if_any)}, which production traces do not carry; monitor a scorer that reads inputs and outputs only")
            elif spec.needs_judge and not model:
                self.problem(where, f"{kind} is an LLM judge; set tracing.judge_model (databricks on Databricks, gateway:/<endpoint> on an MLflow server)")
            else:
                monitors.append(MonitorConfig(name, float(rate), type=kind, options=options))
        return monitors

    def check_prompt(self, target: str, name: str | None, alias: str) -> None:
        if name:
            if target == "databricks" and not is_uc_name(name):
                self.problem("agent.prompt.name", f"{name!r} must be catalog.schema.name on Databricks (Unity Catalog prompt registry)")
            elif target == "local" and not LOCAL_PROMPT.match(name):
                self.problem("agent.prompt.name", f"{name!r} may use only letters, digits, '_', '-' and '.'")
        if not ALIAS.match(alias):
            self.problem("agent.prompt.alias", f"{alias!r} is not an alias; use letters, digits, '_' and '-'")

    def check_scorers(self, judge: str) -> list[ScorerConfig]:
        raw = self.get("scorers")
        if not isinstance(raw, dict) or not raw:
            self.problem("scorers", "choose at least one scorer, as a mapping of name: options")
            return []
        scorers = []
        for name, options in raw.items():
            where = f"scorers.{name}"
            options = {} if options is None else options
            if not isinstance(options, dict):
                self.problem(where, f"{options!r} must be a mapping of options (or empty)")
                continue
            if not isinstance(name, str) or not SCORER_NAME.match(name):
                self.problem(where, "a scorer name uses lowercase letters, digits and '_'")
                continue
            if name in EXPECTATION_KEYS:
                self.problem(where, f"'{name}' is an expectation key; give the scorer another name")
            options = dict(options)
            kind = options.pop("type", name)
            spec = SCORERS.get(kind)
            if spec is None:
                close = difflib.get_close_matches(str(kind), list(SCORERS), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.problem(where, f"unknown scorer {kind!r}; {hint}choose from {sorted(SCORERS)}")
                continue
            for key, value in options.items():
                expected = spec.options.get(key)
                if expected is None:
                    allowed = sorted(spec.options) or "none"
                    self.problem(f"{where}.{key}", f"not an option of {kind}; options: {allowed}")
                elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                    self.problem(f"{where}.{key}", f"{value!r} has the wrong type for {kind}")
            for key in spec.required_options:
                if not options.get(key):
                    self.problem(f"{where}.{key}", f"{kind} needs '{key}'; add it under {where}")
            if kind == "regex" and isinstance(options.get("pattern"), str):
                try:
                    re.compile(options["pattern"])
                except re.error as err:
                    self.problem(f"{where}.pattern", f"{options['pattern']!r} is not a valid regular expression ({err})")
            if kind == "length":
                self.check_length(where, options)
            if spec.needs_judge and judge == "none":
                self.problem(where, f"{kind} is an LLM judge but judge.model is 'none'; set judge.model (databricks or provider:/model) or remove the scorer")
            scorers.append(ScorerConfig(name, kind, options))
        return scorers

    def check_length(self, where: str, options: dict) -> None:
        low, high = options.get("min_length"), options.get("max_length")
        if low is None and high is None:
            self.problem(where, "length needs min_length, max_length or both")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            self.problem(where, f"min_length {low} is above max_length {high}")
        if options.get("unit", "chars") not in ("chars", "words"):
            self.problem(f"{where}.unit", f"{options['unit']!r} must be 'chars' or 'words'")

    def check_gates(self, scorers: list[ScorerConfig]) -> dict[str, float]:
        raw = self.get("quality_gates")
        if not isinstance(raw, dict) or not raw:
            self.problem("quality_gates", "set at least one gate as scorer_name: threshold; without a gate nothing can fail")
            return {}
        names = {s.name for s in scorers}
        gates = {}
        for name, threshold in raw.items():
            where = f"quality_gates.{name}"
            if name not in names:
                close = difflib.get_close_matches(str(name), sorted(names), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                self.problem(where, f"no scorer named {name!r}; {hint}gate one of {sorted(names)} or add the scorer")
                continue
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                self.problem(where, f"{threshold!r} is not a number; use a mean between 0 and 1")
                continue
            low, high = SCORERS[next(s.type for s in scorers if s.name == name)].value_range
            if not low <= threshold <= high:
                side = "above" if threshold > high else "below"
                self.problem(where, f"{threshold} is {side} {high if threshold > high else low}; a {name} mean lies between {low} and {high}")
                continue
            gates[name] = float(threshold)
        return gates

    def check_dataset_table(self, target: str, uc_warehouse: str) -> tuple[str | None, str]:
        """dataset.table and the warehouse that reads it; its rows are checked when they are read."""
        table = self.text("dataset.table", required=False)
        if not table:
            return None, ""
        if self.get("dataset.path") is not None:
            self.problem("dataset", "set one of dataset.path (a JSONL file) and dataset.table (catalog.schema.table), not both")
        if target != "databricks":
            self.problem("dataset.table", f"{table!r} is a Unity Catalog table, read through a Databricks SQL warehouse; set target: databricks, or use dataset.path")
        if not is_uc_name(table):
            self.problem("dataset.table", f"{table!r} is not catalog.schema.table; use three names of letters, digits and underscores")
        warehouse = self.warehouse_id("dataset.sql_warehouse_id", uc_warehouse)
        if not warehouse:
            self.problem("dataset.sql_warehouse_id", "is empty; a table is read through a SQL warehouse: set dataset.sql_warehouse_id or unity_catalog.sql_warehouse_id")
        return table, warehouse

    def check_dataset_fits(self, path: Path, label: str, scorers: list[ScorerConfig]) -> None:
        try:
            records = load_records(path, label)
        except DatasetError as err:
            for line in str(err).splitlines():
                self.problem("dataset.path", line)
            return
        self.problems.extend(dataset_fit_problems(records, label, scorers))


def dataset_fit_problems(records: list, label: str, scorers) -> list[str]:
    """Scorers that can score no record of the dataset, as `scorers.<name>: why` lines."""
    problems = []
    for scorer in scorers:
        needs = SCORERS[scorer.type].applies_if_any
        if records and needs and not any(k in r.expectations for r in records for k in needs):
            problems.append(f"scorers.{scorer.name}: {scorer.type} needs rows with expectations {list(needs)} but {label} has none; add them or remove the scorer")
    return problems
