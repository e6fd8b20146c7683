"""agent.shape: what the agent does for one request, and the scorers that need it.

single_turn: one request, one answer. tool_calling: the agent calls tools, recorded as TOOL
spans, and a dataset row may name the calls its request needs (expected_tool_calls).
multi_turn: the agent holds conversations; each turn is a trace and a conversation's turns share
a session id. A record is a conversation (a goal, a persona, the user's scripted turns) and the
conversation scorers judge it whole. A scorer that reads what the shape lacks would score
nothing the agent does: a config error.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scorer_catalog import SCORERS
from ..vocabulary import AGENT_SHAPES
from .checker import Checker
from .ensemble import judged_types
from .model import ScorerConfig

SINGLE_TURN, TOOL_CALLING, MULTI_TURN = "single_turn", "tool_calling", "multi_turn"
DEFAULT_MAX_TURNS = 6


@dataclass(frozen=True)
class ConversationSettings:
    """agent.conversation (multi_turn only): who plays the user."""

    # None: the records' scripted turns (offline); a model URI: MLflow's ConversationSimulator
    # plays the user from each record's goal and persona.
    simulator_model: str | None = None
    max_turns: int = DEFAULT_MAX_TURNS  # the simulator's limit per conversation


def check_agent_shape(c: Checker, scorers: list[ScorerConfig]) -> str:
    shape = c.choice("agent.shape", SINGLE_TURN, AGENT_SHAPES)
    for scorer in scorers:
        spec = SCORERS[scorer.type]
        tool_judge = next((t for t in judged_types(scorer) if SCORERS[t].reads_tool_calls), None)
        if tool_judge and shape == SINGLE_TURN:
            c.problem(
                f"scorers.{scorer.name}",
                f"{tool_judge} scores the agent's tool calls, but agent.shape is {SINGLE_TURN}",
                f"set agent.shape: {TOOL_CALLING} (an agent that calls tools) or remove it",
                scorer.type,
            )
        if spec.session_level and shape != MULTI_TURN:
            c.problem(
                f"scorers.{scorer.name}",
                f"{scorer.type} scores whole conversations, but agent.shape is {shape}",
                f"set agent.shape: {MULTI_TURN} (an agent that holds conversations) or remove it",
                scorer.type,
            )
        if shape == MULTI_TURN and spec.applies_if_any and not spec.session_level:
            c.problem(
                f"scorers.{scorer.name}",
                f"{scorer.type} checks one answer against its row's "
                f"{' or '.join(spec.applies_if_any)}, which a conversation record does not "
                "have (agent.shape is multi_turn)",
                "use the conversation checks goal_reached and facts_retained, or remove it",
                scorer.type,
            )
        budget = scorer.options.get("max_calls")
        if scorer.type == "tool_budget" and isinstance(budget, int) and budget < 1:
            c.problem(
                f"scorers.{scorer.name}.max_calls",
                f"{budget} leaves the agent no tool call",
                "set the most tool calls one request may take, 1 or more",
                budget,
            )
    return shape


def check_conversation(c: Checker, shape: str) -> ConversationSettings | None:
    """agent.conversation, for a multi_turn agent (ignored, and so refused, for other shapes)."""
    if shape != MULTI_TURN:
        if c.get("agent.conversation") is not None:
            c.problem(
                "agent.conversation",
                f"is for conversations, but agent.shape is {shape}",
                f"set agent.shape: {MULTI_TURN} or remove agent.conversation",
            )
        return None
    model = c.text("agent.conversation.simulator_model", "none", required=False) or "none"
    if model != "none":
        c.model_uri("agent.conversation.simulator_model", model)
    max_turns = c.number("agent.conversation.max_turns", DEFAULT_MAX_TURNS, 1)
    return ConversationSettings(None if model == "none" else model, max_turns)
