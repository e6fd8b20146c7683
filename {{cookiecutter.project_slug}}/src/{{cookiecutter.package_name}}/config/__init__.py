"""evaluation.yaml, the project's single configuration: loaded into typed, frozen objects.

The one source of truth for its rules: the CLI and the template's post-generation hook both
call it (through project.load_project, which adds the dataset's checks). It needs only PyYAML,
so checking a config never imports MLflow. Every problem is reported at once, as a Problem
(field, value, problem, fix).

- loader.py: the file to an EvalConfig; core.py: the settings every project has;
- <journey>.py: the section of each journey this project was generated with;
- checker.py: the readers of single settings; names.py: what names and URIs look like.
"""

from .loader import find_config, load_config
from .model import AgentVersion, EvalConfig, ScorerConfig
from .names import CALLABLE, ENDPOINT, IDENTIFIER, PRINCIPAL, PROMPT_URI, WAREHOUSE_ID, is_uc_name
from .problems import CONFIG_FILE, ConfigError, Problem

__all__ = [
    "CALLABLE",
    "CONFIG_FILE",
    "ENDPOINT",
    "IDENTIFIER",
    "PRINCIPAL",
    "PROMPT_URI",
    "WAREHOUSE_ID",
    "AgentVersion",
    "ConfigError",
    "EvalConfig",
    "Problem",
    "ScorerConfig",
    "find_config",
    "is_uc_name",
    "load_config",
]
