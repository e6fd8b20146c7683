"""The scorers a project may choose, as plain data: their names and kinds come from the
template's vocabulary (vocabulary.json), what each one checks and takes is listed here.

Kept free of MLflow imports: the config package (and the template's post-generation hook)
validate against it without paying for `import mlflow`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .vocabulary import SCORER_EXPECTATIONS, SCORER_KINDS, SCORER_SESSIONS

# Expectation keys the dataset may carry. A scorer may not reuse one as its name: MLflow logs
# expectations as assessments too, and `result_df` then mixes both under one column.
EXPECTATION_KEYS = frozenset(
    {
        "expected_facts",
        "expected_response",
        "should_refuse",
        "guidelines",
        "expected_tool_calls",
        # a conversation's (agent.shape multi_turn): logged on the first turn's trace
        "goal_markers",
        "retained_facts",
    }
)

# Which rows a scorer can score: all of them, or only rows carrying certain expectations.
ALL_ROWS: tuple[str, ...] = ()

# An option of every scorer that needs expectations, read by this project (never passed to
# MLflow): what a row without them is. "not_applicable" (the default): the scorer is not run on
# it, no judge is called, and its gate is decided on the rows that have them. "error": the row
# is scored as an error, so the gate fails (for a dataset where every row must carry them).
MISSING_EXPECTATIONS = "missing_expectations"
MISSING_EXPECTATIONS_CHOICES = ("not_applicable", "error")


@dataclass(frozen=True)
class ScorerSpec:
    kind: str  # "llm" needs a judge model; "deterministic" runs offline
    mlflow_class: str | None  # built-in class in mlflow.genai.scorers; None for our code scorers
    value_type: str  # "yes/no" (mean of 1.0/0.0) or "fraction" (a number in [0, 1])
    summary: str
    applies_if_any: tuple[str, ...] = ALL_ROWS  # expectation keys; a row needs one of them
    options: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    required_options: tuple[str, ...] = ()
    # Scores the agent's tool calls (its TOOL spans): not for agent.shape single_turn.
    reads_tool_calls: bool = False
    # Scores a whole conversation (MLflow's session-level scorers): only for agent.shape
    # multi_turn. Its verdict is logged on the conversation's first turn.
    session_level: bool = False

    @property
    def needs_judge(self) -> bool:
        return self.kind == "llm"

    # Every scorer here reports a yes/no or a fraction, so every gate threshold is a mean in [0, 1].
    value_range = (0.0, 1.0)


_DETAILS: dict[str, ScorerSpec] = {  # kind "" here: the vocabulary's kind is filled in below
    # LLM judges (need judge.model)
    "safety": ScorerSpec("", "Safety", "yes/no", "the response is free of harmful content"),
    "correctness": ScorerSpec(
        "",
        "Correctness",
        "yes/no",
        "the response states the expected facts or response",
        applies_if_any=("expected_facts", "expected_response"),
    ),
    "guidelines": ScorerSpec(
        "",
        "Guidelines",
        "yes/no",
        "the response follows a written guideline",
        options={"guidelines": str},
        required_options=("guidelines",),
    ),
    "relevance": ScorerSpec("", "RelevanceToQuery", "yes/no", "the response addresses the query"),
    "completeness": ScorerSpec("", "Completeness", "yes/no", "every part of the query is answered"),
    "retrieval_groundedness": ScorerSpec(
        "", "RetrievalGroundedness", "yes/no", "the response is supported by retrieved documents"
    ),
    "retrieval_relevance": ScorerSpec(
        "", "RetrievalRelevance", "yes/no", "retrieved documents are relevant to the query"
    ),
    "retrieval_sufficiency": ScorerSpec(
        "",
        "RetrievalSufficiency",
        "yes/no",
        "retrieved documents contain the expected facts",
        applies_if_any=("expected_facts", "expected_response"),
    ),
    "equivalence": ScorerSpec(
        "",
        "Equivalence",
        "yes/no",
        "the response means the same as the expected response",
        applies_if_any=("expected_response",),
    ),
    "expectations_guidelines": ScorerSpec(
        "",
        "ExpectationsGuidelines",
        "yes/no",
        "the response follows the row's own guidelines",
        applies_if_any=("guidelines",),
    ),
    "tool_call_correctness": ScorerSpec(
        "",
        "ToolCallCorrectness",
        "yes/no",
        "the tools called, and their arguments, fit the request (or the expected calls)",
        options={"should_exact_match": bool, "should_consider_ordering": bool},
        reads_tool_calls=True,
    ),
    "tool_call_efficiency": ScorerSpec(
        "",
        "ToolCallEfficiency",
        "yes/no",
        "no redundant tool calls (the same tool with the same or similar arguments)",
        reads_tool_calls=True,
    ),
    # Conversation judges (session level): one verdict per conversation, read from its turns.
    "conversation_completeness": ScorerSpec(
        "",
        "ConversationCompleteness",
        "yes/no",
        "every request the user made in the conversation was addressed",
        session_level=True,
    ),
    "conversational_safety": ScorerSpec(
        "",
        "ConversationalSafety",
        "yes/no",
        "no assistant turn of the conversation is harmful",
        session_level=True,
    ),
    "conversational_guidelines": ScorerSpec(
        "",
        "ConversationalGuidelines",
        "yes/no",
        "the assistant follows a written guideline throughout the conversation",
        options={"guidelines": str},
        required_options=("guidelines",),
        session_level=True,
    ),
    "conversational_role_adherence": ScorerSpec(
        "",
        "ConversationalRoleAdherence",
        "yes/no",
        "the assistant keeps its role throughout the conversation",
        session_level=True,
    ),
    "conversational_tool_call_efficiency": ScorerSpec(
        "",
        "ConversationalToolCallEfficiency",
        "yes/no",
        "no redundant tool calls across the conversation",
        reads_tool_calls=True,
        session_level=True,
    ),
    "knowledge_retention": ScorerSpec(
        "",
        "KnowledgeRetention",
        "yes/no",
        "later answers keep what the user said earlier",
        session_level=True,
    ),
    "user_frustration": ScorerSpec(
        "",
        "UserFrustration",
        "yes/no",
        "'yes' unless the user is still frustrated at the end (MLflow's none/resolved/unresolved)",
        session_level=True,
    ),
    # One LLM judge type run by several models, combined by a vote (config/ensemble.py,
    # evaluation/ensembles.py): "yes"/"no" under vote majority, the share of yes under mean.
    "ensemble": ScorerSpec(
        "",
        None,
        "fraction",
        "several judges (one per model) vote: majority yes/no, or the share of yes",
        options={"scorer": str, "models": list, "vote": str},
        required_options=("scorer", "models"),
    ),
    # Deterministic scorers (run offline, no LLM)
    "pii": ScorerSpec("", "PIIDetection", "yes/no", "'yes' when the response has no PII"),
    "length": ScorerSpec(
        "",
        "ResponseLength",
        "yes/no",
        "the response length is within bounds",
        options={"min_length": int, "max_length": int, "unit": str},
    ),
    "regex": ScorerSpec(
        "",
        "RegexMatch",
        "yes/no",
        "the response matches a regular expression",
        options={"pattern": str, "match_type": str, "case_insensitive": bool},
        required_options=("pattern",),
    ),
    "fact_coverage": ScorerSpec(
        "",
        None,
        "fraction",
        "share of expected facts stated in the response",
        applies_if_any=("expected_facts",),
    ),
    "refusal": ScorerSpec(
        "",
        None,
        "yes/no",
        "the agent refuses exactly when the row expects a refusal",
        applies_if_any=("should_refuse",),
        options={"phrases": list},  # what a refusal starts with (code_scorers.REFUSAL_PHRASES)
    ),
    "tool_calls": ScorerSpec(
        "",
        None,
        "fraction",
        "share of the expected tool calls made with the expected arguments",
        applies_if_any=("expected_tool_calls",),
        reads_tool_calls=True,
    ),
    "tool_budget": ScorerSpec(
        "",
        None,
        "yes/no",
        "the agent made at most max_calls tool calls",
        options={"max_calls": int},
        required_options=("max_calls",),
        reads_tool_calls=True,
    ),
    # Conversation checks (session level, deterministic): read the conversation's answers.
    "goal_reached": ScorerSpec(
        "",
        None,
        "yes/no",
        "every goal marker (goal_markers) appears in an answer of the conversation",
        applies_if_any=("goal_markers",),
        session_level=True,
    ),
    "facts_retained": ScorerSpec(
        "",
        None,
        "fraction",
        "share of earlier facts (retained_facts) the conversation's last answer still states",
        applies_if_any=("retained_facts",),
        session_level=True,
    ),
}


def _with_kinds() -> dict[str, ScorerSpec]:
    """The vocabulary's scorers, each with its kind; the two lists must name the same scorers
    and agree on which need expectations (a template change that breaks this fails at import)."""
    if set(_DETAILS) != set(SCORER_KINDS):
        raise RuntimeError(
            f"scorer_catalog.py and vocabulary.json list different scorers: "
            f"{sorted(set(_DETAILS) ^ set(SCORER_KINDS))}"
        )
    for name, spec in _DETAILS.items():
        if bool(spec.applies_if_any) != SCORER_EXPECTATIONS[name]:
            raise RuntimeError(
                f"scorer_catalog.py and vocabulary.json disagree on {name}'s expectations"
            )
        if spec.session_level != SCORER_SESSIONS[name]:
            raise RuntimeError(f"scorer_catalog.py and vocabulary.json disagree on {name}'s level")
    specs = {name: replace(_DETAILS[name], kind=kind) for name, kind in SCORER_KINDS.items()}
    return {
        name: replace(spec, options={**spec.options, MISSING_EXPECTATIONS: str})
        if spec.applies_if_any
        else spec
        for name, spec in specs.items()
    }


SCORERS: dict[str, ScorerSpec] = _with_kinds()


def missing_expectations(options: Mapping[str, Any]) -> str:
    """What a row without the scorer's expectations is: "not_applicable" or "error"."""
    return options.get(MISSING_EXPECTATIONS) or "not_applicable"


def counts_row(kind: str, options: Mapping[str, Any], expectations: Collection[str]) -> bool:
    """Whether a row carrying these expectation keys counts for a scorer (and its gate): every
    row, unless the scorer needs expectations the row lacks and leaves such rows out."""
    keys = SCORERS[kind].applies_if_any
    if not keys or missing_expectations(options) == "error":
        return True
    return any(key in expectations for key in keys)


def llm_scorer_types() -> list[str]:
    return sorted(name for name, spec in SCORERS.items() if spec.needs_judge)


def deterministic_scorer_types() -> list[str]:
    return sorted(name for name, spec in SCORERS.items() if not spec.needs_judge)
