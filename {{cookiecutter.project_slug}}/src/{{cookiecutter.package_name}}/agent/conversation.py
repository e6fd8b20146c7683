"""The sample agent in conversation (agent.shape multi_turn): ``chat(messages)`` answers the last
user message in the light of the conversation so far. Each call is one turn and one trace.

The conversation's memory is its messages: MLflow's ConversationSimulator passes the whole
history on every turn, as this project's scripted user does (evaluation/conversations.py). An
order the customer named in an earlier turn is recalled for a follow-up that names none ("When
will it arrive?"), in a MEMORY span ``recall_order``; the turn is then answered like a question
naming that order (the ``lookup_order`` tool). A line ``Conversation memory: off`` in the prompt
template turns recall off, so a prompt version can be shown to forget (read from the template,
like ``Order lookup: off``; a customer cannot switch it off from a message).
"""

from __future__ import annotations

import os
import re

import mlflow
from mlflow.entities import SpanType

from .orders import find_order_id
from .prompts import load_system_prompt
from .support_agent import PROMPT_URI_ENV, answer

# Words of a follow-up about an order already named ("Has it shipped?", "Which carrier?").
_FOLLOW_UP = re.compile(
    r"\b(it|its|order|package|parcel|arrive|arriving|status|track|tracking|carrier|"
    r"shipped|delivered|when)\b",
    re.IGNORECASE,
)
_MEMORY_LINE = re.compile(r"^\s*conversation memory\s*:\s*(\w+)", re.IGNORECASE | re.MULTILINE)


def make_chat(prompt_uri: str | None = None):
    """The chat function for one prompt version; with none, `AGENT_PROMPT_URI` at call time
    (the evaluation runner finds this factory as `chat.make_predict`)."""

    @mlflow.trace(span_type=SpanType.AGENT, name="support_conversation")
    def chat(messages: list[dict]) -> str:
        """Answer the conversation's last user message (see the module docstring)."""
        uri = prompt_uri or os.environ.get(PROMPT_URI_ENV, "").strip()
        query = last_user_message(messages)
        if uri and query.strip() and find_order_id(query) is None:
            query = recall_order(query, messages[:-1], uri)
        return answer(query, uri)

    chat.make_predict = make_chat
    return chat


def last_user_message(messages: list[dict]) -> str:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def recall_order(query: str, earlier: list[dict], prompt_uri: str) -> str:
    """`query` naming the order an earlier user message named, when it is a follow-up about
    it and the prompt keeps memory on; otherwise `query` as it is."""
    if not _FOLLOW_UP.search(query):
        return query
    named = [find_order_id(str(m.get("content") or "")) for m in earlier if m.get("role") == "user"]
    order_id = next((o for o in reversed(named) if o), None)
    if order_id is None:
        return query
    with mlflow.start_span(name="recall_order", span_type=SpanType.MEMORY) as span:
        span.set_inputs({"query": query, "earlier_user_messages": len(named)})
        on = memory_enabled(load_system_prompt(prompt_uri).template)
        recalled = f"{query} (order {order_id})" if on else query
        span.set_outputs({"order_id": order_id if on else None, "memory": "on" if on else "off"})
    return recalled


def memory_enabled(template: str) -> bool:
    """False when the prompt has a `Conversation memory: off` directive line, otherwise True."""
    match = _MEMORY_LINE.search(template)
    return not (match and match.group(1).lower() == "off")


chat = make_chat()
