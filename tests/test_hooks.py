"""The hooks' logic, imported and unit-tested (it also runs for real in test_validation): the
answers' checks live in the template's extension (local_extensions/answers.py), which the
pre-generation hook prints the findings of."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.environment import StrictEnvironment
from cookiecutter.exceptions import FailedHookException
from jinja2.exceptions import UndefinedError

from hooks import post_gen_project as post
from hooks import pre_gen_project as pre_hook
from local_extensions import answers as pre
from local_extensions import text, vocabulary

GOOD = {
    "project_name": "Support Agent Eval",
    "project_slug": "support-agent-eval",
    "package_name": "support_agent_eval",
    "target": "local",
    "ci_provider": "github",
    "agent_shape": "single_turn",
    "journey_regression": True,
    "journey_profiling": False,
    "journey_tracing": False,
    "journey_align_optimize": False,
    "journey_datasets": True,
    "scorers": "pii,length,fact_coverage,refusal",
    "quality_gates": "pii=1.0,fact_coverage=0.9",
    "python_version": "3.11",
}


def errors(**changes):
    return pre.validate({**GOOD, **changes})


def test_good_answers_pass():
    assert errors() == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("project_name", "  ", "project_name: is empty"),
        ("project_name", "a\nb", "project_name: contains a line break"),
        ("project_slug", "../escape", "project_slug: '../escape' is not a folder name"),
        ("project_slug", "My Project", "project_slug: 'My Project' is not a folder name"),
        ("project_slug", "", "project_slug: '' is not a folder name"),
        ("package_name", "my-pkg", "package_name: 'my-pkg' is not a valid Python package name"),
        ("package_name", "class", "package_name: 'class' is not a valid Python package name"),
        ("package_name", "mlflow", "package_name: 'mlflow' shadows an existing module"),
        ("package_name", "json", "package_name: 'json' shadows an existing module"),
        ("target", "azure", "target: 'azure' is not one of ['local', 'databricks']"),
        ("ci_provider", "jenkins", "ci_provider: 'jenkins' is not one of"),
        ("agent_shape", "multi_agent", "agent_shape: 'multi_agent' is not one of ['single_turn', "),
        ("journey_tracing", "maybe", "journey_tracing: 'maybe' is not yes/no"),
        ("scorers", "", "scorers: is empty"),
        ("scorers", "pii,Safety!", "scorers: 'Safety!' is not a scorer name"),
        ("scorers", "pii,pii", "scorers: ['pii'] listed twice"),
        ("quality_gates", "pii", "quality_gates: 'pii' is not name=threshold"),
        ("quality_gates", "pii=high", "quality_gates: threshold 'high' of 'pii' is not a number"),
        ("quality_gates", {"pii": "x"}, "quality_gates: threshold 'x' of 'pii' is not a number"),
        ("quality_gates", "", "quality_gates: is empty"),
        ("python_version", "3.9", "python_version: '3.9' is not 3.10 or newer"),
    ],
)
def test_each_bad_answer_is_named(key, value, expected):
    found = errors(**{key: value})
    assert any(expected in e for e in found), found


def test_gate_answers_as_text_or_mapping():
    assert pre.gate_pairs("a=1, b = 0.5,") == {"a": "1", "b": "0.5"}
    assert pre.gate_pairs({"a": 1.0}) == {"a": 1.0}
    assert pre.split_list(["pii", " length "]) == ["pii", "length"]


def test_the_templates_read_gates_as_numbers_and_never_fail():
    assert pre.gate_thresholds('{"pii": 1, "refusal": "0.5"}') == {"pii": 1.0, "refusal": 0.5}
    assert pre.gate_thresholds("pii=1.0, refusal = high") == {"pii": 1.0}  # the hook refused it
    assert pre.gate_thresholds("pii>0.9") == {}


def test_the_hook_prints_the_report_and_fails_on_errors(capsys):
    assert pre_hook.main({"errors": [], "warnings": ["w"]}) == 0
    assert pre_hook.main({"errors": ["scorers: is empty"], "warnings": []}) == 1
    assert capsys.readouterr().err == "warning: w\nerror: scorers: is empty\n"


def test_every_default_names_known_scorers_and_gates_them():
    for target, default in vocabulary.DEFAULTS.items():
        assert target in vocabulary.CHOICES["target"]
        scorers = pre.split_list(default["scorers"])
        assert set(scorers) <= set(vocabulary.SCORERS), target
        gated = set(pre.gate_thresholds(default["quality_gates"])) - {"helpful"}  # guidelines
        assert gated <= set(scorers), target
        assert pre.validate({**GOOD, "target": target, **default}) == []


def test_each_agent_shape_adds_known_scorers_and_gates_them():
    for shape in vocabulary.CHOICES["agent_shape"]:
        added = vocabulary.SHAPE_DEFAULTS[shape]
        scorers = pre.split_list(added["scorers"])
        assert set(scorers) <= set(vocabulary.SCORERS), shape
        assert set(pre.gate_thresholds(added["quality_gates"])) == set(scorers), shape
    assert set(vocabulary.SHAPE_DEFAULTS) == set(vocabulary.CHOICES["agent_shape"])


def test_each_target_and_shape_proposes_scorers_that_fit_it():
    """The scorers and quality_gates defaults per target and agent shape: the shape's checks
    added, and for conversations the target's scorers of one answer's expectations left out
    (a conversation record has none)."""
    for target in vocabulary.CHOICES["target"]:
        for shape in vocabulary.CHOICES["agent_shape"]:
            answers = vocabulary.as_data()["default_answers"][f"{target}:{shape}"]
            scorers = pre.split_list(answers["scorers"])
            gated = set(pre.gate_thresholds(answers["quality_gates"])) - {"helpful"}
            assert gated <= set(scorers), (target, shape)
            assert pre.validate({**GOOD, "target": target, "agent_shape": shape, **answers}) == []
    talks = vocabulary.default_answers("local", "multi_turn")
    assert talks == {
        "scorers": "pii,length,goal_reached,facts_retained",
        "quality_gates": "pii=1.0,length=1.0,goal_reached=1.0,facts_retained=1.0",
    }
    assert "correctness" not in vocabulary.default_answers("databricks", "multi_turn")["scorers"]


def test_the_scorer_prompt_lists_the_vocabulary():
    import json

    from tests.conftest import TEMPLATE

    prompt = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]["scorers"]
    for kind, label in (("llm", "LLM:"), ("deterministic", "offline:")):
        listed = prompt.split(label, 1)[1].split(";")[0].rstrip(")").split(",")
        # An ensemble needs options (its judge type, models and vote) a prompt answer cannot
        # give: it is configured in evaluation.yaml only, so the prompt leaves it out.
        names = {n for n, s in vocabulary.SCORERS.items() if s["kind"] == kind and n != "ensemble"}
        assert {n.strip() for n in listed} == names, kind


def test_team_defaults_that_cookiecutter_would_drop_are_named():
    default_context = {
        "uc_catlog": "agents",
        "journey_tracing": "maybe",
        "journey_profiling": "yes",
        "journey_regression": False,
        "target": "databricks",
        "_copy_without_render": [],
    }
    errors, warnings = pre.check_team_defaults(default_context, {**GOOD, "uc_catalog": "main"})
    assert errors == [
        "journey_tracing: 'maybe' is not yes/no, so cookiecutter ignored it and every key after "
        "it; write true or false"
    ]
    assert warnings == [
        "uc_catlog: is not a question of this template, so cookiecutter ignored it; "
        "check its spelling in cookiecutter.json"
    ]


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ("", None),
        ("/teams/defaults.yaml", "/teams/defaults.yaml"),
        ("teams/defaults.yaml", "/started/here/teams/defaults.yaml"),
    ],
    ids=["unset", "absolute", "relative-to-where-the-command-started"],
)
def test_config_file_in_environment(monkeypatch, named, expected):
    monkeypatch.setenv("COOKIECUTTER_CONFIG", named)
    monkeypatch.setenv("PWD", "/started/here")
    found = pre.config_file_in_environment()
    assert (str(found) if found else None) == expected


def test_team_defaults_report_names_the_file(tmp_path: Path, monkeypatch):
    (tmp_path / "team.yaml").write_text(
        "default_context:\n  journey_tracing: maybe\n  uc_catalog: agents\n"
    )
    monkeypatch.setenv("COOKIECUTTER_CONFIG", "team.yaml")
    monkeypatch.setenv("PWD", str(tmp_path))
    errors, warnings = pre.team_defaults_report({**GOOD, "uc_catalog": "agents"})
    assert errors == [
        "team.yaml: default_context.journey_tracing: 'maybe' is not yes/no, so cookiecutter "
        "ignored it and every key after it; write true or false"
    ]
    assert warnings == []
    monkeypatch.setenv("COOKIECUTTER_CONFIG", "elsewhere.yaml")
    errors, warnings = pre.team_defaults_report(GOOD)
    assert errors == [] and warnings[0].startswith("COOKIECUTTER_CONFIG: could not re-read")


def test_remove_empty_dirs_is_idempotent(tmp_path: Path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "keep.py").write_text("")
    removed = post.remove_empty_dirs(tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in removed} == {".github/workflows", ".github"}
    assert post.remove_empty_dirs(tmp_path) == []
    assert (tmp_path / "src" / "keep.py").exists()


def test_answer_for_maps_config_fields_to_answers():
    assert post.answer_for("quality_gates.x") == "quality_gates"
    assert post.answer_for("unity_catalog.catalog") == "uc_catalog"
    assert post.answer_for("judge.model") == "judge_model"
    assert post.answer_for("agent.shape") == "agent_shape"
    assert post.answer_for("concurrency.max_workers") is None
    assert post.answer_for("scorers_extra") is None  # a prefix only matches whole fields


def test_post_hook_validates_with_the_rendered_config_module(baked):
    project = baked()
    assert post.validate_config(project, "support_agent_eval") == []
    config = project / "evaluation.yaml"
    config.write_text(config.read_text().replace("fact_coverage: 0.9", "fact_coverage: 9.0"))
    problems = post.validate_config(project, "support_agent_eval")
    assert [str(p) for p in problems] == [
        "evaluation.yaml: quality_gates.fact_coverage: 9.0 is above 1.0; "
        "a fact_coverage mean lies between 0.0 and 1.0"
    ]
    # Structured, so the hook maps the field to the answer without parsing the message.
    (problem,) = problems
    assert (problem.field, problem.value) == ("quality_gates.fact_coverage", 9.0)
    assert problem.fix == "a fact_coverage mean lies between 0.0 and 1.0"
    assert not list(project.rglob("__pycache__"))


def test_check_answers_stops_with_every_error_before_any_folder(capsys):
    assert pre.check_answers(GOOD) == "passed"
    with pytest.raises(FailedHookException) as stopped:  # what callers already catch
        pre.check_answers({**GOOD, "project_slug": "a/b", "python_version": "2.7"})
    assert isinstance(stopped.value, pre.AnswerError)
    assert str(stopped.value).startswith("error: generation stopped before writing anything")
    assert capsys.readouterr().err.splitlines() == [
        "error: project_slug: 'a/b' is not a folder name; use lowercase letters, digits and "
        "single hyphens, starting with a letter (e.g. support-agent-eval)",
        "error: python_version: '2.7' is not 3.10 or newer in major.minor form",
    ]


def test_a_gates_mapping_not_rendered_yet_is_left_to_the_hook():
    """cookiecutter renders mappings after `__answer_checks`: absent then, checked later."""
    pending = {key: value for key, value in GOOD.items() if key != "quality_gates"}
    assert pre.validate(pending) == []
    assert pre.validate({**GOOD, "quality_gates": {}}) == [
        "quality_gates: is empty; set at least one gate, e.g. pii=1.0"
    ]


AWKWARD = [
    "Cite the shop's policy & say <why>",
    'a "quoted" \\path\\ and a tab\tand\r\nlines',
    "« en français », 日本語, emoji 🙂",
    "controls \x00 \x7f \x85 \u2028 \u2029 \ufeff",
    "{{ outputs }} {% endraw %} {# #}",
]


@pytest.mark.parametrize("value", AWKWARD)
def test_yaml_scalar_reads_back_the_same_value(value):
    written = text.yaml_scalar(value)
    assert yaml.safe_load(f"key: {written}\n") == {"key": value}
    assert json.loads(written) == value


@pytest.mark.parametrize("value", AWKWARD)
def test_toml_string_reads_back_the_same_text(value):
    assert tomllib.loads(f"key = {text.toml_string(value)}\n") == {"key": value}


def test_yaml_scalar_is_readable():
    assert text.yaml_scalar("the user's <question> & more") == '"the user\'s <question> & more"'
    assert text.yaml_scalar("« été »") == '"« été »"'
    assert text.yaml_scalar(True) == "true"


def render_answer(source: str) -> str:
    """An answer from the command line or a config file, rendered as cookiecutter does."""
    env = StrictEnvironment(
        context={"cookiecutter": {"_extensions": ["local_extensions.Vocabulary"]}}
    )
    return env.from_string(source).render(cookiecutter={"project_slug": "returns-agent"})


# Answers holding Jinja's markers that Jinja cannot render: kept character for character (line
# breaks included, which Jinja would normalise in a template).
AS_WRITTEN = [
    "Judge {{ outputs }} against {{expectations}}",
    'Quote "{{ outputs }}", a \\path\\, a tab\tand\r\nlines',
    "« {{ outputs }} » 🙂 \x7f \u2028",
    "{{ outputs }} {% endraw %} {# #}",
    "x {% if",
    "{{ outputs }",
    "a {# b",
]


@pytest.mark.parametrize("value", AS_WRITTEN)
def test_text_jinja_cannot_render_is_kept_as_written(value):
    assert render_answer(value) == value


def test_templates_of_the_answers_still_render():
    assert render_answer("/Shared/{{ cookiecutter.project_slug }}") == "/Shared/returns-agent"
    assert render_answer("{{ vocabulary.defaults.local.scorers }}").startswith("pii,")
    assert render_answer("{% raw %}{{ outputs }}{% endraw %}") == "{{ outputs }}"
    # A template that uses the answers is one: its mistakes are Jinja's errors, not text.
    with pytest.raises(UndefinedError, match="no_such_answer"):
        render_answer("{{ cookiecutter.no_such_answer }}")
