"""The config package: the shipped config is valid, and every rule rejects a bad value clearly."""

import pytest
from conftest import DELETE, PROJECT

from {{ cookiecutter.package_name }}.config import ConfigError, load_config
from {{ cookiecutter.package_name }}.project import load_project


def problems(path) -> str:
    """Every problem check-config reports: the settings and the dataset they name."""
    with pytest.raises(ConfigError) as err:
        load_project(path)
    return str(err.value)


def test_the_shipped_config_is_valid():
    config = load_config(PROJECT / "evaluation.yaml")
    assert config.quality_gates
    assert set(config.quality_gates) <= {s.name for s in config.scorers}


def test_gate_must_name_a_chosen_scorer(write_config):
    message = problems(write_config(quality_gates={"helpfulness": 0.8}))
    assert "quality_gates.helpfulness: no scorer named 'helpfulness'" in message


def test_threshold_of_a_yes_no_mean_must_lie_in_0_1(write_config):
    scorer = next(iter(load_config(PROJECT / "evaluation.yaml").quality_gates))
    message = problems(write_config(quality_gates={scorer: 4.0}))
    assert f"quality_gates.{scorer}: 4.0 is above 1.0" in message


def test_threshold_must_be_a_number(write_config):
    scorer = next(iter(load_config(PROJECT / "evaluation.yaml").quality_gates))
    assert "is not a number" in problems(write_config(quality_gates={scorer: "high"}))


def test_no_gate_is_an_error(write_config):
    assert "quality_gates: set at least one gate" in problems(write_config(quality_gates={}))


def test_unknown_scorer_is_named_with_a_suggestion(write_config):
    message = problems(write_config(scorers={"safty": {}}, quality_gates={"safty": 1.0}))
    assert "scorers.safty: unknown scorer 'safty'; did you mean 'safety'?" in message


def test_llm_scorer_needs_a_judge(write_config):
    message = problems(
        write_config(judge__model="none", scorers={"safety": {}}, quality_gates={"safety": 1.0})
    )
    assert "scorers.safety: safety is an LLM judge but judge.model is 'none'" in message


def test_judge_uri_form(write_config):
    assert "is not a model URI" in problems(write_config(judge__model="gpt-4"))
    config = load_config(
        write_config(
            judge__model="openai:/gpt-4.1-mini",
            scorers={"safety": {}},
            quality_gates={"safety": 1.0},
        )
    )
    assert config.uses_judge


def test_correctness_needs_expectations_in_the_dataset(write_config, project_copy):
    (project_copy / "data" / "eval_dataset.jsonl").write_text('{"inputs": {"query": "hi"}}\n')
    message = problems(
        write_config(
            judge__model="databricks",
            target="databricks",
            mlflow__tracking_uri="databricks",
            mlflow__experiment="/Shared/x",
            agent__prompt__name="main.agents.system",
            scorers={"correctness": {}},
            quality_gates={"correctness": 0.9},
        )
    )
    assert "scorers.correctness: correctness needs rows with expectations" in message


@pytest.mark.parametrize("bad", ["main;DROP", "my-catalog", "`x`", "1abc"])
def test_unity_catalog_names_are_identifiers(write_config, bad):
    assert f"unity_catalog.catalog: {bad!r} is not a valid Unity Catalog name" in problems(
        write_config(unity_catalog__catalog=bad)
    )


def test_warehouse_id_format(write_config):
    assert "is not a SQL warehouse id" in problems(
        write_config(unity_catalog__sql_warehouse_id="abc")
    )
    load_config(write_config(unity_catalog__sql_warehouse_id="0123456789abcdef"))


def test_databricks_prompt_names_are_three_level(write_config):
    message = problems(
        write_config(
            target="databricks",
            mlflow__tracking_uri="databricks",
            mlflow__experiment="/Shared/x",
            agent__prompt__name="system_prompt",
        )
    )
    assert "agent.prompt.name: 'system_prompt' must be catalog.schema.name" in message


def test_databricks_experiment_is_a_workspace_path(write_config):
    message = problems(
        write_config(
            target="databricks",
            mlflow__tracking_uri="databricks",
            mlflow__experiment="my-exp",
            agent__prompt__name="main.a.b",
        )
    )
    assert "must be a workspace path such as /Shared/my-exp" in message


def test_scorer_name_may_not_be_an_expectation_key(write_config):
    message = problems(
        write_config(
            scorers={"expected_facts": {"type": "fact_coverage"}},
            quality_gates={"expected_facts": 0.9},
        )
    )
    assert "'expected_facts' is an expectation key" in message


def test_unknown_setting_is_reported_with_a_suggestion(write_config):
    assert "concurrency.max_worker: unknown setting; did you mean 'max_workers'?" in problems(
        write_config(concurrency__max_worker=4)
    )


def test_agent_needs_exactly_one_of_callable_and_endpoint(write_config):
    assert "set exactly one of agent.callable" in problems(
        write_config(agent__endpoint="endpoints:/x")
    )
    assert "set exactly one of agent.callable" in problems(write_config(agent__callable=DELETE))


def test_regex_pattern_must_compile(write_config):
    message = problems(
        write_config(scorers={"regex": {"pattern": "(unclosed"}}, quality_gates={"regex": 1.0})
    )
    assert "scorers.regex.pattern: '(unclosed' is not a valid regular expression" in message


def test_every_problem_is_reported_at_once(write_config):
    message = problems(write_config(target="cloud", unity_catalog__sql_warehouse_id="nope"))
    assert "target: 'cloud' is not a target" in message
    assert "unity_catalog.sql_warehouse_id: 'nope'" in message


def test_dataset_problems_name_the_line(write_config, project_copy):
    (project_copy / "data" / "eval_dataset.jsonl").write_text(
        '{"inputs": {"query": "ok"}}\nnot json\n'
    )
    assert "eval_dataset.jsonl:2: invalid JSON" in problems(write_config())


def test_record_ids_are_unique(write_config, project_copy):
    (project_copy / "data" / "eval_dataset.jsonl").write_text(
        '{"id": "a", "inputs": {"query": "x"}}\n{"id": "a", "inputs": {"query": "y"}}\n'
    )
    assert "eval_dataset.jsonl:2: id 'a' is already used at data/eval_dataset.jsonl:1;" in problems(
        write_config()
    )
