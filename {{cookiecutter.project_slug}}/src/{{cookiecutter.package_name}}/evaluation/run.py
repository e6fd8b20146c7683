"""The first-evaluation journey: evaluate the agent with MLflow GenAI, then decide the gates."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from .. import llm_endpoints
from ..config import AgentVersion, EvalConfig
from ..config.agent_shape import MULTI_TURN
from ..config.ensemble import ENSEMBLE
from ..dataset import (
    DatasetError,
    Record,
    dataset_fit_problems,
    load_records,
    rows_with_any,
    simulated,
)
from ..runtime import InfrastructureError, apply_environment, check_judge_credentials, connect
from ..scorer_catalog import SCORERS, counts_row, missing_expectations
from ..ui_links import run_url, trace_url
from . import concurrency, score_table
from .agent_loader import load_agent
from .conversation_counts import conversation_counts
from .ensembles import agreement_note
from .judge_cache import JudgeCache, digest
from .preflight import LlmEndpoint, endpoints_in_use, preflight
from .progress import Progress, live_progress
from .quality_gates import RowScores, decide_gates, rows_from_assessments
from .report import GateReport
from .score_columns import parse_json_text
from .session_checks import scripted_turns

ABORT_TAG = "evaluation.aborted"  # on a run stopped by the circuit breaker: why
DATASET_PARAM = "dataset"  # the dataset a run evaluated: a file, a table or mlflow:<name>
# A conversation run's records, digested: MLflow digests the traces it evaluated, which differ
# from run to run (the answers are in them), so `compare` reads this instead.
RECORDS_DIGEST_PARAM = "records_digest"


class RunAborted(InfrastructureError):
    """An LLM endpoint went down during the run; `report` holds what was done (exit 2)."""

    def __init__(self, report: GateReport):
        self.report = report
        super().__init__(report.aborted)


def applicable_rows(config: EvalConfig, records) -> dict[str, int]:
    """Per scorer, the rows its gate counts: those with the expectations it needs, or every row
    under missing_expectations: error (the rows without them then count as errors)."""
    return {
        s.name: sum(1 for r in records if counts_row(s.type, s.options, r.expectations))
        for s in config.scorers
    }


def scope_notes(config: EvalConfig, records: list[Record]) -> list[str]:
    notes = []
    if not config.uses_judge:
        examples = (
            "conversation_completeness, knowledge_retention, ..."
            if config.agent_shape == MULTI_TURN
            else "safety, correctness, ..."
        )
        notes.append(
            "No LLM judge is configured (judge.model: none): only deterministic scorers ran. "
            f"Set judge.model and add LLM scorers ({examples}) to judge with an LLM."
        )
    for scorer in config.scorers:
        keys = SCORERS[scorer.type].applies_if_any
        row = "conversation" if SCORERS[scorer.type].session_level else "row"
        rows = row + "s"
        if keys:
            needs, having = " or ".join(keys), rows_with_any(records, keys)
            if missing_expectations(scorer.options) == "error":
                notes.append(
                    f"`{scorer.name}` needs {needs} on every {row} (missing_expectations: "
                    f"error): {len(records) - having} of {len(records)} {rows} lack them and "
                    "count as errors."
                )
            else:
                notes.append(
                    f"`{scorer.name}` applies to the {having} of {len(records)} {rows} with "
                    f"{needs} ({len(records) - having} not applicable)."
                )
    return notes


def read_dataset(config: EvalConfig) -> list[Record]:
    """The records to evaluate: the JSONL file, the Unity Catalog table or the MLflow evaluation
    dataset (both read on every run)."""
    if config.dataset_source:
        from ..dataset_store import evaluation_records

        records = evaluation_records(config, config.dataset_source)
    elif not config.dataset_table:
        return load_records(config.dataset_path, config.dataset_label)
    else:
        from ..dataset_table import read_table

        records = read_table(config.dataset_table, config.dataset_warehouse_id)
    problems = dataset_fit_problems(
        records, config.dataset_label, config.scorers, config.agent_shape, simulated(config)
    )
    if problems:  # what check-config checks for a file, checked once the table's rows are here
        raise DatasetError("\n".join(map(str, problems)))
    return records


def judge_cache(config: EvalConfig, enabled: bool = True) -> JudgeCache | None:
    """The verdict cache when LLM judges run and neither evaluation.yaml nor the CLI turned it
    off."""
    if enabled and config.judge_cache and config.uses_judge:
        return JudgeCache(config.judge_cache_dir)
    return None


def gate_report(config: EvalConfig, experiment_id: str, run_id: str | None, **fields) -> GateReport:
    """The run's report, with the run's address in the MLflow UI when there is a run."""
    return GateReport(
        run_id=run_id,
        experiment=config.experiment,
        experiment_id=experiment_id,
        judge_model=config.judge_model,
        run_url=run_url(config, experiment_id, run_id) if run_id else None,
        **fields,
    )


def evaluate(
    config: EvalConfig,
    run_name: str = "evaluation",
    version: AgentVersion | None = None,
    use_cache: bool = True,
    verbose: bool = False,
    echo: Callable[[str], None] = lambda line: None,
) -> GateReport:
    """Evaluate the configured agent (or `version` of it) in a run named `run_name`.

    Before the first row: the concurrency decided from what the run calls, and one call to each
    LLM endpoint (InfrastructureError when one does not answer). During the run: one progress
    line, unless `verbose`. RunAborted when an endpoint goes down mid-run.
    """
    check_judge_credentials(config)
    records = read_dataset(config)
    endpoints = prepare_process(config, version, echo)
    mlflow, experiment = connect(config)
    applicable = applicable_rows(config, records)
    notes = scope_notes(config, records)
    report = partial(gate_report, config, experiment.experiment_id, rows=len(records), notes=notes)
    if not records:
        return report(run_id=None, gates=decide_gates(config.quality_gates, {}, [], applicable, 0))
    check_endpoints(endpoints, echo)
    agent = load_agent(config, version)
    notes.extend(agent.notes)
    cache = judge_cache(config, use_cache)
    run_id, result, played = run_harness(
        mlflow,
        config,
        records,
        agent,
        cache,
        run_name,
        version,
        verbose,
        aborted=lambda run_id, why: report(run_id=run_id, gates=[], aborted=why),
    )
    rows = scored_rows(result.result_df, config)
    link = partial(trace_url, config, experiment.experiment_id)
    gates = run_gates(config, records, result, rows, played, applicable, notes, link)
    notes.extend(agreement_notes(config, rows))
    llm_calls, cache_stats, usage = usage_notes(bool(endpoints), cache)
    return report(
        run_id=run_id,
        notes=notes + usage,
        judge_cache=cache_stats,
        llm_calls=llm_calls,
        gates=gates,
    )


def run_gates(config: EvalConfig, records, result, rows, played, applicable, notes, link):
    """The gates of a finished run; a conversation run's counts (and notes) come from the
    conversations it played (conversation_counts.py)."""
    size, populations = len(records), None
    if config.agent_shape == MULTI_TURN:
        count = conversation_counts(config, records, result.result_df, rows, played)
        applicable, size, populations = count.applicable, count.size, count.populations
        notes.extend(count.notes)
    return decide_gates(
        config.quality_gates, result.metrics, rows, applicable, size, link, populations
    )


def prepare_process(
    config: EvalConfig, version: AgentVersion | None, echo: Callable[[str], None]
) -> list[LlmEndpoint]:
    """The environment and the concurrency of this process, set before MLflow opens its store:
    the LLM endpoints the run will call."""
    apply_environment(config)  # before anything imports MLflow (finding the endpoints does)
    endpoints = endpoints_in_use(config, version.endpoint if version else None)
    plan = concurrency.decide(config, endpoints)
    concurrency.apply(plan)  # before the store opens: its connection pool is sized here
    echo(plan.describe())
    return endpoints


def scored_rows(frame, config: EvalConfig) -> list[RowScores]:
    """The evaluate result's rows as the quality gates read them: each trace's assessments, its
    request and response (for the failing rows a report lists), and the scorers that leave it
    out (it lacks the expectations they need)."""
    missing = [None] * len(frame)
    traces = zip(
        frame["trace_id"],
        frame["state"].astype(str),
        frame["assessments"],
        map(parse_json_text, frame["request"] if "request" in frame.columns else missing),
        frame["response"] if "response" in frame.columns else missing,
        strict=True,
    )
    rows = rows_from_assessments(list(traces), {s.name for s in config.scorers})
    for row in rows:
        row.not_applicable = {
            s.name for s in config.scorers if not counts_row(s.type, s.options, row.expectations)
        }
    return rows


def agreement_notes(config: EvalConfig, rows: list[RowScores]) -> list[str]:
    """Per scorer ensemble, how often its judges agreed (and the rows where they did not)."""
    found = []
    for s in config.scorers:
        if s.type == ENSEMBLE:
            note = agreement_note(s.name, len(s.options["models"]), rows)
            found.append(note or f"`{s.name}`: no row has the ensemble's verdict.")
    return found


def run_harness(
    mlflow,
    config: EvalConfig,
    records: list[Record],
    agent,
    cache: JudgeCache | None,
    run_name: str,
    version: AgentVersion | None,
    verbose: bool,
    aborted: Callable[[str, str], GateReport],
):
    """`mlflow.genai.evaluate` in a run of its own, then the run's score table: (run id, result,
    what the scripted user played or None).

    An endpoint that goes down ends the run with the reason as a tag: RunAborted carrying
    `aborted(run_id, why)`.
    """
    from .judge_calls import route_judge_calls
    from .scorers import build_scorers
    from .trace_writes import traces_written_whole

    progress = Progress(harness_tasks(config, records), cache)
    route_judge_calls()
    with mlflow.start_run(run_name=run_name) as run:
        # Which records were evaluated (MLflow logs their digest as the run's dataset input):
        # `compare` names both when two runs evaluated different data.
        mlflow.log_param(DATASET_PARAM, config.dataset_label)
        if config.agent_shape == MULTI_TURN:
            rows = [[r.id, r.inputs, r.expectations] for r in records]
            mlflow.log_param(RECORDS_DIGEST_PARAM, digest(rows)[:8])
        if agent.prompt_uri:  # which prompt version was evaluated, for comparisons
            mlflow.log_param("agent_prompt_uri", agent.prompt_uri)
        if version:
            mlflow.log_param("agent_version", version.describe())
        try:
            with traces_written_whole(), live_progress(progress, verbose):
                result, played = evaluate_records(
                    mlflow, config, records, agent, build_scorers(config, cache), run.info.run_id
                )
        except llm_endpoints.EndpointDown as down:
            mlflow.set_tag(ABORT_TAG, str(down)[:5000])
            why = (
                f"stopped after {progress.done} of {len(records)} rows: {down}; no gate was decided"
            )
            raise RunAborted(aborted(run.info.run_id, why)) from None
        # With the metrics, inside the run: a run that ends FINISHED has its whole score table.
        score_table.log(result.result_df, run.info.run_id)
    return run.info.run_id, result, played


def harness_tasks(config: EvalConfig, records: list[Record]) -> int:
    """What MLflow's harness counts as done: each row; for conversations, each turn and then
    each conversation (its scorers), the simulator's turns counted at their most."""
    if config.agent_shape != MULTI_TURN:
        return len(records)
    if simulated(config):
        return len(records) * (config.conversation.max_turns + 1)
    return sum(len(scripted_turns(r.inputs)) + 1 for r in records)


