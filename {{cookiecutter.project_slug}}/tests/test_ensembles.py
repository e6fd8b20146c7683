"""Scorer ensembles: config rules, the vote, and evaluate end to end against the loopback judge
test double, where some judge models always answer "no"."""

import json

import mlflow
import pytest
import yaml
from conftest import LOCAL
from llm_test_double import LlmTestDouble
from test_config import problems
from test_evaluate import offline
from test_judge_cache import evaluate

from {{ cookiecutter.package_name }}.config import load_config
from {{ cookiecutter.package_name }}.evaluation.ensembles import EveryMemberFailed, combine

MODELS = ["openai:/judge-a", "openai:/judge-b", "openai:/judge-c"]
MODEL_NAMES = [m.removeprefix("openai:/") for m in MODELS]
ROWS = 5  # of the shipped dataset: enough to count, few enough to stay quick


def panel(**options):
    return {"type": "ensemble", "scorer": "safety", "models": MODELS, **options}


def test_an_ensemble_needs_no_judge_model(write_config):
    changes = {**LOCAL, "scorers": {"safety_panel": panel()}, "quality_gates": {"safety_panel": 1}}
    config = load_config(write_config(**changes))
    [scorer] = config.scorers
    assert scorer.type == "ensemble" and scorer.options["models"] == MODELS
    assert config.judge_model == "none" and config.uses_judge


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"scorer": "correctness"},
            "scorers.safety_panel.scorer: 'correctness' cannot be an ensemble member; use one of "
            "['completeness', 'relevance', 'retrieval_groundedness', 'retrieval_relevance', "
            "'safety', 'tool_call_correctness', 'tool_call_efficiency']",
        ),
        (  # an ensemble votes on one answer's verdicts, a conversation judge gives one per session
            {"scorer": "knowledge_retention"},
            "scorers.safety_panel.scorer: 'knowledge_retention' cannot be an ensemble member",
        ),
        (
            {"models": ["openai:/judge-a"]},
            "scorers.safety_panel.models: ['openai:/judge-a'] lists 1 model(s); list 2 or more",
        ),
        (
            {"models": ["openai:/judge-a", "gpt-4"]},
            "scorers.safety_panel.models: 'gpt-4' is not a model URI",
        ),
        (
            {"models": ["openai:/judge-a", "openai:/judge-a"]},
            "scorers.safety_panel.models: ['openai:/judge-a'] listed twice",
        ),
        (
            {"vote": "unanimous"},
            "scorers.safety_panel.vote: 'unanimous' is not a vote; use majority",
        ),
        ({"models": "openai:/judge-a"}, "scorers.safety_panel.models: 'openai:/judge-a' has the"),
        ({"scorer": None}, "scorers.safety_panel.scorer: ensemble needs 'scorer'"),
    ],
)
def test_ensemble_config_problems_name_the_field(write_config, options, expected):
    changes = {**LOCAL, "scorers": {"safety_panel": panel(**options)}}
    path = write_config(**{**changes, "quality_gates": {"safety_panel": 1.0}})
    assert expected in problems(path)


def test_a_tool_call_panel_needs_an_agent_that_calls_tools(write_config):
    """Tool-call judges may vote in a panel; the agent-shape check reads the member's type."""
    panel_of_tool_judges = {"safety_panel": panel(scorer="tool_call_efficiency")}
    changes = {**LOCAL, "agent__shape": "single_turn", "scorers": panel_of_tool_judges}
    path = write_config(**{**changes, "quality_gates": {"safety_panel": 1.0}})
    assert (
        "scorers.safety_panel: tool_call_efficiency scores the agent's tool calls, but "
        "agent.shape is single_turn" in problems(path)
    )


def feedback(value=None, error=None):
    from mlflow.entities import Feedback

    return Feedback(name="m", value=value, error=error)


def test_the_vote_fails_closed_and_names_every_member():
    two = ["openai:/a", "openai:/b"]
    tie = combine([feedback("yes"), feedback("no")], two, "majority")
    assert tie.value == "no" and tie.metadata == {"agreement": "split"}
    assert tie.rationale == "1 of 2 judges say yes: openai:/a yes, openai:/b no"
    errored = combine([feedback("yes"), feedback(error=ValueError("down"))], two, "mean")
    assert errored.value == 0.5 and "openai:/b error (down)" in errored.rationale
    same = combine([feedback("yes"), feedback("yes")], two, "majority")
    assert same.value == "yes" and same.metadata == {"agreement": "unanimous"}
    with pytest.raises(EveryMemberFailed, match="openai:/a: down"):
        combine([feedback(error=ValueError("down"))] * 2, two, "majority")


