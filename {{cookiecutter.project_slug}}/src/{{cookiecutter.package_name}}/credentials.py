"""Whether this process can reach a Databricks workspace or an LLM provider, and the one way
of saying what to set when it cannot. Reads only the environment (and ~/.databrickscfg), so a
deployed agent without evaluation.yaml can ask too."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

WORKSPACE_FIX = (
    "set DATABRICKS_HOST and DATABRICKS_TOKEN (or DATABRICKS_CONFIG_PROFILE, or "
    "DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET for a service principal), "
    "see .env.example"
)


def has_databricks_workspace(environ: Mapping[str, str] | None = None) -> bool:
    """A host in the environment, a CLI profile, or Databricks compute (which authenticates
    itself)."""
    env = os.environ if environ is None else environ
    home = env.get("HOME")
    return bool(
        env.get("DATABRICKS_HOST")
        or env.get("DATABRICKS_CONFIG_PROFILE")
        or env.get("DATABRICKS_RUNTIME_VERSION")
        or (home and (Path(home) / ".databrickscfg").is_file())
    )


def model_credentials_problem(setting: str, model: str) -> str | None:
    """What calling `model` (a provider:/model URI, endpoints:/name or databricks) needs and
    the environment lacks, naming `setting`; None when nothing is missing."""
    provider = "databricks" if model == "databricks" else model.split(":/", 1)[0]
    if provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
        return (
            f"{setting} {model!r} needs OPENAI_API_KEY "
            "(and OPENAI_API_BASE for an OpenAI-compatible server)"
        )
    if provider in ("databricks", "endpoints") and not has_databricks_workspace():
        return f"{setting} {model!r} needs a Databricks workspace: {WORKSPACE_FIX}"
    return None
