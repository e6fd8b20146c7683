"""What the quality gates of a conversation run (agent.shape multi_turn) count.

A conversation scorer's gate counts conversations: its verdict sits on each conversation's first
turn, so later turns are not applicable to it. Every other gate counts turns. A scripted turn
that never ran (an agent error cut its conversation short) and a conversation without any trace
are rows without a trace, which fail every gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import EvalConfig
from ..dataset import RECORD_ID_TAG, Record
from ..scorer_catalog import SCORERS, counts_row
from .conversations import Played, conversation_key
from .quality_gates import RowScores
from .session_checks import TURN_KEY

SHOWN = 3  # conversation keys a note lists before "and N more"


@dataclass
class ConversationCounts:
    applicable: dict[str, int]  # per scorer: conversations or turns its gate counts
    size: int  # rows the run should have: every turn played or scripted, one per lost session
    populations: dict[str, int]  # per conversation scorer: the conversations
    notes: list[str] = field(default_factory=list)


def listed(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(f'"{k}"' for k in keys[:SHOWN]) + more


def conversation_counts(
    config: EvalConfig, records: list[Record], frame, rows: list[RowScores], played: Played | None
) -> ConversationCounts:
    """The gates' counts for `rows` (the run's turns, in `frame`'s order); marks later turns
    not applicable to the conversation scorers."""
    session = [s for s in config.scorers if SCORERS[s.type].session_level]
    metadata = frame["trace_metadata"] if "trace_metadata" in frame.columns else [{}] * len(rows)
    tags = frame["tags"] if "tags" in frame.columns else [{}] * len(rows)
    started = set()
    for row, meta, tag in zip(rows, metadata, tags, strict=True):
        if str((meta or {}).get(TURN_KEY)) == "0":
            started.add((tag or {}).get(RECORD_ID_TAG))
        else:
            row.not_applicable |= {s.name for s in session}
    missing = [conversation_key(r) for r in records if conversation_key(r) not in started]
    size = max(len(rows), played.scripted if played else 0)
    if played is None:
        size += len(missing)  # a simulated conversation that left no trace
    applicable = {s.name: len(rows) for s in config.scorers}
    for s in session:
        applicable[s.name] = sum(
            1 for r in records if counts_row(s.type, s.options, r.expectations)
        )
    who = (
        f"MLflow's ConversationSimulator ({config.conversation.simulator_model})"
        if played is None
        else "the scripted user (each record's inputs.turns)"
    )
    notes = [
        f"Conversations: {len(records) - len(missing)} of {len(records)} played by {who}, "
        f"{len(rows)} turns. Conversation scorers score each conversation once (on its first "
        "turn); the other scorers score every turn."
    ]
    if played is not None and played.stopped:
        notes.append(
            f"{len(played.stopped)} conversation(s) stopped by an agent error: "
            f"{listed(played.stopped)}; their remaining turns have no trace."
        )
    if missing:
        notes.append(f"{len(missing)} conversation(s) have no trace: {listed(missing)}.")
    return ConversationCounts(applicable, size, {s.name: len(records) for s in session}, notes)
