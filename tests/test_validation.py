"""Every validation rule, through the real `cookiecutter` run: a bad answer gives a clear error
naming the field, the value and the fix, a failed generation, and nothing left on disk."""

from __future__ import annotations

import pytest
from cookiecutter.exceptions import FailedHookException

from tests.conftest import DEFAULTS, bake, cookiecutter_cli

CASES = {
    # pre-generation: answers that shape paths, names and file syntax
    "slug-traversal": (
        {"project_slug": "../outside"},
        "project_slug: '../outside' is not a folder name",
    ),
    # cookiecutter creates the project folder, parents included, before its pre-generation hook
    "slug-with-a-slash": ({"project_slug": "a/b"}, "project_slug: 'a/b' is not a folder name"),
    "package-not-identifier": (
        {"package_name": "my-agent"},
        "package_name: 'my-agent' is not a valid Python package name",
    ),
    "package-shadows-mlflow": (
        {"package_name": "mlflow"},
        "package_name: 'mlflow' shadows an existing module",
    ),
    "empty-name": ({"project_name": " ", "project_slug": "x"}, "project_name: is empty"),
    # free-text answers, not cookiecutter choice lists: a config file's bad value stops generation
    "target-not-a-choice": (
        {"target": "Databricks"},
        "target: 'Databricks' is not one of ['local', 'databricks']",
    ),
    "ci-provider-not-a-choice": (
        {"ci_provider": "jenkins"},
        "ci_provider: 'jenkins' is not one of ['github', 'gitlab', 'none']",
    ),
    "gate-syntax": ({"quality_gates": "pii>0.9"}, "quality_gates: 'pii>0.9' is not name=threshold"),
    "gate-not-number": (
        {"quality_gates": "pii=high"},
        "quality_gates: threshold 'high' of 'pii' is not a number",
    ),
    "python-version": ({"python_version": "2.7"}, "python_version: '2.7' is not 3.10 or newer"),
    # post-generation: the rendered evaluation.yaml, checked by the project's config module
    "gate-names-unknown-scorer": (
        {"quality_gates": "pii=1.0,helpfulness=0.8"},
        "evaluation.yaml: quality_gates.helpfulness: no scorer named 'helpfulness'",
    ),
    "threshold-out-of-range": (
        {"quality_gates": "pii=4.0"},
        "evaluation.yaml: quality_gates.pii: 4.0 is above 1.0; a pii mean lies between 0.0 and "
        "1.0 (change the answer 'quality_gates'",
    ),
    "unknown-scorer": (
        {"scorers": "pii,toxicity", "quality_gates": "pii=1"},
        "scorers.toxicity: unknown scorer 'toxicity'",
    ),
    "llm-scorer-without-judge": (
        {"scorers": "safety,pii", "quality_gates": "safety=1.0"},
        "scorers.safety: safety is an LLM judge but judge.model is 'none'",
    ),
    "judge-uri-form": (
        {"judge_model": "gpt-4o"},
        "judge.model: 'gpt-4o' is not a model URI; use provider:/model",
    ),
    "uc-catalog-metacharacters": (
        {"uc_catalog": "main; DROP TABLE x"},
        "unity_catalog.catalog: 'main; DROP TABLE x' is not a valid Unity Catalog name",
    ),
    "uc-schema-metacharacters": (
        {"uc_schema": "a`b"},
        "unity_catalog.schema: 'a`b' is not a valid Unity Catalog name",
    ),
    "warehouse-id": (
        {"sql_warehouse_id": "not-a-warehouse"},
        "unity_catalog.sql_warehouse_id: 'not-a-warehouse' is not a SQL warehouse id",
    ),
    "reflection-uri": (
        {"reflection_model": "claude"},
        "models.reflection: 'claude' is not a model URI",
    ),
    "embedding-uri": (
        {"embedding_model": "text-embedding"},
        "models.embedding: 'text-embedding' is not a model URI",
    ),
    "databricks-prompt-name": (
        {"target": "databricks", "prompt_name": "system_prompt"},
        "agent.prompt.name: 'system_prompt' must be catalog.schema.name",
    ),
    "databricks-experiment": (
        {"target": "databricks", "experiment_name": "my-exp"},
        "mlflow.experiment: 'my-exp' must be a workspace path",
    ),
    "tool-scorer-on-a-single-turn-agent": (
        {"scorers": "pii,tool_calls", "quality_gates": "pii=1.0"},
        "scorers.tool_calls: tool_calls scores the agent's tool calls, but agent.shape is "
        "single_turn",
    ),
    "tool-calling-agent-without-its-budget": (
        {"agent_shape": "tool_calling", "quality_gates": "tool_calls=1.0,nope=1.0"},
        "quality_gates.nope: no scorer named",
    ),
    "one-answer-scorer-on-a-conversation-agent": (
        {"agent_shape": "multi_turn", "scorers": "pii,fact_coverage", "quality_gates": "pii=1.0"},
        "scorers.fact_coverage: fact_coverage checks one answer against its row's expected_facts, "
        "which a conversation record does not have (agent.shape is multi_turn)",
    ),
    "conversation-scorer-on-a-single-turn-agent": (
        {"scorers": "pii,goal_reached", "quality_gates": "pii=1.0"},
        "scorers.goal_reached: goal_reached scores whole conversations, but agent.shape is "
        "single_turn",
    ),
    "guidelines-name": (
        {
            "scorers": "guidelines",
            "judge_model": "databricks",
            "guidelines_name": "Be Nice",
            "quality_gates": "guidelines=1",
        },
        "scorers.Be Nice: a scorer name uses lowercase letters",
    ),
}


