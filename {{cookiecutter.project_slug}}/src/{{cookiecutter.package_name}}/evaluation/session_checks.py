"""Conversations (agent.shape multi_turn): the record's shape, and the deterministic
conversation checks, as plain functions the MLflow wrappers call (no MLflow import here).

A conversation record's inputs are what MLflow's ConversationSimulator takes (`goal`,
`persona`, `simulation_guidelines`, `context`) plus `turns`: the user's messages, scripted, for
a run without a simulated user. Its expectations are the conversation's, logged on its first
turn's trace: `goal_markers` (text every one of which some answer must state when the goal is
reached) and `retained_facts` (facts from earlier turns the last answer must still state).
"""

from __future__ import annotations

from .code_scorers import fact_coverage

GOAL, TURNS = "goal", "turns"
CONVERSATION_INPUTS = ("goal", "persona", "turns", "simulation_guidelines", "context")
CONVERSATION_ARG = "eval_conversation"  # the record key, passed through the simulator's context
# What every turn passes the agent (and MLflow's simulator reserves): not for a record's context.
RESERVED_CONTEXT = frozenset({"messages", "input", "mlflow_session_id", CONVERSATION_ARG})
TEXT_LISTS = ("goal_markers", "retained_facts")  # conversation expectations: lists of text
# Trace metadata of a conversation's turn, the keys MLflow's ConversationSimulator writes.
SESSION_KEY = "mlflow.trace.session"
TURN_KEY = "mlflow.simulation.turn"  # "0" for the first turn


def is_conversation(inputs: dict) -> bool:
    return isinstance(inputs, dict) and GOAL in inputs


def conversation_problems(inputs: dict, expectations: dict, where: str) -> list[str]:
    """What is wrong with a conversation record, one line each."""
    problems = []
    unknown = sorted(set(inputs) - set(CONVERSATION_INPUTS))
    if unknown:
        problems.append(
            f"{where}: a conversation's inputs take {list(CONVERSATION_INPUTS)}, not {unknown}"
        )
    if not isinstance(inputs.get(GOAL), str) or not inputs[GOAL].strip():
        problems.append(f"{where}: 'goal' must be a non-empty string (what the user wants)")
    for key in ("persona", "simulation_guidelines"):
        if key in inputs and not isinstance(inputs[key], str):
            problems.append(f"{where}: '{key}' must be a string")
    context = inputs.get("context", {})
    if not isinstance(context, dict):
        problems.append(f"{where}: 'context' must be an object (extra agent arguments)")
    elif reserved := sorted(set(context) & RESERVED_CONTEXT):
        problems.append(
            f"{where}: 'context' may not set {reserved}: each turn passes them itself; rename them"
        )
    turns = inputs.get(TURNS)
    if turns is not None and not (
        isinstance(turns, list) and turns and all(isinstance(t, str) and t.strip() for t in turns)
    ):
        problems.append(
            f"{where}: 'turns' must be a list of the user's messages (non-empty strings)"
        )
    for key in TEXT_LISTS:
        value = expectations.get(key)
        if value is not None and not (
            isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
        ):
            problems.append(f"{where}: '{key}' must be a list of non-empty strings")
    return problems


def scripted_turns(inputs: dict) -> list[str]:
    return list(inputs.get(TURNS) or [])


def split_turns(inputs: dict) -> tuple[dict, list | None]:
    """(inputs without the scripted turns, the turns or None): an MLflow evaluation dataset's
    conversation inputs take only goal, persona, context and simulation_guidelines."""
    if not is_conversation(inputs) or TURNS not in inputs:
        return inputs, None
    return {k: v for k, v in inputs.items() if k != TURNS}, inputs[TURNS]


def goal_verdict(answers: list[str], markers: list[str]) -> tuple[str, str]:
    """'yes' when every goal marker appears (any case) in some answer of the conversation."""
    said = " ".join(" ".join(a.lower().split()) for a in answers)
    missing = [m for m in markers if " ".join(m.lower().split()) not in said]
    turns = f"{len(answers)} turn(s)"
    if not missing:
        return "yes", f"goal reached in {turns}: every marker {markers} was stated"
    return "no", f"goal not reached in {turns}: no answer states {missing}"


def retention_verdict(answers: list[str], facts: list[str]) -> tuple[float, str]:
    """The share of `facts` (given in earlier turns) the last answer still states."""
    if not answers:
        return 0.0, "the conversation has no answer"
    value, why = fact_coverage(answers[-1], facts)
    return value, f"last answer (turn {len(answers)}) {why.replace('expected facts', 'facts')}"
