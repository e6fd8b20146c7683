"""The settings every project has: target and store, judge, agent, Unity Catalog, dataset
source, concurrency, scorers and quality gates."""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..scorer_catalog import (
    EXPECTATION_KEYS,
    MISSING_EXPECTATIONS,
    MISSING_EXPECTATIONS_CHOICES,
    SCORERS,
)
from ..vocabulary import JOURNEYS, TARGETS
from .agent_shape import check_agent_shape, check_conversation
from .checker import Checker
from .dataset import check_dataset_source, check_dataset_table
from .ensemble import ENSEMBLE, check_ensemble
from .model import EvalConfig, ScorerConfig
from .names import (
    ALIAS,
    CALLABLE,
    ENDPOINT,
    IDENTIFIER,
    LOCAL_PROMPT,
    SCORER_NAME,
    is_uc_name,
)

DEFAULT_TRACKING_URI = {"local": "sqlite:///mlflow.db", "databricks": "databricks"}
SCHEMA: dict[str, Any] = {
    "target": None,
    "mlflow": {"tracking_uri": None, "experiment": None, "sqlite_wal": None},
    "judge": {"model": None, "cache": None, "cache_dir": None},
    "agent": {
        "callable": None,
        "endpoint": None,
        "shape": None,
        "conversation": {"simulator_model": None, "max_turns": None},
        "prompt": {"name": None, "alias": None},
    },
    "dataset": {"path": None, "table": None, "sql_warehouse_id": None, "source": None},
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
    "journeys": dict.fromkeys(JOURNEYS),
}


def check_core(c: Checker) -> EvalConfig:
    """The core settings as an EvalConfig without journey sections (config/loader.py adds them)."""
    target, tracking_uri, experiment = check_target_and_store(c)
    judge = c.text("judge.model", "none") or "none"
    if judge not in ("none", "databricks"):
        c.model_uri("judge.model", judge)
    agent_callable, agent_endpoint = check_agent(c)
    prompt_name = c.text("agent.prompt.name", required=False)
    prompt_alias = c.text("agent.prompt.alias", "production", required=False) or "production"
    check_prompt(c, target, prompt_name, prompt_alias)
    uc_catalog, uc_schema, warehouse = check_unity_catalog(c, target)
    reflection = c.text("models.reflection", "", required=False) or ""
    embedding = c.text("models.embedding", "", required=False) or ""
    c.model_uri("models.reflection", reflection)
    c.model_uri("models.embedding", embedding)
    scorers = check_scorers(c, judge)
    agent_shape = check_agent_shape(c, scorers)
    conversation = check_conversation(c, agent_shape)
    gates = check_gates(c, scorers)
    dataset_source = check_dataset_source(c)
    dataset_table, dataset_warehouse = check_dataset_table(c, target, warehouse)
    dataset_path = None
    if not (dataset_table or dataset_source):
        label = c.text("dataset.path") or "data/eval_dataset.jsonl"
        dataset_path = c.inside_project("dataset.path", label, "data/eval_dataset.jsonl")
    cache_dir = c.text("judge.cache_dir", ".judge-cache", required=False) or ".judge-cache"
    return EvalConfig(
        root=c.root,
        target=target,
        tracking_uri=tracking_uri,
        experiment=experiment,
        judge_model=judge,
        agent_callable=agent_callable or None,
        agent_endpoint=agent_endpoint or None,
        agent_shape=agent_shape,
        conversation=conversation,
        prompt_name=prompt_name or None,
        prompt_alias=prompt_alias,
        dataset_path=dataset_path,
        dataset_table=dataset_table,
        dataset_source=dataset_source,
        sqlite_wal=c.flag("mlflow.sqlite_wal", True),
        dataset_warehouse_id=dataset_warehouse,
        scorers=tuple(scorers),
        quality_gates=gates,
        max_workers=c.workers("concurrency.max_workers"),
        max_scorer_workers=c.workers("concurrency.max_scorer_workers"),
        llm_rate_limit=c.number("concurrency.llm_rate_limit", 0, 0, float),
        max_retries=c.number("concurrency.max_retries", 5, 0),
        llm_timeout=c.number("concurrency.llm_timeout", 30, 1, float),
        judge_cache=c.flag("judge.cache", True),
        judge_cache_dir=c.root / cache_dir,
        predict_rate_limit=c.number("concurrency.predict_rate_limit", 0, 0, float),
        uc_catalog=uc_catalog,
        uc_schema=uc_schema,
        sql_warehouse_id=warehouse,
        reflection_model=reflection,
        embedding_model=embedding,
        journeys={name: c.flag(f"journeys.{name}", False) for name in JOURNEYS},
    )


