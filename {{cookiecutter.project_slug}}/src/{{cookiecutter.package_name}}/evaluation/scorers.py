"""Build the MLflow scorers named in evaluation.yaml."""

from __future__ import annotations

from ..config import EvalConfig, ScorerConfig
from ..scorer_catalog import MISSING_EXPECTATIONS, SCORERS, missing_expectations
from . import code_scorers, session_checks, session_scorers, tool_checks
from .ensembles import ensemble_scorer
from .judge_cache import CACHE_KEY, JudgeCache, verdict_key

# Judges that read the trace (retrieved documents, tool calls), so the trace is part of their
# cache key.
TRACE_JUDGES = {
    "retrieval_groundedness",
    "retrieval_relevance",
    "retrieval_sufficiency",
    "tool_call_correctness",
    "tool_call_efficiency",
}


class MissingExpectations(ValueError):
    """A row lacks the expectations its scorer needs, under missing_expectations: error."""


def build_scorers(config: EvalConfig, cache: JudgeCache | None = None) -> list:
    """MLflow scorers for evaluation.yaml; LLM judges go through the verdict cache when given,
    and are called only on the rows they apply to. Conversation judges are not cached: a
    verdict key would have to hold every turn of the conversation."""
    scorers = []
    for s in config.scorers:
        built = build_scorer(s, config.judge_model)
        if SCORERS[s.type].session_level:
            scorers.append(built)
            continue
        if cache is not None and SCORERS[s.type].needs_judge:
            built = cached_judge(built, s, config.judge_model, cache)
        if SCORERS[s.type].needs_judge and SCORERS[s.type].applies_if_any:
            built = applicable_only(built, s)
        scorers.append(built)
    return scorers


def applies(scorer: ScorerConfig, expectations) -> bool:
    """Whether to score a row: False for a row without the expectations the scorer needs (not
    applicable: the scorer returns None, MLflow logs nothing); MissingExpectations instead under
    missing_expectations: error."""
    keys = SCORERS[scorer.type].applies_if_any
    if not keys or any(key in (expectations or {}) for key in keys):
        return True
    if missing_expectations(scorer.options) == "error":
        raise MissingExpectations(
            f"no {' or '.join(keys)} in this row's expectations "
            f"(scorers.{scorer.name}.{MISSING_EXPECTATIONS}: error)"
        )
    return False


def applicable_only(judge, scorer: ScorerConfig):
    """`judge` under the same name, called only on rows with the expectations it needs: on any
    other row no LLM call is made (see `applies`)."""
    from mlflow.genai.scorers import scorer as as_scorer

    @as_scorer(name=scorer.name)
    def applicable(inputs, outputs, expectations, trace):
        if not applies(scorer, expectations):
            return None
        return judge.run(inputs=inputs, outputs=outputs, expectations=expectations, trace=trace)

    return applicable


def cached_judge(judge, scorer: ScorerConfig, judge_model: str, cache: JudgeCache):
    """`judge` behind the verdict cache: same name, same assessments, one call per new input."""
    from mlflow.entities import AssessmentSource, Feedback
    from mlflow.genai.scorers import scorer as as_scorer

    identity = {
        "scorer": scorer.name,
        "type": scorer.type,
        # Which rows are judged is not part of a verdict: missing_expectations is left out.
        "options": {k: v for k, v in scorer.options.items() if k != MISSING_EXPECTATIONS},
        "model": judge_model,
        "instructions": getattr(judge, "instructions", None),
    }
    # An ensemble's members are judges of the type scorers.<name>.scorer names.
    reads_trace = TRACE_JUDGES & {scorer.type, scorer.options.get("scorer")}

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
        return CODE_SCORERS[scorer.type](scorer)
    kwargs = {k: v for k, v in scorer.options.items() if k != MISSING_EXPECTATIONS}  # ours
    if spec.needs_judge:
        kwargs["model"] = judge_model
    built_in = getattr(builtin, spec.mlflow_class, None)
    if built_in is None:  # an MLflow older (or newer) than the one this project was verified on
        from ..runtime import InfrastructureError, installed_mlflow

        raise InfrastructureError(
            f"scorers.{scorer.name}: MLflow {installed_mlflow()} has no "
            f"mlflow.genai.scorers.{spec.mlflow_class}, which {scorer.type} is; this project "
            "was verified with MLflow 3.17.2: pip install 'mlflow>=3.17.2,<4'"
        )
    judge = built_in(name=scorer.name, **kwargs)
    if scorer.type == "user_frustration":  # none/resolved/unresolved as yes/no
        return session_scorers.user_frustration_scorer(scorer, judge)
    return judge


