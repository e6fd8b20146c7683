"""agent.shape: what the agent does for one request, and the scorers that need it.

single_turn: one request, one answer. tool_calling: the agent calls tools, recorded as TOOL
spans, and a dataset row may name the calls its request needs (expected_tool_calls). A scorer
of tool calls on a single-turn agent would score nothing the agent does: a config error.
"""

from __future__ import annotations

from ..scorer_catalog import SCORERS
from ..vocabulary import AGENT_SHAPES
from .checker import Checker
from .model import ScorerConfig

SINGLE_TURN, TOOL_CALLING = "single_turn", "tool_calling"


def check_agent_shape(c: Checker, scorers: list[ScorerConfig]) -> str:
    shape = c.choice("agent.shape", SINGLE_TURN, AGENT_SHAPES)
    for scorer in scorers:
        if SCORERS[scorer.type].reads_tool_calls and shape == SINGLE_TURN:
            c.problem(
                f"scorers.{scorer.name}",
                f"{scorer.type} scores the agent's tool calls, but agent.shape is {SINGLE_TURN}",
                f"set agent.shape: {TOOL_CALLING} (an agent that calls tools) or remove it",
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
