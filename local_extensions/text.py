"""How answers become text: free text kept as written, and values written into YAML.

cookiecutter renders as Jinja every answer it did not get from a prompt: from the command line
(`--no-input key=value`), from a config file's default_context, and from .cruft.json on every
`cruft update`. That is how a team default can say "{{ cookiecutter.package_name }}". Free text
can hold Jinja's markers for other reasons: a guideline that names MLflow's {{ outputs }}, a
literal "{%". Jinja cannot render such text, and an answer typed at the prompt (never rendered
then) would make every later `cruft update` of the repo fail. So text that does not refer to
the answers and that Jinja could not render (a syntax error, or a name it does not know) is
rendered as written, character for character.
"""

from __future__ import annotations

import json
import re

from jinja2 import Environment, TemplateSyntaxError, meta

MARKERS = ("{{", "{%", "{#")
# The name under which the text is parsed to check it (the Vocabulary extension's preprocess
# leaves named sources alone, so the check does not recurse).
CHECKING = "<an answer's text>"


def template_or_text(environment: Environment, source: str) -> str:
    """`source` when it is a template Jinja can render here or one that uses the answers
    (whose mistakes Jinja should report), else a template that renders it as written."""
    if not any(marker in source for marker in MARKERS) or "cookiecutter" in source:
        return source
    try:
        names = meta.find_undeclared_variables(environment.parse(source, name=CHECKING))
    except TemplateSyntaxError:
        return as_written(source)
    return source if names <= set(environment.globals) else as_written(source)


def as_written(text: str) -> str:
    """A template whose output is `text`: one Jinja string literal, whose escapes Jinja decodes
    like Python's (so no line break is normalised and no marker inside it is read)."""
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return '{{ "' + escaped + '" }}'


# What a YAML reader would not keep as it is inside a double-quoted string: control characters
# JSON leaves raw (DEL, C1), surrogates, non-characters, and the line separators it folds.
NOT_KEPT_BY_YAML = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029]"
)


def yaml_scalar(value) -> str:
    """`value` as a YAML flow scalar that reads back as the same value: JSON (a YAML subset)
    without Jinja's `tojson` HTML escaping, so "user's" stays readable instead of "user\\u0027s"."""
    text = json.dumps(value, ensure_ascii=False)
    return NOT_KEPT_BY_YAML.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def toml_string(value) -> str:
    """`value` as a TOML basic string that reads back as the same text. TOML's escapes are
    JSON's, and every character yaml_scalar leaves raw is one TOML allows raw."""
    return yaml_scalar(str(value))
