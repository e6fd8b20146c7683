"""Reading evaluation.yaml's settings one by one: each reader returns a usable value and
records a Problem instead of raising, so one pass reports every problem at once."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from .names import MODEL_URI, WAREHOUSE_ID
from .problems import NO_VALUE, Problem

# Settings that changed name or meaning: the message says what to write instead.
RENAMED = {
    "concurrency.scorer_rate_limit": (
        "renamed",
        "use concurrency.llm_rate_limit (calls per second to each LLM endpoint, 0: none): "
        "a limit meant for judge calls no longer throttles code scorers",
    ),
}


class Checker:
    def __init__(self, raw: dict, root: Path, source: str):
        self.raw, self.root, self.source = raw, root, source
        self.problems: list[Problem] = []

    def problem(self, field: str, problem: str, fix: str = "", value: Any = NO_VALUE) -> None:
        self.problems.append(Problem(field, problem, fix, value, self.source))

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
                self.problem(where, f"must be a mapping, not {node!r}", value=node)
            return
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if path in RENAMED:
                self.problem(path, *RENAMED[path], value=value)
            elif key not in schema:
                close = difflib.get_close_matches(str(key), list(schema), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"allowed: {sorted(schema)}"
                self.problem(path, "unknown setting", hint, value)
            elif isinstance(schema[key], dict) and value is not None:
                self.unknown_keys(value, schema[key], path)

    def text(self, dotted: str, default: str | None = None, required: bool = True) -> str | None:
        value = self.get(dotted, default)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(dotted, "is missing", "set it in evaluation.yaml")
            return None if value is None else ""
        if not isinstance(value, str):
            self.problem(dotted, f"{value!r} must be a string", value=value)
            return None
        return value.strip()

    def warehouse_id(self, dotted: str, default: str = "") -> str:
        """A SQL warehouse id or "" (not set); a malformed one is a problem."""
        warehouse = self.text(dotted, default, required=False) or ""
        if warehouse and not WAREHOUSE_ID.match(warehouse):
            self.problem(
                dotted,
                f"{warehouse!r} is not a SQL warehouse id",
                "use the 16 hex characters from the warehouse's connection details",
                warehouse,
            )
        return warehouse

    def choice(self, dotted: str, default: str, choices: tuple[str, ...]) -> str:
        """One of a fixed set of words, `default` when not set."""
        value = self.text(dotted, default) or default
        if value not in choices:
            self.problem(dotted, f"{value!r} must be one of {list(choices)}", value=value)
        return value

    def fraction(self, dotted: str, default: float) -> float:
        """A share strictly between 0 and 1 (a significance level, a held-out share)."""
        value = self.number(dotted, default, 0, float)
        if not 0 < value < 1:
            self.problem(dotted, f"{value} must lie between 0 and 1 (e.g. {default})", value=value)
        return value

    def inside_project(self, dotted: str, label: str, example: str) -> Path | None:
        """A path setting resolved in the project; None (and a problem) when it leads outside."""
        path = (self.root / label).resolve()
        if not path.is_relative_to(self.root):
            self.problem(
                dotted,
                f"{label!r} leads outside the project",
                f"keep it in the project (e.g. {example})",
                label,
            )
            return None
        return path

    def number(self, dotted: str, default: float, minimum: float, kind: type = int) -> Any:
        value = self.get(dotted, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(dotted, f"{value!r} is not a number", f"use a number >= {minimum}", value)
            return default
        if kind is int and value != int(value):
            self.problem(dotted, f"{value!r} must be a whole number", value=value)
            return default
        if value < minimum:
            self.problem(
                dotted, f"{value!r} is below {minimum}", f"use a number >= {minimum}", value
            )
            return default
        return kind(value)

    def model_uri(self, dotted: str, value: str | None) -> None:
        if value and not MODEL_URI.match(value):
            self.problem(
                dotted,
                f"{value!r} is not a model URI",
                "use provider:/model, e.g. openai:/gpt-4.1-mini",
                value,
            )

    def workers(self, dotted: str) -> int | None:
        """A thread count, or None for `auto` (or not set): decided per run."""
        value = self.get(dotted)
        if value in (None, "auto"):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(
                dotted,
                f"{value!r} is not a thread count",
                "use auto or a whole number >= 1",
                value,
            )
            return None
        return value

    def flag(self, dotted: str, default: bool) -> bool:
        value = self.get(dotted, default)
        if not isinstance(value, bool):
            self.problem(dotted, f"{value!r} must be true or false", value=value)
            return default
        return value

    def mapping(self, dotted: str, example: str) -> dict:
        """An optional mapping setting; anything else is reported with an example."""
        value = self.get(dotted, {}) or {}
        if not isinstance(value, dict):
            self.problem(dotted, f"must be a mapping such as {example}", value=value)
            return {}
        return value

    def section(self, name: str, journey_on: bool) -> bool:
        """Whether to validate an optional journey section; a journey that is on needs one."""
        if self.get(name) is None:
            if journey_on:
                self.problem(
                    name, f"journeys.{name} is on", f"add the {name} section (see the README)"
                )
            return False
        return True
