"""The config package: the shipped config is valid, and every rule rejects a bad value clearly."""

import pytest
from conftest import DELETE, LOCAL, PROJECT

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


def local_config(write_config):
    """This project's config moved to a local store, whichever target it was generated for."""
    return write_config(**LOCAL)


def test_the_store_is_the_option_else_the_environment_else_the_file(write_config, tmp_path):
    """--tracking-uri > MLFLOW_TRACKING_URI > mlflow.tracking_uri; a relative sqlite path from
    the option or the variable starts from the working directory, as MLflow reads it."""
    from {{ cookiecutter.package_name }}.config.model import Overrides

    path = local_config(write_config)
    file = load_config(path, Overrides(cwd=tmp_path))
    assert file.resolved_tracking_uri == f"sqlite:///{path.parent / 'mlflow.db'}"
    assert file.store_line.endswith("mlflow.db (from evaluation.yaml)")
    env = load_config(path, Overrides(environment_tracking_uri="sqlite:///other.db", cwd=tmp_path))
    assert env.resolved_tracking_uri == f"sqlite:///{tmp_path / 'other.db'}"
    assert env.store_line == (
        f"MLflow store: sqlite:///{tmp_path / 'other.db'} (from MLFLOW_TRACKING_URI)"
    )
    both = Overrides(
        tracking_uri="http://127.0.0.1:5000", environment_tracking_uri="sqlite:///other.db"
    )
    assert load_config(path, both).store_line == (
        "MLflow store: http://127.0.0.1:5000 (from --tracking-uri)"
    )
    assert load_config(path).origins == {}  # no overrides: the file as written (the hook's view)


def test_a_bad_store_from_the_environment_or_option_is_named_with_the_files_rule(write_config):
    from {{ cookiecutter.package_name }}.config.model import Overrides

    path = local_config(write_config)
    with pytest.raises(ConfigError) as err:
        load_config(path, Overrides(environment_tracking_uri="databricks"))
    assert str(err.value) == (
        "environment: MLFLOW_TRACKING_URI: 'databricks' is not a local store; use "
        "sqlite:///mlflow.db or an http(s):// MLflow server, or unset MLFLOW_TRACKING_URI to "
        "use mlflow.tracking_uri in evaluation.yaml"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, Overrides(tracking_uri="./mlruns", environment_tracking_uri="databricks"))
    assert str(err.value).startswith(
        "command line: --tracking-uri: './mlruns' is not a local store"
    )


def test_dataset_and_agent_options_replace_the_files_values_and_are_checked(
    write_config, project_copy
):
    from {{ cookiecutter.package_name }}.config.model import Overrides

    path = write_config()
    first = (project_copy / "data" / "eval_dataset.jsonl").read_text().splitlines()[0]
    (project_copy / "one.jsonl").write_text(first + "\n")
    config = load_project(
        path, Overrides(dataset="one.jsonl", agent="endpoints:/my-agent", cwd=project_copy)
    )
    assert config.dataset_path == project_copy / "one.jsonl" and config.dataset_table is None
    assert (config.agent_callable, config.agent_endpoint) == (None, "endpoints:/my-agent")
    assert config.where("agent.callable") == ("--agent", "command line")
    (project_copy / "bad.jsonl").write_text('{"inputs": {"query": "ok"}}\nnot json\n')
    for overrides, expected in (
        (Overrides(dataset="missing.jsonl"), "command line: --dataset: 'missing.jsonl' is not"),
        (Overrides(dataset="bad.jsonl"), "command line: --dataset: bad.jsonl:2: invalid JSON"),
        (
            Overrides(agent="my agent"),
            "command line: --agent: 'my agent' is neither module.path:function nor endpoints:/",
        ),
    ):
        overrides = Overrides(**{**vars(overrides), "cwd": project_copy})
        assert expected in problems_with(path, overrides)


def problems_with(path, overrides) -> str:
    with pytest.raises(ConfigError) as err:
        load_project(path, overrides)
    return str(err.value)


