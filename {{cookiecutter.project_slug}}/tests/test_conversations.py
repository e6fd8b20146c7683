"""The multi-turn agent shape: conversations played by a scripted user (offline) or MLflow's
ConversationSimulator (against the loopback LLM test double), each turn a trace of one session,
the conversation checks gating them, `compare` pairing conversations by their record, and the
config errors a conversation dataset and a single-turn agent give each other."""

import json
import os

import mlflow
import pytest
from llm_test_double import LlmTestDouble
from test_evaluate import config_problems, gated_offline, run_cli, save_config

from {{ cookiecutter.package_name }}.evaluation import session_checks

PACKAGE = "{{ cookiecutter.package_name }}"
TALKS = [
    {
        "id": "order-follow-up",
        "inputs": {
            "goal": "Find out when order A1001 will arrive and which carrier has it",
            "persona": "A customer who names the order once",
            "turns": [
                "Hi, I'm asking about order A1001.",
                "When will it arrive?",
                "Which carrier?",
            ],
        },
        "expectations": {"goal_markers": ["2026-11-25", "UPS"], "retained_facts": ["A1001"]},
    },
    {
        "id": "processing-order",
        "inputs": {
            "goal": "Learn whether A1003 has shipped",
            "turns": ["My order is A1003.", "Has it shipped yet?"],
        },
        "expectations": {"goal_markers": ["not shipped yet"], "retained_facts": ["A1003"]},
    },
    {
        "id": "shipping",
        "inputs": {
            "goal": "Learn the shipping options",
            "turns": ["What shipping options do you have?"],
        },
        "expectations": {"goal_markers": ["Express shipping takes 1-2 business days"]},
    },
]
# The agent answers the first turn from the refund policy but cannot tie "How many days do I
# have?" to it: the conversation does not keep the fact.
FORGETS = {
    "id": "return-days",
    "inputs": {
        "goal": "Learn how long a return may take",
        "turns": ["I want to return a jacket I bought.", "How many days do I have?"],
    },
    "expectations": {"goal_markers": ["30-day window"], "retained_facts": ["30-day window"]},
}


def talk_project(project_copy, rows=TALKS, shape="multi_turn", scorers=None, **conversation):
    """An offline config on conversation `rows`, every scorer gated at 1.0; the raw config."""
    return gated_offline(
        project_copy,
        rows,
        scorers or {"pii": {}, "goal_reached": {}, "facts_retained": {}},
        "data/talks.jsonl",
        callable=f"{PACKAGE}.agent.conversation:chat",
        shape=shape,
        conversation=conversation or None,
    )


def run_traces(project_copy, run_id):
    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    return mlflow.search_traces(
        run_id=run_id, locations=[run.info.experiment_id], return_type="list"
    )


def test_goal_and_retention_verdicts():
    answers = ["Order A1001 shipped with UPS.", "It arrives on 2026-11-25."]
    assert session_checks.goal_verdict(answers, ["ups", "2026-11-25"])[0] == "yes"
    value, why = session_checks.goal_verdict(answers, ["UPS", "tracking"])
    assert value == "no" and "['tracking']" in why and "2 turn(s)" in why
    assert session_checks.retention_verdict(answers, ["A1001"]) == (
        0.0,
        "last answer (turn 2) missing 1 of 1 facts: ['A1001']",
    )
    assert session_checks.retention_verdict(answers, ["2026-11-25"])[0] == 1.0
    assert session_checks.retention_verdict([], ["x"])[0] == 0.0


