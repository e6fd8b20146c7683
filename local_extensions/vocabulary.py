"""The template's vocabulary, defined once: the journeys, the answers with a fixed set of
values, the scorers (name and kind) and the default scorers and gates per target.

Used by cookiecutter.json's defaults and the templates (through the Vocabulary extension), by
the pre-generation hook's checks (answers.py), and by the rendered project, which keeps a copy
as src/<package>/vocabulary.json (its config and scorer catalog read it).
"""

from __future__ import annotations

# journeys.<key> in evaluation.yaml; the answer is journey_<key>.
JOURNEYS = {
    "regression": "regression detection: compare a baseline and a candidate, input by input",
    "profiling": "performance profiling: latency and tokens per span",
    "tracing": "trace ingestion to Unity Catalog and production monitoring",
    "align_optimize": "align-optimize-deploy: expert labels, judge alignment, prompt optimization",
    "datasets": "datasets: build and grow the evaluation dataset from traces and edge cases",
}

# Answers with a fixed set of values. Checked by the pre-generation hook rather than made
# cookiecutter choice lists: with a config file, cookiecutter only warns about a value outside a
# choice list and then ignores every later key.
CHOICES = {
    "target": ["local", "databricks"],
    # single_turn: one request, one answer; tool_calling: the agent calls tools (TOOL spans) and
    # the dataset says which calls each request needs; multi_turn: the agent holds conversations
    # (each turn a trace of one session) and the dataset holds goals (agent.shape).
    "agent_shape": ["single_turn", "tool_calling", "multi_turn"],
    "ci_provider": ["github", "gitlab", "none"],
}

# kind: "llm" needs a judge model, "deterministic" runs offline. expectations: the scorer only
# applies to records carrying expectations (so it cannot monitor production traces). session:
# it scores whole conversations (agent_shape multi_turn), not one answer.
SCORERS = {
    "safety": {"kind": "llm", "expectations": False},
    "correctness": {"kind": "llm", "expectations": True},
    "guidelines": {"kind": "llm", "expectations": False},
    "relevance": {"kind": "llm", "expectations": False},
    "completeness": {"kind": "llm", "expectations": False},
    "retrieval_groundedness": {"kind": "llm", "expectations": False},
    "retrieval_relevance": {"kind": "llm", "expectations": False},
    "retrieval_sufficiency": {"kind": "llm", "expectations": True},
    "equivalence": {"kind": "llm", "expectations": True},
    "expectations_guidelines": {"kind": "llm", "expectations": True},
    "tool_call_correctness": {"kind": "llm", "expectations": False},
    "tool_call_efficiency": {"kind": "llm", "expectations": False},
    # Conversation (session-level) judges: one verdict per conversation, for multi_turn agents.
    "conversation_completeness": {"kind": "llm", "expectations": False, "session": True},
    "conversational_safety": {"kind": "llm", "expectations": False, "session": True},
    "conversational_guidelines": {"kind": "llm", "expectations": False, "session": True},
    "conversational_role_adherence": {"kind": "llm", "expectations": False, "session": True},
    "conversational_tool_call_efficiency": {"kind": "llm", "expectations": False, "session": True},
    "knowledge_retention": {"kind": "llm", "expectations": False, "session": True},
    "user_frustration": {"kind": "llm", "expectations": False, "session": True},
    # Several LLM judges of one type (one per model) voting: configured in evaluation.yaml only,
    # as it needs options (the judge type, the models, the vote) a prompt answer cannot give.
    "ensemble": {"kind": "llm", "expectations": False},
    "pii": {"kind": "deterministic", "expectations": False},
    "length": {"kind": "deterministic", "expectations": False},
    "regex": {"kind": "deterministic", "expectations": False},
    "fact_coverage": {"kind": "deterministic", "expectations": True},
    "refusal": {"kind": "deterministic", "expectations": True},
    "tool_calls": {"kind": "deterministic", "expectations": True},
    "tool_budget": {"kind": "deterministic", "expectations": False},
    # Conversation checks run offline: the goal's markers said, earlier facts kept.
    "goal_reached": {"kind": "deterministic", "expectations": True, "session": True},
    "facts_retained": {"kind": "deterministic", "expectations": True, "session": True},
}
# What a scorer (and so a gate) may be named.
SCORER_NAME = r"^[a-z][a-z0-9_]*$"
# The quality_gates answer: name=threshold pairs, comma separated (or a mapping from a config
# file, or that mapping as JSON text).
GATE_SYNTAX = "name=threshold pairs, e.g. pii=1.0,refusal=1.0"

# The seed's gates on Databricks (LLM judges); deterministic scorers that really check
# something locally, where no judge can run offline.
DEFAULTS = {
    "local": {
        "scorers": "pii,length,fact_coverage,refusal",
        "quality_gates": "pii=1.0,length=1.0,fact_coverage=0.9,refusal=1.0",
    },
    "databricks": {
        "scorers": "safety,correctness,guidelines,pii,length,fact_coverage,refusal",
        "quality_gates": "safety=1.0,correctness=0.9,helpful=0.85",
    },
}


# Added to the target's defaults for an agent shape: the checks of what the shape adds.
# per_turn_expectations false: a conversation's record has no per-answer expectations, so the
# target's scorers that need them (fact_coverage, refusal, correctness) are left out.
SHAPE_DEFAULTS = {
    "single_turn": {"scorers": "", "quality_gates": "", "per_turn_expectations": True},
    "tool_calling": {
        "scorers": "tool_calls,tool_budget",
        "quality_gates": "tool_calls=1.0,tool_budget=1.0",
        "per_turn_expectations": True,
    },
    "multi_turn": {
        "scorers": "goal_reached,facts_retained",
        "quality_gates": "goal_reached=1.0,facts_retained=1.0",
        "per_turn_expectations": False,
    },
}


def default_answers(target: str, shape: str) -> dict[str, str]:
    """The scorers and quality_gates answers' defaults for a target and an agent shape."""
    base, added = DEFAULTS.get(target, DEFAULTS["local"]), SHAPE_DEFAULTS[shape]
    scorers = [s for s in base["scorers"].split(",") if s]
    gates = [g for g in base["quality_gates"].split(",") if g]
    if not added["per_turn_expectations"]:
        dropped = {s for s in scorers if SCORERS[s]["expectations"]}
        scorers = [s for s in scorers if s not in dropped]
        gates = [g for g in gates if g.partition("=")[0] not in dropped]
    scorers += [s for s in added["scorers"].split(",") if s]
    gates += [g for g in added["quality_gates"].split(",") if g]
    return {"scorers": ",".join(scorers), "quality_gates": ",".join(gates)}


def as_data() -> dict:
    """Everything above as one JSON-ready mapping (the rendered project's vocabulary.json)."""
    return {
        "journeys": JOURNEYS,
        "choices": CHOICES,
        "scorers": SCORERS,
        "scorer_name": SCORER_NAME,
        "gate_syntax": GATE_SYNTAX,
        "defaults": DEFAULTS,
        "shape_defaults": SHAPE_DEFAULTS,
        # "<target>:<shape>": the scorers and quality_gates defaults (cookiecutter.json)
        "default_answers": {
            f"{target}:{shape}": default_answers(target, shape)
            for target in CHOICES["target"]
            for shape in CHOICES["agent_shape"]
        },
    }
