"""Play a multi-turn agent's conversations inside the evaluation run, then score them.

With agent.conversation.simulator_model none (offline), each record's scripted turns are the
user's messages (`play_scripted`); with a model, MLflow's ConversationSimulator plays the user
from the record's goal and persona (`simulator`, passed to mlflow.genai.evaluate as its data).
Either way every turn is one trace carrying what the simulator writes (the session id, the turn
number, the goal and persona as trace metadata) and the tag eval.record_id: the record's id on
the first turn, "<id> turn N" after it. So `compare` pairs a conversation by its record (the
conversation scorers' verdicts sit on its first turn, as MLflow logs them) and each later turn
by its number. The record's expectations are logged on its first turn, as the simulator does.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ..dataset import RECORD_ID_TAG, Record
from .code_scorers import response_text
from .session_checks import CONVERSATION_ARG, SESSION_KEY, TURN_KEY, scripted_turns

GOAL_KEY, PERSONA_KEY = "mlflow.simulation.goal", "mlflow.simulation.persona"
METADATA_CHARS = 250  # a metadata value is clipped, as the simulator clips it


@dataclass
class Played:
    """What the scripted user played: the turns scripted, and the conversations an agent error
    cut short (their remaining turns have no trace, which fails every gate)."""

    scripted: int
    stopped: list[str]


def conversation_key(record: Record) -> str:
    """What pairs a conversation across runs: the record id, else its goal."""
    return record.id or " ".join(str(record.inputs["goal"]).split())


def turn_key(key: str, turn: int) -> str:
    """eval.record_id of a turn (0-based): the conversation's key on its first turn."""
    return key if turn == 0 else f"{key} turn {turn + 1}"


def turn_function(agent):
    """The function each turn calls: `agent(messages=...)` under the turn's tag and number.

    Takes what MLflow's ConversationSimulator passes (the messages so far, the session id, the
    record's context, which carries the conversation's key)."""
    import mlflow

    def turn(messages: list[dict], mlflow_session_id: str | None = None, **context):
        key = context.pop(CONVERSATION_ARG, None)
        number = sum(1 for m in messages if m.get("role") == "user") - 1
        tags = {RECORD_ID_TAG: turn_key(key, number)} if key else {}
        with mlflow.tracing.context(tags=tags, metadata={TURN_KEY: str(number)}):
            reply = agent(messages=messages, **context)
        if number == 0:
            # The simulator logs the record's expectations on this trace as soon as it returns:
            # the trace must be in the store by then, not in the async export queue.
            mlflow.flush_trace_async_logging()
        return reply

    return turn


def simulation_metadata(record: Record) -> dict[str, str]:
    inputs = record.inputs
    found = {GOAL_KEY: inputs["goal"], PERSONA_KEY: inputs.get("persona")}
    return {k: str(v)[:METADATA_CHARS] for k, v in found.items() if v}


def play_scripted(records: list[Record], agent, run_id: str, workers: int | None = None) -> Played:
    """Every record's scripted turns through `agent`, conversations in parallel (turns of one
    conversation in order); then each record's expectations on its first turn's trace."""
    import mlflow

    turn = turn_function(agent)
    workers = workers or int(os.environ.get("MLFLOW_GENAI_EVAL_MAX_WORKERS") or 4)

    def play(record: Record) -> tuple[str | None, str, bool]:
        """(first turn's trace id, session id, whether an agent error cut it short)"""
        key, messages, first = conversation_key(record), [], None
        # Unique per run: MLflow's session views group every trace with one session id.
        session = f"{key}@{run_id[:12]}"
        context = dict(record.inputs.get("context") or {})
        with mlflow.tracing.context(session_id=session, metadata=simulation_metadata(record)):
            for text in scripted_turns(record.inputs):
                messages.append({"role": "user", "content": text})
                try:
                    reply = turn(messages=list(messages), **{CONVERSATION_ARG: key}, **context)
                except Exception:  # noqa: BLE001 - the turn's trace records the error
                    return (
                        first or mlflow.get_last_active_trace_id(thread_local=True),
                        session,
                        True,
                    )
                first = first or mlflow.get_last_active_trace_id(thread_local=True)
                messages.append({"role": "assistant", "content": response_text(reply)})
        return first, session, False

    with ThreadPoolExecutor(max(1, min(workers, len(records)))) as pool:
        outcomes = list(pool.map(play, records))
    mlflow.flush_trace_async_logging()  # the traces must be in the store to take expectations
    for record, (first, session, _) in zip(records, outcomes, strict=True):
        for name, value in record.expectations.items() if first else ():
            mlflow.log_expectation(
                trace_id=first, name=name, value=value, metadata={SESSION_KEY: session}
            )
    stopped = [conversation_key(r) for r, (*_, cut) in zip(records, outcomes, strict=True) if cut]
    return Played(sum(len(scripted_turns(r.inputs)) for r in records), stopped)


def simulator(records: list[Record], model: str, max_turns: int):
    """MLflow's ConversationSimulator over the records: its user model plays each goal."""
    from mlflow.genai.simulators import ConversationSimulator

    cases = []
    for record in records:
        inputs = record.inputs
        case = {
            "goal": inputs["goal"],
            "context": {
                **(inputs.get("context") or {}),
                CONVERSATION_ARG: conversation_key(record),
            },
        }
        for key in ("persona", "simulation_guidelines"):
            if inputs.get(key):
                case[key] = inputs[key]
        if record.expectations:
            case["expectations"] = record.expectations
        cases.append(case)
    return ConversationSimulator(cases, max_turns=max_turns, user_model=model)
