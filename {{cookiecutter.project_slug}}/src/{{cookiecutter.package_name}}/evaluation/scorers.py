"""Build the MLflow scorers named in evaluation.yaml."""

from __future__ import annotations

from ..config import EvalConfig, ScorerConfig
from ..scorer_catalog import SCORERS
from . import code_scorers
from .judge_cache import CACHE_KEY, JudgeCache, verdict_key

# Judges that read the trace (retrieved documents), so the trace is part of their cache key.
TRACE_JUDGES = {"retrieval_groundedness", "retrieval_relevance", "retrieval_sufficiency"}


def build_scorers(config: EvalConfig, cache: JudgeCache | None = None) -> list:
    """MLflow scorers for evaluation.yaml; LLM judges go through the verdict cache when given."""
    scorers = []
    for s in config.scorers:
        built = build_scorer(s, config.judge_model)
        if cache is not None and SCORERS[s.type].needs_judge:
            built = cached_judge(built, s, config.judge_model, cache)
        scorers.append(built)
    return scorers


def cached_judge(judge, scorer: ScorerConfig, judge_model: str, cache: JudgeCache):
    """`judge` behind the verdict cache: same name, same assessments, one call per new input."""
    from mlflow.entities import AssessmentSource, Feedback
    from mlflow.genai.scorers import scorer as as_scorer

    identity = {
        "scorer": scorer.name,
        "type": scorer.type,
        "options": scorer.options,
        "model": judge_model,
        "instructions": getattr(judge, "instructions", None),
    }
    reads_trace = scorer.type in TRACE_JUDGES

    @as_scorer(name=scorer.name)
    def cached(inputs, outputs, expectations, trace):
        key = verdict_key(identity, inputs, outputs, expectations, trace if reads_trace else None)
        with cache.exclusive(key):
            return judged_once(key, inputs, outputs, expectations, trace)

    def judged_once(key, inputs, outputs, expectations, trace):
        stored = cache.get(key)
        if stored is not None:
            cache.record(scorer.name, "hits")
            return Feedback(
                name=scorer.name,
                value=stored["value"],
                rationale=stored["rationale"],
                source=AssessmentSource(**stored["source"]),
                metadata={**stored["metadata"], CACHE_KEY: "hit"},
            )
        cache.record(scorer.name, "misses")
        try:
            verdict = judge.run(
                inputs=inputs, outputs=outputs, expectations=expectations, trace=trace
            )
        except Exception:
            cache.record(scorer.name, "not_stored")
            raise  # MLflow logs it as this row's scorer error
        if isinstance(verdict, Feedback) and verdict.error is None and verdict.value is not None:
            cache.put(
                key,
                {
                    "value": verdict.value,
                    "rationale": verdict.rationale,
                    "source": {
                        "source_type": verdict.source.source_type,
                        "source_id": verdict.source.source_id,
                    },
                    "metadata": dict(verdict.metadata or {}),
                },
            )
            verdict.metadata = {**(verdict.metadata or {}), CACHE_KEY: "miss"}
        else:
            cache.record(scorer.name, "not_stored")
        return verdict

    return cached


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
