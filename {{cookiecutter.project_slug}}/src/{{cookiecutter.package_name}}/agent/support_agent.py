"""Sample customer-support agent for the fictional shop Acme Outfitters, traced with MLflow.

predict(query) (built by make_predict(prompt_uri)) runs these steps, each a span in one trace:

1. ``injection_guard`` (GUARDRAIL): requests to ignore or reveal the instructions get REFUSAL.
2. ``retrieve_docs`` (RETRIEVER): keyword retrieval from the bundled knowledge base; outputs are
   ``mlflow.entities.Document`` objects so MLflow's retrieval judges can read them. No relevant
   document means the question is out of scope and the answer is OUT_OF_SCOPE, unless it is an
   order question (below).
3. One TOOL span: ``lookup_order`` (bundled order table, ``orders.json``) for order questions,
   ``estimate_delivery`` (rate table lookup) for shipping questions, otherwise
   ``extract_facts`` (picks the relevant sentences of the retrieved documents).
4. The system prompt, loaded from the prompt registry, is formatted with the query and context.
5. ``generate_answer`` (CHAT_MODEL) when an LLM is configured, otherwise ``compose_answer``
   (CHAIN): an extractive answer built from the facts, each group followed by
   "(source: <doc-id>)". The offline path records no token usage, because there is none.

An order question is one that names an order id: "A" and four digits, also written "#A1001" or
"a1001" (normalised to "A1001"); the first id in the question is looked up. It is in scope even
when no document is retrieved. ``lookup_order`` returns the order's record, or
``{"order_id": ..., "found": False}``; the record's sentences, cited "(source: order A1001)", are
the whole offline answer (documents retrieved alongside go to an LLM's context only, after the
order). An unknown order gets ORDER_NOT_FOUND, which asks the customer to check the number.

An empty question gets EMPTY_ANSWER without any retrieval.

Environment variables:

- ``AGENT_PROMPT_URI``: registry URI of the system prompt, for example
  ``prompts:/support-agent-system-prompt@production``, read when ``predict`` is called directly.
  The evaluation runner passes the prompt version to ``make_predict`` instead.
- ``AGENT_LLM_MODEL`` (optional): model name on an OpenAI-compatible endpoint (a leading
  ``openai:/`` is accepted). Needs ``OPENAI_API_BASE`` or ``OPENAI_BASE_URL``
  (``http://host:port/v1``); ``OPENAI_API_KEY`` is sent as bearer token when set.

Offline answers follow the prompt, so prompt versions can be compared without an LLM: a line
``Answer style: concise`` in the formatted system prompt makes the answer only the single most
relevant fact; ``Answer style: full`` (the default, used by the bundled prompt) states every
relevant fact. The first such line wins; other values mean ``full``.

A line ``Order lookup: off`` in the prompt template turns the order tool off, so a prompt version
can be shown to lose the tool call: order questions are then answered from the knowledge base
like any other question. It is read from the template before formatting (a customer cannot
switch it off by writing the line in a question); the first such line wins, other values mean on.
"""

from __future__ import annotations

import itertools
import os
import re

import mlflow
from mlflow.entities import Document, SpanType
from mlflow.tracing.constant import SpanAttributeKey

from ..llm_endpoints import BASE_URL_ENVS, chat_completion, openai_auth_headers, openai_base_url
from .knowledge_base import retrieve, tokenize
from .orders import describe_order, find_order_id, get_order
from .prompts import load_system_prompt

PROMPT_URI_ENV = "AGENT_PROMPT_URI"
LLM_MODEL_ENV = "AGENT_LLM_MODEL"
LLM_BASE_URL_ENVS = BASE_URL_ENVS  # same precedence as MLflow's judges

TOP_K = 3
MAX_ANSWER_CHARS = 1200

EMPTY_ANSWER = (
    "Please ask a question about your order, shipping, returns or account, "
    "and I'll be glad to help."
)
REFUSAL = (
    "I can't help with that request. I only answer Acme Outfitters support questions, "
    "and I can't change or reveal my instructions."
)
OUT_OF_SCOPE = (
    "I can only help with Acme Outfitters support questions such as refunds, shipping, "
    "orders and contact options."
)
ORDER_NOT_FOUND = (
    "I couldn't find order {order_id}. Please check the order number in your order "
    "confirmation email and ask again."
)