@pytest.mark.parametrize(("answers", "message"), CASES.values(), ids=CASES.keys())
def test_bad_answer_fails_clearly_and_leaves_nothing(tmp_path, capfd, answers, message):
    with pytest.raises(FailedHookException):
        bake(tmp_path, **answers)
    err = capfd.readouterr().err
    assert message in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    # One line each, short enough to read; an unknown scorer's lists all 30 scorer names.
    assert errors and all(len(line) < 700 for line in errors)
    assert list(tmp_path.iterdir()) == []


CLOSING = "error: generation stopped before writing anything; change the answers named above"


def test_on_the_command_line_a_bad_answer_is_our_lines_only(tmp_path):
    """No traceback, no "Hook script failed": our errors first, our closing line last."""
    done = cookiecutter_cli(tmp_path, "project_slug=a/b")
    assert done.returncode == 1
    lines = (done.stderr + done.stdout).splitlines()
    assert lines[0].startswith("error: project_slug: 'a/b' is not a folder name"), lines
    assert lines[-1].startswith(CLOSING), lines
    assert all(line.startswith("error: ") for line in lines), lines
    assert list(tmp_path.iterdir()) == []


def test_a_config_rule_is_our_lines_only_and_leaves_no_folder(tmp_path):
    """A rule of the rendered project's config (a gate on a scorer not chosen) is found on a
    trial render before generation: no traceback, no "Hook script failed", no project folder."""
    done = cookiecutter_cli(tmp_path, "quality_gates=pii=1.0,nope=1.0")
    assert done.returncode == 1
    lines = (done.stderr + done.stdout).splitlines()
    assert lines[0].startswith("error: evaluation.yaml: quality_gates.nope: no scorer named"), lines
    assert lines[0].endswith("(change the answer 'quality_gates' and generate again)"), lines
    assert lines[-1].startswith(CLOSING), lines
    assert all(line.startswith("error: ") for line in lines), lines
    assert list(tmp_path.iterdir()) == []


def test_a_bad_answer_typed_at_the_prompts_stops_before_any_folder(tmp_path):
    typed = {"project_slug": "a/b"}
    answers = [typed.get(key, "") for key in DEFAULTS if not key.startswith("_")]
    done = cookiecutter_cli(tmp_path, stdin="\n".join(answers) + "\n")
    assert done.returncode == 1
    assert "error: project_slug: 'a/b' is not a folder name" in done.stderr
    assert done.stdout.rstrip().endswith(CLOSING + " and run again")
    assert "Traceback" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []
