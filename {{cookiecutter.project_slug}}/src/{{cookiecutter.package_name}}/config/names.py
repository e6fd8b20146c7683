"""What a name, id or URI in evaluation.yaml may look like; the journeys that quote these
names into SQL or URLs use the same patterns."""

from __future__ import annotations

import re

from .. import vocabulary

# Unity Catalog names without quoting or SQL metacharacters.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCORER_NAME = vocabulary.SCORER_NAME
MODEL_URI = re.compile(r"^[a-z][a-z0-9_-]*:/[A-Za-z0-9][A-Za-z0-9._:/@-]*$")
CALLABLE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
ENDPOINT = re.compile(r"^endpoints:/[A-Za-z0-9][A-Za-z0-9_.-]*$")
WAREHOUSE_ID = re.compile(r"^[0-9a-f]{16}$")
# A user (e-mail), group name or service principal (application id): backtick-quoted in GRANTs.
PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,254}$")
LOCAL_PROMPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
PROMPT_URI = re.compile(r"^prompts:/[A-Za-z0-9][A-Za-z0-9_.-]*(/[0-9]+|@[A-Za-z][A-Za-z0-9_-]*)$")


def is_uc_name(name: str) -> bool:
    """catalog.schema.name, each part a plain Unity Catalog identifier (safe to backtick-quote)."""
    parts = name.split(".") if isinstance(name, str) else []
    return len(parts) == 3 and all(IDENTIFIER.match(p) for p in parts)