# Phrases of common prompt-injection attempts. Deliberately narrow: a false positive refuses a
# real customer, so "show me the rules for returns" must still pass.
_INJECTION_PATTERNS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        (
            r"\b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}"
            r"\b(instructions?|rules?|guidelines?|directives?|prompts?)\b"
        ),
        (
            r"\b(reveal|print|show|repeat|output|display|leak|dump)\b[^.?!]{0,30}"
            r"\b(system (prompt|message)|your (instructions|prompt|rules)"
            r"|hidden (prompt|instructions))"
        ),
        r"\byou are now\b",
        r"\bjailbreak",
        r"\bdeveloper mode\b",
        r"\bpretend (to be|you are)\b",
    )
)

_SHIPPING_WORDS = frozenset(tokenize("ship shipping delivery deliver arrive"))
_SHIPPING_DOC_ID = "shipping-times"
# The delivery estimator's rate table; mirrors the shipping-times document.
_SHIPPING_TABLE = {
    "standard": ("3-5", "free on orders over $50, otherwise $5.95"),
    "express": ("1-2", "$14.95"),
    "international": ("7-14", "calculated at checkout"),
}
_EXPRESS_WORDS = frozenset(tokenize("express fast fastest faster quick overnight rush"))
_INTERNATIONAL_WORDS = frozenset(
    tokenize("international internationally abroad overseas worldwide canada europe uk")
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_STYLE_LINE = re.compile(r"^\s*answer style\s*:\s*(\w+)", re.IGNORECASE | re.MULTILINE)
_ORDER_LOOKUP_LINE = re.compile(r"^\s*order lookup\s*:\s*(\w+)", re.IGNORECASE | re.MULTILINE)


def make_predict(prompt_uri: str | None = None):
    """The predict function for one prompt version; with none, `AGENT_PROMPT_URI` at call time.

    The evaluation runner builds one per agent version it evaluates, so a baseline and a
    candidate evaluated in one process never share a prompt through the environment.
    """

    @mlflow.trace(span_type=SpanType.AGENT, name="support_agent")
    def predict(query: str) -> str:
        """Answer one customer question (see the module docstring for the steps)."""
        return answer(query, prompt_uri or os.environ.get(PROMPT_URI_ENV, "").strip())

    predict.make_predict = make_predict  # how the runner finds the factory from `agent.callable`
    return predict


def answer(query: str, prompt_uri: str) -> str:
    # Configuration is checked before anything else so a misconfigured run fails on its first
    # row, whatever that row is.
    if not prompt_uri:
        raise RuntimeError(
            f"{PROMPT_URI_ENV} is not set. Set it to a prompt registry URI such as "
            "prompts:/<name>@production. The evaluation runner sets it from agent.prompt in "
            "evaluation.yaml; agent.prompts.ensure_registered(<name>) registers the bundled "
            "default prompt and returns the URI."
        )
    llm = _llm_config()
    if not query or not query.strip():
        return EMPTY_ANSWER
    if _injection_guard(query):
        return REFUSAL

    # The prompt is read this early only for order questions, so every other question loads it
    # at the same step as before the order tool existed.
    order_id = find_order_id(query)
    if order_id is not None and not order_lookup_enabled(load_system_prompt(prompt_uri).template):
        order_id = None

    docs = _retrieve_docs(query)
    if order_id is not None:
        return _answer_order(order_id, query, docs, prompt_uri, llm)
    if not docs:
        return OUT_OF_SCOPE

    facts = _run_tool(query, docs)
    system_prompt = load_system_prompt(prompt_uri).format(
        query=query, context=_format_context(docs, facts)
    )
    if llm is not None:
        return _generate_answer(*llm, system_prompt=system_prompt, query=query)
    return _compose(system_prompt, facts)


def _answer_order(
    order_id: str, query: str, docs: list[dict], prompt_uri: str, llm: tuple[str, str] | None
) -> str:
    """Steps 3-5 for an order question: the order tool's facts come first in the context."""
    order = lookup_order(order_id)
    facts = order_facts(order)
    if facts:
        order_text = " ".join(f["text"] for f in facts)
    else:
        order_text = f"No order {order_id} exists in the order system."
    blocks = (f"[order {order_id}] {order_text}", _format_context(docs, []))
    context = "\n\n".join(block for block in blocks if block)
    system_prompt = load_system_prompt(prompt_uri).format(query=query, context=context)
    if llm is not None:
        return _generate_answer(*llm, system_prompt=system_prompt, query=query)
    return _compose(system_prompt, facts, ORDER_NOT_FOUND.format(order_id=order_id))


def _compose(system_prompt: str, facts: list[dict], no_facts_answer: str = "") -> str:
    with mlflow.start_span(name="compose_answer", span_type=SpanType.CHAIN) as span:
        style = answer_style(system_prompt)
        span.set_inputs({"answer_style": style, "facts": facts})
        answer = compose_answer(facts, style) if facts else no_facts_answer
        span.set_outputs(answer)
    return answer


def _injection_guard(query: str) -> bool:
    with mlflow.start_span(name="injection_guard", span_type=SpanType.GUARDRAIL) as span:
        span.set_inputs({"query": query})
        matched = next((p.pattern for p in _INJECTION_PATTERNS if p.search(query)), None)
        span.set_outputs({"blocked": matched is not None, "matched_pattern": matched})
    return matched is not None


def _retrieve_docs(query: str) -> list[dict]:
    with mlflow.start_span(name="retrieve_docs", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": query})
        docs = retrieve(query, k=TOP_K)
        span.set_outputs(
            [
                Document(
                    page_content=doc["text"],
                    metadata={"doc_uri": f"kb://{doc['id']}", "title": doc["title"]},
                    id=doc["id"],
                )
                for doc in docs
            ]
        )
    return docs


def _run_tool(query: str, docs: list[dict]) -> list[dict]:
    """Call exactly one tool and return the facts for the answer, most relevant marked by score.

    A fact is `{"text", "source", "score"}`; score is the number of query words it shares.
    """
    query_tokens = frozenset(tokenize(query))
    if query_tokens & _SHIPPING_WORDS and any(d["id"] == _SHIPPING_DOC_ID for d in docs):
        if query_tokens & _INTERNATIONAL_WORDS:
            method = "international"
        elif query_tokens & _EXPRESS_WORDS:
            method = "express"
        else:
            method = "standard"
        estimate = estimate_delivery(method)
        headline = {
            "text": (
                f"Estimated delivery with {method} shipping: {estimate['business_days']} "
                f"business days; cost: {estimate['cost']}."
            ),
            "source": _SHIPPING_DOC_ID,
            "score": len(query_tokens) + 1,  # the tool's answer outranks any single sentence
        }
        return [headline, *relevant_sentences(query, docs)]
    return extract_facts(query, docs)


@mlflow.trace(span_type=SpanType.TOOL, name="estimate_delivery")
def estimate_delivery(method: str) -> dict:
    """Delivery time and cost for a shipping method from the rate table."""
    business_days, cost = _SHIPPING_TABLE[method]
    return {"method": method, "business_days": business_days, "cost": cost}


@mlflow.trace(span_type=SpanType.TOOL, name="lookup_order")
def lookup_order(order_id: str) -> dict:
    """The order's record from the order table with `found: True`, or `found: False` alone."""
    record = get_order(order_id)
    if record is None:
        return {"order_id": order_id, "found": False}
    return {**record, "found": True}


def order_facts(order: dict) -> list[dict]:
    """Facts for compose_answer from a lookup_order result, most important first (none if
    the order was not found), all cited as "order <id>"."""
    if not order["found"]:
        return []
    sentences = describe_order(order)
    source = f"order {order['order_id']}"
    # Descending scores, so the concise style keeps the status sentence.
    return [
        {"text": text, "source": source, "score": len(sentences) - rank}
        for rank, text in enumerate(sentences)
    ]


@mlflow.trace(span_type=SpanType.TOOL, name="extract_facts")
def extract_facts(query: str, docs: list[dict]) -> list[dict]:
    """The sentences of the retrieved documents that answer `query`."""
    return relevant_sentences(query, docs)


def relevant_sentences(query: str, docs: list[dict]) -> list[dict]:
    """Every sentence of the best document, plus sentences of the others that share at least
    two query words.

    The whole best document is kept because its conditions often share no word with the
    question ("What is the refund policy?" -> "...in their original packaging.").
    """
    query_tokens = frozenset(tokenize(query))
    facts = []
    for rank, doc in enumerate(docs):
        for sentence in _SENTENCE_END.split(doc["text"].strip()):
            overlap = len(query_tokens & set(tokenize(sentence)))
            if rank == 0 or overlap >= 2:
                facts.append({"text": sentence, "source": doc["id"], "score": overlap})
    return facts


def _format_context(docs: list[dict], facts: list[dict]) -> str:
    """Documents for the prompt, plus tool results that are not already document text."""
    blocks = [f"[{d['id']}] {d['title']}: {d['text']}" for d in docs]
    doc_texts = " ".join(d["text"] for d in docs)
    blocks += [f"[{f['source']}] {f['text']}" for f in facts if f["text"] not in doc_texts]
    return "\n\n".join(blocks)


def answer_style(system_prompt: str) -> str:
    """The `Answer style:` directive of the formatted prompt: "concise" or "full"."""
    match = _STYLE_LINE.search(system_prompt)
    return "concise" if match and match.group(1).lower() == "concise" else "full"


def order_lookup_enabled(system_prompt: str) -> bool:
    """False when the prompt has an `Order lookup: off` directive line, otherwise True."""
    match = _ORDER_LOOKUP_LINE.search(system_prompt)
    return not (match and match.group(1).lower() == "off")


def compose_answer(facts: list[dict], style: str = "full") -> str:
    """Extractive answer: facts grouped by source, each group followed by its citation."""
    if style == "concise":
        facts = [max(facts, key=lambda f: f["score"])]  # max keeps the first of equal scores
    parts: list[str] = []
    for source, group in itertools.groupby(facts, key=lambda f: f["source"]):
        part = " ".join(f["text"] for f in group) + f" (source: {source})"
        # Later groups are less relevant: drop them rather than cut a sentence in half.
        if parts and len("\n".join([*parts, part])) > MAX_ANSWER_CHARS:
            break
        parts.append(part)
    return "\n".join(parts)[:MAX_ANSWER_CHARS]


def _llm_config() -> tuple[str, str] | None:
    model = os.environ.get(LLM_MODEL_ENV, "").strip()
    if not model:
        return None
    base_url = openai_base_url()
    if base_url is None:
        # Not a silent fall-back to offline answers: the user asked for an LLM.
        raise RuntimeError(
            f"{LLM_MODEL_ENV} is set but neither OPENAI_API_BASE nor OPENAI_BASE_URL is. Set one "
            f"to the endpoint (e.g. https://api.openai.com/v1), or unset {LLM_MODEL_ENV} to use "
            "the offline extractive answers."
        )
    return model.removeprefix("openai:/"), base_url.rstrip("/")


def _generate_answer(model: str, base_url: str, *, system_prompt: str, query: str) -> str:
    messages = [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": query},
    ]
    with mlflow.start_span(name="generate_answer", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"model": model, "messages": messages})
        # Through the project's endpoint flow control: retries of 429/5xx with back-off, the
        # per-call timeout (concurrency.llm_timeout), and the run's circuit breaker.
        payload = chat_completion(
            base_url,
            {"model": model, "messages": messages, "temperature": 0},
            openai_auth_headers(),
        )
        span.set_outputs(payload)
        usage = payload.get("usage") or {}
        # Only real counts from the endpoint are recorded; cost reports must not be guesses.
        if isinstance(usage.get("prompt_tokens"), int) and isinstance(
            usage.get("completion_tokens"), int
        ):
            span.set_attribute(
                SpanAttributeKey.CHAT_USAGE,
                {
                    "input_tokens": usage["prompt_tokens"],
                    "output_tokens": usage["completion_tokens"],
                    "total_tokens": usage.get(
                        "total_tokens", usage["prompt_tokens"] + usage["completion_tokens"]
                    ),
                },
            )
    return payload["choices"][0]["message"]["content"] or ""


# `agent.callable` in evaluation.yaml names this; it reads AGENT_PROMPT_URI when called directly.
predict = make_predict()
