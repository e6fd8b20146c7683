"""Scorer ensembles (config/ensemble.py): one MLflow judge per model, combined with
`mlflow.genai.make_scorer_ensemble` into one assessment under the ensemble's name.

Its value is "yes"/"no" under vote majority (a tie is "no": fail closed) or the share of
members saying yes under vote mean; its rationale names each member's verdict, and its metadata
says whether the members agreed (AGREEMENT_KEY: "unanimous" or "split"), which the report counts.
A member that errored counts as not saying yes and is named; when every member errored the
ensemble raises, so MLflow records the row's error.
"""

from __future__ import annotations

from ..config import ScorerConfig
from ..config.ensemble import vote
from ..reporting import shorten
from ..scorer_catalog import SCORERS
from .quality_gates import input_text

AGREEMENT_KEY = "agreement"
UNANIMOUS, SPLIT = "unanimous", "split"


class EveryMemberFailed(RuntimeError):
    """No member of an ensemble gave a verdict for the row."""


def member_verdict(feedback) -> str:
    """'yes', 'no' or 'error' for one member's Feedback."""
    if feedback.error is not None or feedback.value is None:
        return "error"
    value = feedback.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "yes" if str(value).strip().lower() == "yes" else "no"


def combine(feedbacks: list, models: list[str], how: str):
    """The ensemble's Feedback from its members' Feedbacks (in the order of `models`)."""
    from mlflow.entities import Feedback

    verdicts = [member_verdict(f) for f in feedbacks]
    if all(v == "error" for v in verdicts):
        failures = "; ".join(
            f"{model}: {error_text(f)}" for model, f in zip(models, feedbacks, strict=True)
        )
        raise EveryMemberFailed(f"every judge of the ensemble failed ({failures})")
    yes = verdicts.count("yes")
    total = len(verdicts)
    if how == "mean":
        value: object = yes / total
    else:
        value = "yes" if 2 * yes > total else "no"  # a tie fails closed
    named = ", ".join(
        f"{model} {verdict}" + (f" ({error_text(f)})" if verdict == "error" else "")
        for model, verdict, f in zip(models, verdicts, feedbacks, strict=True)
    )
    agreement = UNANIMOUS if len(set(verdicts)) == 1 else SPLIT
    return Feedback(
        value=value,
        rationale=f"{yes} of {total} judges say yes: {named}",
        metadata={AGREEMENT_KEY: agreement},
    )


def error_text(feedback) -> str:
    error = feedback.error
    if error is None:
        return "no value"
    return str(getattr(error, "error_message", None) or getattr(error, "error_code", error))


def ensemble_scorer(config: ScorerConfig):
    """The ensemble of scorers.<name>: one built-in judge per model, voting."""
    import mlflow.genai
    import mlflow.genai.scorers as builtin

    member = config.options["scorer"]
    models = list(config.options["models"])
    how = vote(config.options)
    judge_class = getattr(builtin, SCORERS[member].mlflow_class)
    members = [
        judge_class(name=f"{config.name}_{number}", model=model)
        for number, model in enumerate(models, start=1)
    ]

    # make_scorer_ensemble passes the members' Feedback objects (not bare values) only to a
    # function whose parameter is named `feedbacks`.
    def ensemble_fn(feedbacks):
        return combine(feedbacks, models, how)

    return mlflow.genai.make_scorer_ensemble(
        name=config.name, scorers=members, ensemble_fn=ensemble_fn
    )


def agreement_note(name: str, judges: int, rows) -> str | None:
    """How often an ensemble's judges agreed, from the rows' assessments; None when no row has
    its verdict."""
    judged = [(row, meta) for row in rows for meta in row.metadata.get(name, [])[:1]]
    judged = [(row, meta) for row, meta in judged if meta.get(AGREEMENT_KEY)]
    if not judged:
        return None
    split = [row for row, meta in judged if meta[AGREEMENT_KEY] != UNANIMOUS]
    agreed = len(judged) - len(split)
    line = (
        f"`{name}`: the {judges} judges agreed on {agreed} of {len(judged)} rows "
        f"({agreed / len(judged):.0%})"
    )
    if split:
        shown = [
            f'"{shorten(input_text(row.request), 60)}" '
            f"({(row.rationales.get(name) or [''])[0].split(':', 1)[0]})"
            for row in split[:3]
        ]
        more = f" and {len(split) - 3} more" if len(split) > 3 else ""
        line += f"; split rows: {', '.join(shown)}{more}"
    return line + "."
