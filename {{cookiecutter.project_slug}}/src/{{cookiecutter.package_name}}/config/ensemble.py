"""Scorer ensembles: one LLM judge type run by several models, combined by a vote.

    scorers:
      safety_panel:
        type: ensemble
        scorer: safety                 # the LLM judge every member runs
        models: ["openai:/judge-a", "openai:/judge-b", "databricks"]
        vote: majority                 # or mean: the share of members saying yes

The members name their own models, so an ensemble does not need judge.model.
"""

from __future__ import annotations

from typing import Any

from ..scorer_catalog import SCORERS
from .checker import Checker

ENSEMBLE = "ensemble"
VOTES = ("majority", "mean")  # majority: yes when most members say yes (a tie is no)
DEFAULT_VOTE = "majority"


def member_types() -> list[str]:
    """The judges an ensemble may run: LLM judges of one answer that need no expectations and
    no required option (the verdict cache reads the ensemble's own options, which give none).
    Tool-call judges may: the agent-shape check reads the member's type too."""
    return sorted(
        name
        for name, spec in SCORERS.items()
        if spec.needs_judge
        and name != ENSEMBLE
        and not spec.applies_if_any
        and not spec.required_options
        and not spec.session_level  # an ensemble votes on one answer's verdicts
    )


def check_ensemble(c: Checker, where: str, options: dict) -> None:
    """An ensemble's scorer, models and vote (their types are checked with the other options)."""
    member = options.get("scorer")
    allowed = member_types()
    if isinstance(member, str) and member not in allowed:
        c.problem(
            f"{where}.scorer",
            f"{member!r} cannot be an ensemble member",
            f"use one of {allowed} (LLM judges needing no expectations or options)",
            member,
        )
    models = options.get("models")
    if isinstance(models, list):
        check_models(c, f"{where}.models", models)
    vote = options.get("vote", DEFAULT_VOTE)
    if isinstance(vote, str) and vote not in VOTES:
        c.problem(
            f"{where}.vote",
            f"{vote!r} is not a vote",
            "use majority (yes when most members say yes) or mean (the share of yes)",
            vote,
        )


def check_models(c: Checker, where: str, models: list[Any]) -> None:
    if len(models) < 2:
        c.problem(
            where,
            f"{models!r} lists {len(models)} model(s)",
            "list 2 or more judge models, e.g. ['openai:/gpt-4.1-mini', 'databricks']",
            models,
        )
    for model in models:
        if not isinstance(model, str) or not model.strip():
            c.problem(where, f"{model!r} is not a model URI", "use provider:/model", models)
        elif model != "databricks":
            c.model_uri(where, model)
    repeated = sorted({str(m) for m in models if models.count(m) > 1})
    if repeated:
        c.problem(where, f"{repeated} listed twice", "list each judge model once", models)


def judged_types(scorer) -> list:
    """The scorer types a configured scorer runs: its own, and an ensemble's member type."""
    member = scorer.options.get("scorer") if scorer.type == ENSEMBLE else None
    return [scorer.type] + ([member] if isinstance(member, str) and member in SCORERS else [])


def vote(options: dict) -> str:
    return options.get("vote") or DEFAULT_VOTE


def judge_models(config) -> dict[str, str]:
    """Every judge model an evaluation calls, each with the setting that names it: judge.model
    for the LLM scorers other than ensembles, scorers.<name>.models for each ensemble member."""
    found: dict[str, str] = {}
    for scorer in config.scorers:
        if scorer.type == ENSEMBLE:
            for model in scorer.options.get("models", []):
                found.setdefault(model, f"scorers.{scorer.name}.models")
        elif SCORERS[scorer.type].needs_judge:
            found.setdefault(config.judge_model, "judge.model")
    conversation = getattr(config, "conversation", None)
    if conversation is not None and conversation.simulator_model:
        # The simulated user is a model call like a judge's: pre-flighted, its key checked.
        found.setdefault(conversation.simulator_model, "agent.conversation.simulator_model")
    return found


def offline_fix(setting: str) -> str:
    """How to run without the judge model `setting` names: judge.model none, or without the
    ensemble whose member it is."""
    if setting == "judge.model":
        return "set judge.model to none"
    if setting == "agent.conversation.simulator_model":
        return f"set {setting} to none (the records' scripted turns)"
    return f"remove {setting.rsplit('.', 1)[0]}"
