"""The template's vocabulary: its journeys, the targets, the scorers' names and kinds.

Rendered from the template's single definition (local_extensions/vocabulary.py in the template)
into vocabulary.json; read-only here: a change belongs in the template, and reaches this repo
with `make update-template`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_DATA = json.loads(Path(__file__).with_name("vocabulary.json").read_text(encoding="utf-8"))

JOURNEYS: tuple[str, ...] = tuple(_DATA["journeys"])  # journeys.<key> in evaluation.yaml
TARGETS: tuple[str, ...] = tuple(_DATA["choices"]["target"])
AGENT_SHAPES: tuple[str, ...] = tuple(_DATA["choices"]["agent_shape"])  # agent.shape
SCORER_KINDS: dict[str, str] = {name: s["kind"] for name, s in _DATA["scorers"].items()}
SCORER_EXPECTATIONS: dict[str, bool] = {n: s["expectations"] for n, s in _DATA["scorers"].items()}
SCORER_SESSIONS: dict[str, bool] = {n: s.get("session", False) for n, s in _DATA["scorers"].items()}
SCORER_NAME = re.compile(_DATA["scorer_name"])