def test_each_conversation_is_one_session_scored_whole_on_its_first_turn(project_copy):
    talk_project(project_copy)
    done = run_cli("evaluate", cwd=project_copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    gates = {g["gate"]: g for g in report["gates"]}
    assert gates["pii"]["rows_scored"] == 6  # every turn
    assert (gates["goal_reached"]["rows_scored"], gates["goal_reached"]["rows_applicable"]) == (
        3,
        3,
    )
    retained = gates["facts_retained"]
    assert (retained["rows_scored"], retained["rows_not_applicable"]) == (2, 1)
    assert any(
        n.startswith("Conversations: 3 of 3 played by the scripted user") for n in report["notes"]
    )

    traces = run_traces(project_copy, report["run_id"])
    by_record = {}
    for trace in traces:
        by_record.setdefault(trace.info.trace_metadata["mlflow.trace.session"], []).append(trace)
    assert sorted(len(turns) for turns in by_record.values()) == [1, 2, 3]
    follow_up = next(t for t in by_record.values() if len(t) == 3)
    follow_up.sort(key=lambda t: int(t.info.trace_metadata["mlflow.simulation.turn"]))
    assert [t.info.tags["eval.record_id"] for t in follow_up] == [
        "order-follow-up",
        "order-follow-up turn 2",
        "order-follow-up turn 3",
    ]
    first, *later = follow_up
    names = {a.name: a for a in first.info.assessments}
    assert names["goal_markers"].expectation.value == ["2026-11-25", "UPS"]
    assert names["goal_reached"].feedback.value == "yes"
    assert names["facts_retained"].feedback.value == 1.0
    assert all({a.name for a in t.info.assessments} == {"pii"} for t in later)
    # The recalled order: turn 2 names no order, the agent looked up A1001 from turn 1.
    recall = later[0].search_spans(name="recall_order")[0]
    assert recall.outputs == {"order_id": "A1001", "memory": "on"}
    assert later[0].search_spans(name="lookup_order")[0].inputs == {"order_id": "A1001"}


def test_a_conversation_that_loses_a_fact_fails_closed_naming_it(project_copy):
    talk_project(project_copy, [*TALKS, FORGETS])
    done = run_cli("evaluate", cwd=project_copy)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    gates = {
        g["gate"]: g
        for g in json.loads((project_copy / "reports" / "gates.json").read_text())["gates"]
    }
    assert gates["goal_reached"]["passed"]  # the first answer states the 30-day window
    retained = gates["facts_retained"]
    assert not retained["passed"] and retained["observed"] == pytest.approx(2 / 3)
    [failing] = retained["failing_rows"]
    assert failing["input"] == "turn 1: I want to return a jacket I bought."
    assert failing["rationale"] == "last answer (turn 2) missing 1 of 1 facts: ['30-day window']"


def test_an_agent_error_mid_conversation_fails_every_gate(project_copy, monkeypatch):
    module = project_copy / "broken_chat.py"
    module.write_text(
        "import mlflow\n\n\n@mlflow.trace\ndef chat(messages):\n"
        "    if len(messages) > 1:\n        raise RuntimeError('agent down on turn 2')\n"
        "    return 'Order A1001 shipped with UPS on 2026-11-25.'\n"
    )
    raw = talk_project(project_copy)
    raw["agent"]["callable"] = "broken_chat:chat"
    raw["agent"].pop("prompt")
    save_config(project_copy, raw)
    paths = [str(project_copy), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    done = run_cli("evaluate", cwd=project_copy)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    assert not any(g["passed"] for g in report["gates"])
    pii = next(g for g in report["gates"] if g["gate"] == "pii")
    assert "2 row(s) failed to predict" in pii["reason"]
    assert "1 row(s) have no trace" in pii["reason"]  # turn 3 of the first never ran
    assert any("2 conversation(s) stopped by an agent error" in n for n in report["notes"])


def test_conversations_and_single_requests_must_fit_the_agent_shape(project_copy):
    talk_project(project_copy, shape="single_turn", scorers={"pii": {}})
    text = config_problems(project_copy)
    assert (
        "agent.shape: 3 record(s) of data/talks.jsonl are conversations (inputs.goal), "
        "but agent.shape is single_turn" in text
    )

    single = [{"inputs": {"query": "What is your refund policy?"}}]
    talk_project(project_copy, single, scorers={"pii": {}})
    text = config_problems(project_copy)
    assert (
        "1 record(s) of data/talks.jsonl are single requests (no inputs.goal), "
        "but agent.shape is multi_turn" in text
    )


def test_a_conversation_scorer_needs_the_multi_turn_shape_and_the_reverse(project_copy):
    talk_project(project_copy, scorers={"goal_reached": {}, "fact_coverage": {}})
    text = config_problems(project_copy)
    assert (
        "scorers.fact_coverage: fact_coverage checks one answer against its row's expected_facts"
        in text
    )

    talk_project(
        project_copy, [{"inputs": {"query": "Hi"}}], "single_turn", {"knowledge_retention": {}}
    )
    text = config_problems(project_copy)
    assert (
        "scorers.knowledge_retention: knowledge_retention scores whole conversations, "
        "but agent.shape is single_turn" in text
    )
    assert "set agent.shape: multi_turn" in text


def test_a_conversation_without_turns_needs_a_simulated_user(project_copy):
    unscripted = [
        {
            "id": "x",
            "inputs": {"goal": "Find order A1001"},
            "expectations": {"goal_markers": ["UPS"]},
        }
    ]
    talk_project(project_copy, unscripted, scorers={"goal_reached": {}})
    text = config_problems(project_copy)
    assert (
        "agent.conversation.simulator_model: 1 conversation(s) of data/talks.jsonl "
        "(line/row 1) have no scripted turns" in text
    )
    bad = [
        {
            "inputs": {"goal": "", "turns": ["ok", ""], "mood": "x", "context": {"messages": []}},
            "expectations": {"goal_markers": "UPS"},
        }
    ]
    talk_project(project_copy, bad, scorers={"goal_reached": {}})
    text = config_problems(project_copy)
    assert "data/talks.jsonl:1: a conversation's inputs take" in text and "not ['mood']" in text
    assert "data/talks.jsonl:1: 'goal' must be a non-empty string" in text
    assert "data/talks.jsonl:1: 'turns' must be a list of the user's messages" in text
    assert "data/talks.jsonl:1: 'goal_markers' must be a list of non-empty strings" in text
    assert "data/talks.jsonl:1: 'context' may not set ['messages']" in text


def test_the_simulator_plays_the_user_through_its_model(project_copy, monkeypatch):
    """agent.conversation.simulator_model: MLflow's ConversationSimulator asks the model (the
    loopback test double) for each user turn and whether the goal is reached; the records need
    no scripted turns. The double reaches the goal on the second user turn."""
    goals = [
        {
            "id": r["id"],
            "inputs": {k: v for k, v in r["inputs"].items() if k != "turns"},
            "expectations": r["expectations"],
        }
        for r in TALKS[:2]
    ]
    with LlmTestDouble() as double:
        double.goal_turns = 2
        talk_project(project_copy, goals, simulator_model="openai:/sim-user", max_turns=3)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        done = run_cli("evaluate", cwd=project_copy)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Pre-flight: simulated user openai:/sim-user answers at" in done.stdout
        users = [r for r in double.requests if r["kind"] == "user"]
        assert len(users) == 4  # two turns per conversation
        asked = json.dumps([r["body"]["messages"] for r in users])
        assert (
            "Find out when order A1001 will arrive" in asked
            and "A customer who names the order once" in asked
        )
        assert {r["body"]["model"] for r in double.requests} == {"sim-user"}
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    assert all(g["passed"] for g in report["gates"]), report["gates"]
    assert any(
        n.startswith(
            "Conversations: 2 of 2 played by MLflow's ConversationSimulator "
            "(openai:/sim-user), 4 turns"
        )
        for n in report["notes"]
    )
    traces = run_traces(project_copy, report["run_id"])
    first = [t for t in traces if t.info.trace_metadata["mlflow.simulation.turn"] == "0"]
    assert sorted(t.info.tags["eval.record_id"] for t in first) == [
        "order-follow-up",
        "processing-order",
    ]
    assert {t.info.trace_metadata["mlflow.trace.session"] for t in traces} == {
        t.info.trace_metadata["mlflow.trace.session"] for t in first
    }


def test_conversation_judges_score_each_conversation_once(project_copy, monkeypatch):
    """MLflow's conversation judges (here through the loopback LLM test double): one judge call
    per conversation and judge; UserFrustration's none counts as yes."""
    judges = {"conversation_completeness": {}, "knowledge_retention": {}, "user_frustration": {}}
    with LlmTestDouble() as double:
        raw = talk_project(project_copy, scorers=judges)
        raw["judge"] = {"model": "openai:/judge", "cache": False}
        save_config(project_copy, raw)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_API_BASE", double.base_url)
        done = run_cli("evaluate", cwd=project_copy)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        # completeness and frustration once per conversation, knowledge retention per turn
        assert double.counts["judge"] == 3 + 3 + 6
        judged = [
            json.dumps(r["body"]["messages"]) for r in double.requests if r["kind"] == "judge"
        ]
        assert sum("Which carrier?" in text for text in judged) == 3  # the whole conversation
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    frustration = next(g for g in report["gates"] if g["gate"] == "user_frustration")
    assert frustration["passed"] and frustration["rows_scored"] == 3
{%- if cookiecutter.journey_regression %}


def test_compare_pairs_conversations_and_names_the_one_that_forgot(project_copy):
    """A candidate prompt that turns conversation memory off: the follow-up turns lose their
    order, and compare reports facts_retained regressed on those conversations."""
    raw = talk_project(project_copy)
    prompt = project_copy / "src" / PACKAGE / "agent" / "system_prompt.txt"
    candidate = project_copy / "forgetful_prompt.txt"
    candidate.write_text(
        prompt.read_text().replace(
            "Answer style: full", "Answer style: full\nConversation memory: off"
        )
    )
    raw["journeys"]["regression"] = True
    raw["regression"] = {
        "baseline": {"prompt": f"prompts:/{raw['agent']['prompt']['name']}@production"},
        "candidate": {"prompt_file": "forgetful_prompt.txt"},
        "max_regressed_rows": {"facts_retained": 0},
    }
    save_config(project_copy, raw)
    done = run_cli("compare", cwd=project_copy)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    report = (project_copy / "reports" / "regression.md").read_text()
    assert "#### `facts_retained` regressed: turn 1: Hi, I'm asking about order A1001." in report
    assert "#### `facts_retained` regressed: turn 1: My order is A1003." in report
    assert "last answer (turn 3) missing 1 of 1 facts: \\['A1001'\\]" in report
    assert report.count("#### `facts_retained` regressed") == 2
    assert "`goal_reached` regressed" not in report  # the first answers still reach the goals
    assert "evaluated different datasets" not in report  # the same conversations, played twice
{%- endif %}
{%- if cookiecutter.journey_datasets %}


def test_a_managed_dataset_holds_conversations_that_evaluate_plays(project_copy):
    """Conversations merged into an MLflow evaluation dataset come back whole (goal, persona,
    scripted turns, expectations) and `evaluate --dataset mlflow:<name>` plays them; the
    commands that write single-request records refuse a conversation project."""
    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.dataset_record import DatasetRecord
    from {{ cookiecutter.package_name }}.dataset_store import merge, open_or_create, read_records
    from {{ cookiecutter.package_name }}.runtime import connect

    raw = talk_project(project_copy)
    raw["journeys"]["datasets"] = True
    raw["datasets"] = {"name": "talks"}
    save_config(project_copy, raw)
    config = load_config(project_copy / "evaluation.yaml")
    _, experiment = connect(config)
    dataset = open_or_create(config, "talks", experiment.experiment_id)
    records = [DatasetRecord(r["inputs"], r["expectations"], r["id"]) for r in TALKS]
    assert len(merge(config, dataset, records, [])) == 3
    back = sorted(read_records(dataset), key=lambda r: r.id)
    assert [(r.id, r.inputs, r.expectations) for r in back] == sorted(
        [(r.id, r.inputs, r.expectations) for r in records]
    )
    done = run_cli("evaluate", "--dataset", "mlflow:talks", cwd=project_copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((project_copy / "reports" / "gates.json").read_text())
    assert any(n.startswith("Conversations: 3 of 3 played") for n in report["notes"])
    refused = run_cli("dataset", "expand", cwd=project_copy)
    assert refused.returncode == 2
    assert "expand writes variants of single requests, and agent.shape is multi_turn" in (
        refused.stderr
    )


def test_from_traces_turns_each_played_conversation_into_one_record(project_copy):
    """The turns of a session become one conversation record (goal, persona, the user's
    messages in order, the first turn's expectations and record id), merged once; --failed
    selects the conversations whose verdict failed, whole."""
    from {{ cookiecutter.package_name }}.config import load_config
    from {{ cookiecutter.package_name }}.dataset_store import find_dataset, read_records

    raw = talk_project(project_copy, [*TALKS, FORGETS])
    raw["journeys"]["datasets"] = True
    raw["datasets"] = {"name": "talks"}
    save_config(project_copy, raw)
    assert run_cli("evaluate", cwd=project_copy).returncode == 1  # FORGETS fails its gate
    failed = run_cli("dataset", "from-traces", "--failed", "facts_retained", cwd=project_copy)
    assert failed.returncode == 0, failed.stdout[-3000:] + failed.stderr[-3000:]
    config = load_config(project_copy / "evaluation.yaml")
    mlflow.set_tracking_uri(config.resolved_tracking_uri)
    [forgot] = read_records(find_dataset(config, "talks"))
    assert (forgot.id, forgot.inputs, forgot.expectations) == (
        FORGETS["id"],
        FORGETS["inputs"],
        FORGETS["expectations"],
    )
    done = run_cli("dataset", "from-traces", "--run", "evaluation", cwd=project_copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "merged 3 new record(s) into mlflow:talks; 1 already there" in done.stdout
    back = {r.id: r for r in read_records(find_dataset(config, "talks"))}
    for talk in TALKS:
        assert (back[talk["id"]].inputs, back[talk["id"]].expectations) == (
            talk["inputs"],
            talk["expectations"],
        )
    again = run_cli("dataset", "from-traces", "--run", "evaluation", cwd=project_copy)
    assert "merged 0 new record(s)" in again.stdout
{%- endif %}
{%- if cookiecutter.journey_profiling %}


def test_profile_breaks_a_conversation_run_down_per_turn(project_copy):
    raw = talk_project(project_copy)
    raw["journeys"]["profiling"] = True
    raw["profiling"] = {"budgets": {"TOOL.p95_ms": 300}}
    save_config(project_copy, raw)
    assert run_cli("evaluate", cwd=project_copy).returncode == 0
    done = run_cli("profile", cwd=project_copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    markdown = (project_copy / "reports" / "profile.md").read_text()
    assert "6 traces" in markdown and "3 sessions." in markdown
    for turn, traces in (("turn 1", 3), ("turn 2", 2), ("turn 3", 1)):
        assert f"| {turn} | {traces} |" in markdown, markdown
    assert "| MEMORY | `recall_order` | 3 |" in markdown  # the three follow-ups that recalled
{%- endif %}