def fact_coverage_scorer(config: ScorerConfig):
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=config.name)
    def fact_coverage(outputs, expectations):
        facts = (expectations or {}).get("expected_facts")
        if not applies(config, expectations) or not facts:
            return None  # not applicable: the gate counts only rows with expected facts
        value, rationale = code_scorers.fact_coverage(code_scorers.response_text(outputs), facts)
        return Feedback(value=value, rationale=rationale)

    return fact_coverage


def refusal_scorer(config: ScorerConfig):
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    phrases = tuple(config.options.get("phrases") or code_scorers.REFUSAL_PHRASES)

    @scorer(name=config.name)
    def refusal(outputs, expectations):
        should_refuse = (expectations or {}).get("should_refuse")
        if not applies(config, expectations) or should_refuse is None:
            return None
        text = code_scorers.response_text(outputs)
        value, rationale = code_scorers.refusal_verdict(text, should_refuse, phrases)
        return Feedback(value=value, rationale=rationale)

    return refusal


def tool_calls_scorer(config: ScorerConfig):
    """The share of a row's expected tool calls (expectations.expected_tool_calls) the agent
    made with the expected arguments, read from the trace's TOOL spans (tool_checks.py)."""
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=config.name)
    def tool_calls(expectations, trace):
        expected = (expectations or {}).get("expected_tool_calls")
        if not applies(config, expectations) or expected is None:
            return None
        made = tool_checks.calls_made(trace)
        value, rationale = tool_checks.expected_calls_verdict(made, expected)
        return Feedback(value=value, rationale=rationale)

    return tool_calls


def tool_budget_scorer(config: ScorerConfig):
    """'yes' when the agent made at most max_calls tool calls for the row."""
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    budget = config.options["max_calls"]

    @scorer(name=config.name)
    def tool_budget(trace):
        value, rationale = tool_checks.budget_verdict(tool_checks.calls_made(trace), budget)
        return Feedback(value=value, rationale=rationale)

    return tool_budget


def expectation_scorer(config: ScorerConfig, key: str, verdict):
    """A deterministic conversation scorer reading the conversation's `key` expectation."""
    from mlflow.entities import Feedback
    from mlflow.genai.scorers import scorer

    @scorer(name=config.name)
    def conversation_check(session):
        expectations = session_scorers.session_expectations(session)
        if not applies(config, expectations) or expectations.get(key) is None:
            return None  # not applicable: the gate counts the conversations that have them
        value, rationale = verdict(session_scorers.session_answers(session), expectations[key])
        return Feedback(value=value, rationale=rationale)

    return conversation_check


def goal_reached_scorer(config: ScorerConfig):
    return expectation_scorer(config, "goal_markers", session_checks.goal_verdict)


def facts_retained_scorer(config: ScorerConfig):
    return expectation_scorer(config, "retained_facts", session_checks.retention_verdict)


CODE_SCORERS = {
    "fact_coverage": fact_coverage_scorer,
    "refusal": refusal_scorer,
    "tool_calls": tool_calls_scorer,
    "tool_budget": tool_budget_scorer,
    "ensemble": ensemble_scorer,  # built-in judges, one per model, voting (ensembles.py)
    "goal_reached": goal_reached_scorer,
    "facts_retained": facts_retained_scorer,
}