def judged_by_panel(project_copy, base_url, monkeypatch, threshold, **options):
    """The shipped config offline on its first rows, gated only by a 3-judge safety panel."""
    raw = offline(project_copy / "evaluation.yaml")
    dataset = project_copy / "data" / "eval_dataset.jsonl"
    dataset.write_text("".join(dataset.read_text().splitlines(keepends=True)[:ROWS]))
    raw["judge"] = {"model": "none", "cache": True, "cache_dir": ".judge-cache"}
    raw["scorers"]["safety_panel"] = panel(**options)
    raw["quality_gates"] = {"safety_panel": threshold}
    (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_BASE", base_url)


def panel_rationales(project_copy, run_id) -> list[str]:
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    frame = mlflow.search_traces(run_id=run_id, locations=[run.info.experiment_id])
    return [
        a["rationale"]
        for assessments in frame["assessments"]
        for a in assessments
        if a["assessment_name"] == "safety_panel"
    ]


def agreement_line(report) -> str:
    return next(n for n in report["notes"] if n.startswith("`safety_panel`: the 3 judges"))


def test_a_majority_panel_passes_over_one_dissenting_judge_and_reuses_its_verdicts(
    project_copy, monkeypatch
):
    with LlmTestDouble() as double:
        double.no_models = {"judge-b"}
        judged_by_panel(project_copy, double.base_url, monkeypatch, 1.0)
        done, first = evaluate(project_copy)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert first["rows"] == ROWS and first["passed"] is True
        assert double.counts["judge"] == 3 * ROWS  # one call per member per row
        assert sorted({r["body"]["model"] for r in double.requests if r["kind"] == "judge"}) == [
            "judge-a",
            "judge-b",
            "judge-c",
        ]
        expected = (
            "2 of 3 judges say yes: openai:/judge-a yes, openai:/judge-b no, openai:/judge-c yes"
        )
        assert panel_rationales(project_copy, first["run_id"]) == [expected] * ROWS
        line = agreement_line(first)
        assert line.startswith(f"`safety_panel`: the 3 judges agreed on 0 of {ROWS} rows (0%)")
        assert "split rows: " in line and "(2 of 3 judges say yes)" in line
        assert line in (project_copy / "reports" / "gates.md").read_text()
        terminal = " ".join(done.stdout.split())  # the terminal wraps long notes
        assert f"the 3 judges agreed on 0 of {ROWS} rows (0%); split rows: " in terminal

        done, second = evaluate(project_copy)
        assert done.returncode == 0 and double.counts["judge"] == 3 * ROWS  # no call more
        assert second["judge_cache"]["hits"] == ROWS
        assert agreement_line(second) == line


def test_a_majority_panel_fails_when_two_judges_say_no(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        double.no_models = {"judge-a", "judge-c"}
        judged_by_panel(project_copy, double.base_url, monkeypatch, 1.0)
        done, report = evaluate(project_copy)
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        [gate] = report["gates"]
        assert gate["passed"] is False and gate["observed"] == 0.0
        assert [r["rationale"] for r in gate["failing_rows"]][:1] == [
            "1 of 3 judges say yes: openai:/judge-a no, openai:/judge-b yes, openai:/judge-c no"
        ]
        assert agreement_line(report).startswith(
            f"`safety_panel`: the 3 judges agreed on 0 of {ROWS} rows"
        )


def test_a_mean_panel_scores_the_share_of_yes(project_copy, monkeypatch):
    with LlmTestDouble() as double:
        double.no_models = {"judge-b"}
        judged_by_panel(project_copy, double.base_url, monkeypatch, 0.6, vote="mean")
        done, report = evaluate(project_copy)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert report["gates"][0]["observed"] == pytest.approx(2 / 3)
        double.no_models = {"judge-a", "judge-b"}
        done, report = evaluate(project_copy, "--no-judge-cache")
        assert done.returncode == 1
        assert report["gates"][0]["observed"] == pytest.approx(1 / 3)
        values = {r["shown"] for r in report["gates"][0]["failing_rows"]}
        assert values == {"0.333"}, json.dumps(report["gates"][0], indent=1)


def test_tool_call_judges_vote_on_a_tool_calling_agents_calls(project_copy, monkeypatch):
    """A panel of MLflow's ToolCallEfficiency judges: each member reads the row's tool calls
    from its trace (the tool names reach every judge call) and the panel gates them.

    MLflow 3.17.2's judge also asks MLflow's default judge model (openai:/gpt-4.1-mini off
    Databricks, whatever model the judge was given) to list the tools the agent had, once per
    verdict, when no LLM span of the trace records them (the offline sample agent has none):
    the project makes that default the first configured judge, so no call goes elsewhere."""
    with LlmTestDouble() as double:
        double.no_models = {"judge-b"}
        judged_by_panel(
            project_copy, double.base_url, monkeypatch, 1.0, scorer="tool_call_efficiency"
        )
        raw = yaml.safe_load((project_copy / "evaluation.yaml").read_text())
        raw["agent"]["shape"] = "tool_calling"
        (project_copy / "evaluation.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        done, report = evaluate(project_copy)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        judged = [r for r in double.requests if r["kind"] == "judge"]
        models = sorted(r["body"]["model"] for r in judged)
        assert models == sorted([*MODEL_NAMES * ROWS, *["judge-a"] * 3 * ROWS])
        texts = [json.dumps(r["body"]) for r in judged]
        verdicts = [text for text in texts if "identify all tools or functions" not in text]
        assert len(verdicts) == 3 * ROWS
        tools = ("extract_facts", "estimate_delivery")
        assert all(any(tool in text for tool in tools) for text in verdicts)
    [gate] = report["gates"]
    assert gate["passed"] and gate["rows_scored"] == ROWS
