"""The template's Jinja extension (cookiecutter.json `_extensions`): the vocabulary and the
answer parsers, for cookiecutter.json's defaults, the templates and the pre-generation hook.

    {{ vocabulary.defaults[cookiecutter.target].scorers }}     the template's vocabulary
    {{ cookiecutter.scorers | answer_list }}                    a comma-separated answer as a list
    {{ cookiecutter.quality_gates | gate_thresholds }}          the gates answer as name -> float
    {{ cookiecutter.guidelines_text | yaml_scalar }}            a value as readable YAML (text.py)
    {{ cookiecutter.author | toml_string }}                      text as a readable TOML string
    {{ answer_report(cookiecutter) | tojson }}                  the answers' errors and warnings
    {{ check_answers(cookiecutter) }}                           stop on a bad answer (answers.py)

It also keeps free text in answers as written when Jinja could not render it (text.py).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from jinja2.ext import Extension

from . import answers, text, vocabulary


class Vocabulary(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.globals["vocabulary"] = vocabulary.as_data()
        environment.globals["answer_report"] = answers.report
        environment.globals["check_answers"] = answers.check_answers
        environment.filters["answer_list"] = answers.split_list
        environment.filters["gate_thresholds"] = answers.gate_thresholds
        environment.filters["yaml_scalar"] = text.yaml_scalar
        environment.filters["toml_string"] = text.toml_string
        forget_this_module()

    def preprocess(self, source, name, filename=None):
        # Only text cookiecutter renders with from_string (answers, file and folder names, hook
        # scripts) is unnamed; the template's files are named and rendered as they are.
        if name is not None:
            return source
        return text.template_or_text(self.environment, source)


def forget_this_module() -> None:
    """`cruft update` renders the project's template commit and the newest one in one process,
    from the same folder: without this the second render would reuse the first commit's
    vocabulary, already imported (cruft issue #253). Dropping the modules, and their bytecode
    (which may share the source's size and modification second), makes each render import the
    files as they are now."""
    for name in [m for m in sys.modules if m == __name__ or m.startswith(__name__ + ".")]:
        module = sys.modules.pop(name)
        source = getattr(module, "__file__", None)
        if source:
            Path(importlib.util.cache_from_source(source)).unlink(missing_ok=True)