def check_target_and_store(c: Checker) -> tuple[str, str, str]:
    target = c.text("target") or "local"
    if target not in TARGETS:
        c.problem("target", f"{target!r} is not a target", f"use one of {list(TARGETS)}", target)
        target = "local"
    tracking_uri = c.text("mlflow.tracking_uri", DEFAULT_TRACKING_URI[target]) or ""
    if wrong := store_problem(target, tracking_uri):
        c.problem("mlflow.tracking_uri", *wrong, tracking_uri)
    experiment = c.text("mlflow.experiment") or ""
    if experiment and target == "databricks" and not experiment.startswith("/"):
        c.problem(
            "mlflow.experiment",
            f"{experiment!r} must be a workspace path such as /Shared/{experiment} on Databricks",
            value=experiment,
        )
    return target, tracking_uri, experiment


def store_problem(target: str, uri: str) -> tuple[str, str] | None:
    """(problem, fix) when the tracking URI cannot be the target's store, wherever it was set."""
    if target == "databricks" and not uri.startswith("databricks"):
        return f"{uri!r} must be 'databricks' (or databricks://<profile>) for target databricks", ""
    if target == "local" and not uri.startswith(("sqlite:///", "http://", "https://")):
        return (
            f"{uri!r} is not a local store",
            "use sqlite:///mlflow.db or an http(s):// MLflow server",
        )
    return None


def check_agent(c: Checker) -> tuple[str | None, str | None]:
    agent_callable = c.text("agent.callable", required=False)
    agent_endpoint = c.text("agent.endpoint", required=False)
    if bool(agent_callable) == bool(agent_endpoint):
        c.problem(
            "agent",
            "set exactly one of agent.callable (module:function) "
            "and agent.endpoint (endpoints:/name)",
        )
    if agent_callable and not CALLABLE.match(agent_callable):
        c.problem(
            "agent.callable",
            f"{agent_callable!r} is not module.path:function",
            value=agent_callable,
        )
    if agent_endpoint and not ENDPOINT.match(agent_endpoint):
        c.problem(
            "agent.endpoint",
            f"{agent_endpoint!r} is not a serving endpoint URI",
            "use endpoints:/<endpoint-name>",
            agent_endpoint,
        )
    return agent_callable, agent_endpoint


def check_prompt(c: Checker, target: str, name: str | None, alias: str) -> None:
    if name:
        if target == "databricks" and not is_uc_name(name):
            c.problem(
                "agent.prompt.name",
                f"{name!r} must be catalog.schema.name on Databricks "
                "(Unity Catalog prompt registry)",
                value=name,
            )
        elif target == "local" and not LOCAL_PROMPT.match(name):
            c.problem(
                "agent.prompt.name",
                f"{name!r} may use only letters, digits, '_', '-' and '.'",
                value=name,
            )
    if not ALIAS.match(alias):
        c.problem(
            "agent.prompt.alias",
            f"{alias!r} is not an alias",
            "use letters, digits, '_' and '-'",
            alias,
        )


def check_unity_catalog(c: Checker, target: str) -> tuple[str, str, str]:
    uc_catalog = c.text("unity_catalog.catalog", required=target == "databricks") or ""
    uc_schema = c.text("unity_catalog.schema", required=target == "databricks") or ""
    for key, value in (("catalog", uc_catalog), ("schema", uc_schema)):
        if value and not IDENTIFIER.match(value):
            c.problem(
                f"unity_catalog.{key}",
                f"{value!r} is not a valid Unity Catalog name",
                "use letters, digits and underscores, starting with a letter or underscore",
                value,
            )
    return uc_catalog, uc_schema, c.warehouse_id("unity_catalog.sql_warehouse_id")


def check_scorers(c: Checker, judge: str) -> list[ScorerConfig]:
    raw = c.get("scorers")
    if not isinstance(raw, dict) or not raw:
        c.problem("scorers", "choose at least one scorer, as a mapping of name: options")
        return []
    scorers = []
    for name, options in raw.items():
        scorer = check_scorer(c, name, {} if options is None else options, judge)
        if scorer:
            scorers.append(scorer)
    return scorers