def evaluate_records(mlflow, config: EvalConfig, records, agent, scorers, run_id: str):
    """mlflow.genai.evaluate on the records: (result, what the scripted user played or None).

    Conversations (agent.shape multi_turn) are played first, by the records' scripted turns,
    and their traces evaluated; or MLflow's ConversationSimulator plays them inside evaluate.
    """
    if config.agent_shape != MULTI_TURN:
        rows = [r.as_mlflow_row() for r in records]
        return mlflow.genai.evaluate(data=rows, predict_fn=agent.predict_fn, scorers=scorers), None
    from .conversations import play_scripted, simulator, turn_function

    if simulated(config):
        conversation = config.conversation
        data = simulator(records, conversation.simulator_model, conversation.max_turns)
        turn = turn_function(agent.predict_fn)
        return mlflow.genai.evaluate(data=data, predict_fn=turn, scorers=scorers), None
    played = play_scripted(records, agent.predict_fn, run_id)
    traces = mlflow.search_traces(run_id=run_id)
    return mlflow.genai.evaluate(data=traces, scorers=scorers), played


def usage_notes(
    calls_llm: bool, cache: JudgeCache | None
) -> tuple[dict | None, dict | None, list[str]]:
    """LLM calls and judge-cache use of the run: (llm_calls, judge_cache, report notes)."""
    notes, llm_calls, cache_stats = [], None, None
    if calls_llm:
        calls = llm_endpoints.REGISTRY.totals()
        llm_calls = vars(calls)
        notes.append(
            f"LLM calls: {calls.calls} sent, {calls.retries} retried "
            f"({calls.throttled} answered HTTP 429), {calls.failed} failed for good."
        )
    if cache is not None:
        cache_stats = cache.stats.as_dict()
        notes.append(
            f"Judge cache: {cache.stats.hits} verdicts reused (judge calls saved), "
            f"{cache.stats.misses} judged now."
        )
    return llm_calls, cache_stats, notes


def check_endpoints(endpoints, echo: Callable[[str], None]) -> None:
    """Pre-flight: one call to each LLM endpoint the run will use; exit 2 material when one
    fails."""
    for endpoint in endpoints:
        if endpoint.skipped:
            echo(f"Pre-flight: {endpoint.label} not checked: {endpoint.skipped}")
    problems = preflight(endpoints)
    if problems:
        raise InfrastructureError(
            "\n".join(["an LLM endpoint does not answer as it must (pre-flight):", *problems])
        )
    for endpoint in endpoints:
        if endpoint.url:
            echo(f"Pre-flight: {endpoint.label} answers at {endpoint.url}")
