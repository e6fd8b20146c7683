"""Build the MLflow scorers named in evaluation.yaml."""

from __future__ import annotations

from ..config import EvalConfig, ScorerConfig
from ..scorer_catalog import SCORERS
from . import code_scorers


def build_scorers(config: EvalConfig) -> list:
    return [build_scorer(s, config.judge_model) for s in config.scorers]


def build_scorer(scorer: ScorerConfig, judge_model: str):
    import mlflow.genai.scorers as builtin

    spec = SCORERS[scorer.type]
    if spec.mlflow_class is None:
        return CODE_SCORERS[scorer.type](scorer.name)
    kwargs = dict(scorer.options)
    if spec.needs_judge:
        kwargs["model"] = judge_model
    return getattr(builtin, spec.mlflow_class)(name=scorer.name, **kwargs)


def fact_coverage_scorer(name: str):
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=name)
    def fact_coverage(outputs, expectations):
        facts = (expectations or {}).get("expected_facts")
        if not facts:
            return None  # not applicable: the gate counts only rows with expected facts
        value, rationale = code_scorers.fact_coverage(code_scorers.response_text(outputs), facts)
        return Feedback(value=value, rationale=rationale)

    return fact_coverage


def refusal_scorer(name: str):
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=name)
    def refusal(outputs, expectations):
        should_refuse = (expectations or {}).get("should_refuse")
        if should_refuse is None:
            return None
        text = code_scorers.response_text(outputs)
        value, rationale = code_scorers.refusal_verdict(text, should_refuse)
        return Feedback(value=value, rationale=rationale)

    return refusal


CODE_SCORERS = {"fact_coverage": fact_coverage_scorer, "refusal": refusal_scorer}
