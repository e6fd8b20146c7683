"""What is wrong with evaluation.yaml, as data: the CLI prints it, the template's hook maps each
problem's field to the answer that set it, and nothing has to parse a message back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CONFIG_FILE = "evaluation.yaml"
NO_VALUE = object()  # the setting is missing, or the problem is about several settings


@dataclass(frozen=True)
class Problem:
    """One problem: the setting (dotted path), its value, what is wrong and how to fix it."""

    field: str  # e.g. "quality_gates.pii"; "" for the file as a whole
    problem: str  # what is wrong, naming the value as written
    fix: str = ""  # what to write instead; "" when the problem says it
    value: Any = NO_VALUE
    source: str = CONFIG_FILE  # the file, or the dataset's label for a dataset problem

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.problem}" + (f"; {self.fix}" if self.fix else "")


class ConfigError(ValueError):
    """One or more problems in evaluation.yaml (or the dataset it names), all at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))