def check_scorer(c: Checker, name: Any, options: Any, judge: str) -> ScorerConfig | None:
    where = f"scorers.{name}"
    if not isinstance(options, dict):
        c.problem(where, f"{options!r} must be a mapping of options (or empty)", value=options)
        return None
    if not isinstance(name, str) or not SCORER_NAME.match(name):
        c.problem(where, "a scorer name uses lowercase letters, digits and '_'", value=name)
        return None
    if name in EXPECTATION_KEYS:
        c.problem(where, f"'{name}' is an expectation key", "give the scorer another name", name)
    options = dict(options)
    kind = options.pop("type", name)
    spec = SCORERS.get(kind)
    if spec is None:
        close = difflib.get_close_matches(str(kind), list(SCORERS), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        known = ", ".join(sorted(SCORERS))
        c.problem(where, f"unknown scorer {kind!r}", f"{hint}choose from {known}", kind)
        return None
    check_options(c, where, kind, options)
    # An ensemble's members name their own models (scorers.<name>.models).
    if spec.needs_judge and judge == "none" and kind != ENSEMBLE:
        c.problem(
            where,
            f"{kind} is an LLM judge but judge.model is 'none'",
            "set judge.model (databricks or provider:/model) or remove the scorer",
            kind,
        )
    return ScorerConfig(name, kind, options)


def check_options(c: Checker, where: str, kind: str, options: dict) -> None:
    """A scorer's options: known to its type, of the right type, with usable values."""
    spec = SCORERS[kind]
    for key, value in options.items():
        expected = spec.options.get(key)
        if expected is None:
            allowed = f"options: {sorted(spec.options) or 'none'}"
            if key == MISSING_EXPECTATIONS:
                allowed = f"{kind} needs no expectations: it scores every row"
            c.problem(f"{where}.{key}", f"not an option of {kind}", allowed, value)
        elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            c.problem(f"{where}.{key}", f"{value!r} has the wrong type for {kind}", value=value)
    for key in spec.required_options:
        if options.get(key) in (None, ""):
            c.problem(f"{where}.{key}", f"{kind} needs '{key}'", f"add it under {where}")
    if kind == "regex" and isinstance(options.get("pattern"), str):
        try:
            re.compile(options["pattern"])
        except re.error as err:
            c.problem(
                f"{where}.pattern",
                f"{options['pattern']!r} is not a valid regular expression ({err})",
                value=options["pattern"],
            )
    if kind == "length":
        check_length(c, where, options)
    if kind == ENSEMBLE:
        check_ensemble(c, where, options)
    mode = options.get(MISSING_EXPECTATIONS)
    if isinstance(mode, str) and mode not in MISSING_EXPECTATIONS_CHOICES:
        c.problem(
            f"{where}.{MISSING_EXPECTATIONS}",
            f"{mode!r} must be one of {list(MISSING_EXPECTATIONS_CHOICES)}",
            "not_applicable leaves rows without expectations out of the gate, error fails it",
            mode,
        )
    phrases = options.get("phrases")
    if isinstance(phrases, list) and (not phrases or not all(map(is_phrase, phrases))):
        bad = next((p for p in phrases if not is_phrase(p)), None)
        c.problem(
            f"{where}.phrases",
            f"{bad!r} is not a phrase" if phrases else "lists no phrase",
            'list what a refusal starts with, as text, e.g. ["I can\'t", "I cannot"]',
            phrases,
        )


def is_phrase(value: Any) -> bool:
    return isinstance(value, str) and bool(re.search(r"\w", value))


def check_length(c: Checker, where: str, options: dict) -> None:
    low, high = options.get("min_length"), options.get("max_length")
    if low is None and high is None:
        c.problem(where, "length needs min_length, max_length or both")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        c.problem(where, f"min_length {low} is above max_length {high}", value=options)
    if options.get("unit", "chars") not in ("chars", "words"):
        c.problem(
            f"{where}.unit",
            f"{options['unit']!r} must be 'chars' or 'words'",
            value=options["unit"],
        )


def check_gates(c: Checker, scorers: list[ScorerConfig]) -> dict[str, float]:
    raw = c.get("quality_gates")
    if not isinstance(raw, dict) or not raw:
        c.problem(
            "quality_gates",
            "set at least one gate as scorer_name: threshold",
            "without a gate nothing can fail",
        )
        return {}
    names = {s.name for s in scorers}
    gates = {}
    for name, threshold in raw.items():
        where = f"quality_gates.{name}"
        if name not in names:
            close = difflib.get_close_matches(str(name), sorted(names), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            c.problem(
                where,
                f"no scorer named {name!r}",
                f"{hint}gate one of {sorted(names)} or add the scorer",
                name,
            )
            continue
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            c.problem(
                where, f"{threshold!r} is not a number", "use a mean between 0 and 1", threshold
            )
            continue
        low, high = SCORERS[next(s.type for s in scorers if s.name == name)].value_range
        if not low <= threshold <= high:
            side, bound = ("above", high) if threshold > high else ("below", low)
            c.problem(
                where,
                f"{threshold} is {side} {bound}",
                f"a {name} mean lies between {low} and {high}",
                threshold,
            )
            continue
        gates[name] = float(threshold)
    return gates
