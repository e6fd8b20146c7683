"""Decide the quality gates from an evaluation's metrics and per-row scores. Fails closed.

`result.passed` in MLflow is a per-row all-must-pass check, not a threshold gate, and MLflow's
means silently leave out errored and unparseable rows; so a gate here also checks that every row
the scorer applies to was predicted and scored without error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

# Means are computed in floating point: 9 of 10 must meet a 0.9 gate.
TOLERANCE = 1e-9


@dataclass
class RowScores:
    trace_id: str
    predicted: bool  # False when the agent raised or the trace is in an error state
    values: dict[str, list] = field(default_factory=dict)  # scorer -> parsed values
    errors: dict[str, list[str]] = field(default_factory=dict)  # scorer -> error messages


@dataclass
class GateResult:
    gate: str
    metric: str
    threshold: float
    observed: float | None
    rows_applicable: int
    rows_scored: int
    rows_errored: int
    passed: bool
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def numeric(value) -> float | None:
    """yes/no and bool as 1.0/0.0, numbers as themselves; anything else is not a score."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)  # NaN is not a score
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return 1.0 if value.strip().lower() == "yes" else 0.0
    return None


def rows_from_assessments(
    traces: list[tuple[str, str, list[dict]]], names: set[str]
) -> list[RowScores]:
    """Per-row scores from (trace_id, state, assessments) as MLflow returns them.

    Expectations are assessments too; only feedback counts as a score.
    """
    rows = []
    for trace_id, state, assessments in traces:
        row = RowScores(trace_id=trace_id, predicted=state != "ERROR")
        for a in assessments or []:
            name = a.get("assessment_name")
            if name not in names or "feedback" not in a:
                continue
            feedback = a.get("feedback") or {}
            error = feedback.get("error")
            if error:
                message = error.get("error_message") if isinstance(error, dict) else str(error)
                row.errors.setdefault(name, []).append(str(message or "scorer error"))
                continue
            row.values.setdefault(name, []).append(numeric(feedback.get("value")))
        rows.append(row)
    return rows


def decide_gates(
    gates: dict[str, float],
    metrics: dict[str, float],
    rows: list[RowScores],
    applicable: dict[str, int],
    dataset_size: int,
) -> list[GateResult]:
    unpredicted = sum(1 for r in rows if not r.predicted)
    lost = max(dataset_size - len(rows), 0)  # rows MLflow returned no trace for
    results = []
    for name, threshold in gates.items():
        metric = f"{name}/mean"
        observed = metrics.get(metric)
        observed = None if observed is None or math.isnan(observed) else float(observed)
        scored = sum(1 for r in rows if any(v is not None for v in r.values.get(name, [])))
        unparsed = sum(
            1 for r in rows if r.values.get(name) and all(v is None for v in r.values[name])
        )
        errored = sum(1 for r in rows if r.errors.get(name))
        reasons = []
        if dataset_size == 0:
            reasons.append("the dataset is empty")
        if lost:
            reasons.append(f"{lost} row(s) have no trace")
        if unpredicted:
            reasons.append(f"{unpredicted} row(s) failed to predict")
        if errored:
            first = " ".join(next(r.errors[name][0] for r in rows if r.errors.get(name)).split())
            reasons.append(f"{errored} row(s) errored in the scorer (first: {first[:160]})")
        if unparsed:
            reasons.append(f"{unparsed} row(s) got a value that is not a score")
        if scored < applicable.get(name, 0):
            reasons.append(f"scored {scored} of the {applicable[name]} rows it applies to")
        if observed is None:
            reasons.append(f"metric {metric} is missing")
        elif observed + TOLERANCE < threshold:
            reasons.append(f"{observed:.3f} is below the threshold {threshold:.3f}")
        results.append(
            GateResult(
                gate=name,
                metric=metric,
                threshold=threshold,
                observed=observed,
                rows_applicable=applicable.get(name, 0),
                rows_scored=scored,
                rows_errored=errored,
                passed=not reasons,
                reason="; ".join(reasons) if reasons else "meets the threshold",
            )
        )
    return results
