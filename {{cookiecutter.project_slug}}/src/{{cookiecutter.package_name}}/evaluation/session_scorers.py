"""What the MLflow scorers of whole conversations (session level) read: MLflow calls each once
per conversation with its turns' traces (`session`); the verdict is logged on the first turn.

The conversation's expectations are read from its first turn, where they were logged
(conversations.py); goal_reached and facts_retained (scorers.py) check them against its answers.
user_frustration wraps MLflow's UserFrustration, whose none/resolved/unresolved is not a score:
"yes" unless the user is still frustrated at the end, its verdict kept in the rationale.
"""

from __future__ import annotations

from ..config import ScorerConfig
from .code_scorers import response_text


def ordered(session) -> list:
    return sorted(session or [], key=lambda t: t.info.request_time)


def session_expectations(session) -> dict:
    """The conversation's expectations: those logged on its first turn's trace."""
    turns = ordered(session)
    if not turns:
        return {}
    assessments = turns[0].info.assessments or []
    return {a.name: a.expectation.value for a in assessments if a.expectation is not None}


def session_answers(session) -> list[str]:
    """The agent's answer of each turn, in order (a turn without a root span answers "")."""
    answers = []
    for trace in ordered(session):
        root = next((s for s in trace.data.spans if s.parent_id is None), None)
        answers.append(response_text(root.outputs) if root is not None else "")
    return answers


def user_frustration_scorer(config: ScorerConfig, judge):
    """MLflow's UserFrustration as yes/no: "no" only when the user ends frustrated."""
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=config.name)
    def user_frustration(session):
        verdict = judge.run(session=session)
        if not isinstance(verdict, Feedback) or verdict.error is not None:
            return verdict
        found = str(verdict.value).strip().lower()
        if found not in ("none", "resolved", "unresolved"):
            raise ValueError(f"UserFrustration answered {verdict.value!r}, not a verdict")
        verdict.value = "no" if found == "unresolved" else "yes"
        verdict.rationale = f"frustration: {found}. {verdict.rationale or ''}".strip()
        return verdict

    return user_frustration