OWN_AGENT = """
def predict(question, context, *, tone="plain"):
    return question


def takes_anything(query, **options):
    return query


def by_position(query, /):
    return query


NOT_A_FUNCTION = 3
"""


def test_the_agent_callable_is_imported_and_matched_against_the_inputs(
    write_config, tmp_path, monkeypatch
):
    """check-config's agent check: every problem names agent.callable, the parameter or key and
    the dataset's records."""
    from {{ cookiecutter.package_name }}.project import agent_problems

    (tmp_path / "own_agent_for_config_test.py").write_text(OWN_AGENT)
    monkeypatch.syspath_prepend(str(tmp_path))

    def found(reference: str) -> list[str]:
        config = load_config(write_config(agent__callable=reference))
        return [str(p) for p in agent_problems(config)]

    where = "evaluation.yaml: agent.callable: own_agent_for_config_test"
    assert found("own_agent_for_config_test:predict") == [
        f"{where}:predict needs parameter 'question', which no record of "
        "data/eval_dataset.jsonl gives in its inputs; add 'question' to the inputs, or give the "
        "parameter a default",
        f"{where}:predict needs parameter 'context', which no record of "
        "data/eval_dataset.jsonl gives in its inputs; add 'context' to the inputs, or give the "
        "parameter a default",
        f"{where}:predict has no parameter 'query', which every record of "
        "data/eval_dataset.jsonl gives in its inputs; rename the parameter or the input key, or "
        "let the function take **kwargs",
    ]
    assert found("own_agent_for_config_test:takes_anything") == []
    assert "positional-only parameter 'query'" in found("own_agent_for_config_test:by_position")[0]
    [constant] = found("own_agent_for_config_test:NOT_A_FUNCTION")
    assert "is not a function: it is of type int" in constant
    [missing] = found("no_such_agent_module:predict")
    assert missing.startswith(
        "evaluation.yaml: agent.callable: 'no_such_agent_module:predict' cannot be imported "
        "(ModuleNotFoundError: No module named 'no_such_agent_module'); put its module in src/"
    )
    assert found("{{ cookiecutter.package_name }}.agent.support_agent:predict") == []


def test_missing_expectations_is_not_applicable_or_error(write_config):
    message = problems(
        write_config(
            scorers={"fact_coverage": {"missing_expectations": "skip"}},
            quality_gates={"fact_coverage": 0.9},
        )
    )
    assert (
        "scorers.fact_coverage.missing_expectations: 'skip' must be one of "
        "['not_applicable', 'error']; not_applicable leaves rows without expectations out of "
        "the gate, error fails it"
    ) in message
    config = load_config(
        write_config(
            scorers={"fact_coverage": {"missing_expectations": "error"}},
            quality_gates={"fact_coverage": 0.9},
        )
    )
    assert config.scorer("fact_coverage").options == {"missing_expectations": "error"}


def test_missing_expectations_belongs_to_scorers_that_need_them(write_config):
    message = problems(
        write_config(scorers={"pii": {"missing_expectations": "error"}}, quality_gates={"pii": 1.0})
    )
    assert (
        "scorers.pii.missing_expectations: not an option of pii; "
        "pii needs no expectations: it scores every row"
    ) in message


@pytest.mark.parametrize(
    "phrases, problem",
    [
        ([], "lists no phrase"),
        (["I can't", " ... "], "' ... ' is not a phrase"),
        (["I can't", 3], "3 is not a phrase"),
        ("I can't", '"I can\'t" has the wrong type for refusal'),
    ],
    ids=["empty", "punctuation", "number", "not-a-list"],
)
def test_refusal_phrases_are_a_list_of_text(write_config, phrases, problem):
    message = problems(
        write_config(scorers={"refusal": {"phrases": phrases}}, quality_gates={"refusal": 1.0})
    )
    assert f"scorers.refusal.phrases: {problem}" in message


def test_refusal_phrases_load(write_config):
    config = load_config(
        write_config(
            scorers={"refusal": {"phrases": ["Je ne peux pas"]}}, quality_gates={"refusal": 1.0}
        )
    )
    assert config.scorer("refusal").options == {"phrases": ["Je ne peux pas"]}
