"""The bundled support knowledge base and a keyword retriever over it.

Pure Python on purpose: the sample agent must run offline and give the same ranking on every
machine, so evaluation results change only when the agent, prompt or data change.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

KB_PATH = Path(__file__).parent / "knowledge_base.json"

# A document needs at least this score to be returned: one title word (weight 2) or two body
# words. A lone body-word hit is too weak and would make off-topic questions look answerable.
MIN_SCORE = 2
TITLE_WEIGHT = 2
TEXT_WEIGHT = 1

# Words that carry no topic. The shop's name is included because every document mentions it.
# The list reads best as text, hence the split.
STOPWORDS = frozenset(
    """
    a about after all am an and any are as at be been before but by can could did do does
    for from get got has have how i if in into is it its me my no not of on or our please
    should so than that the their them then there these they this to too up us was we were
    what when where which who why will with would you your acme outfitters
    """.split()  # noqa: SIM905
)

_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    """Map simple inflections to one form ("refunds", "refunded" -> "refund").

    Only needs to be consistent between queries and documents, not linguistically correct.
    """
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] != "s":
        word = word[:-1]  # "shipp" (from shipping/shipped) -> "ship"
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]  # "change" and "changing" both -> "chang"
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased, stemmed content words of `text`, in order.

    Stopwords and one-character words (the "s" of "what's", single digits) are dropped.
    """
    return [_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict, ...]:
    docs = json.loads(KB_PATH.read_text(encoding="utf-8"))
    # Token sets are computed once here because retrieve() runs for every query.
    return tuple(
        {
            **doc,
            "_title": frozenset(tokenize(doc["title"])),
            "_text": frozenset(tokenize(doc["text"])),
        }
        for doc in docs
    )


def load_documents() -> list[dict]:
    """All documents as `{"id", "title", "text"}` dicts (fresh copies)."""
    return [{"id": d["id"], "title": d["title"], "text": d["text"]} for d in _load()]


def score(query_tokens: set[str] | frozenset[str], doc: dict) -> int:
    """Weighted keyword overlap: a query word in the title counts more than one in the body."""
    return sum(
        TITLE_WEIGHT * (tok in doc["_title"]) + TEXT_WEIGHT * (tok in doc["_text"])
        for tok in query_tokens
    )


def retrieve(query: str, k: int = 3, min_score: int = MIN_SCORE) -> list[dict]:
    """Return up to `k` documents for `query`, best first, as `{"id", "title", "text", "score"}`.

    Ties are broken by document id so the ranking is deterministic. Documents scoring below
    `min_score` are left out, so an off-topic query returns an empty list.
    """
    query_tokens = frozenset(tokenize(query))
    if not query_tokens:
        return []
    scored = [(score(query_tokens, doc), doc) for doc in _load()]
    ranked = sorted(
        ((s, d) for s, d in scored if s >= min_score), key=lambda pair: (-pair[0], pair[1]["id"])
    )
    return [
        {"id": d["id"], "title": d["title"], "text": d["text"], "score": s} for s, d in ranked[:k]
    ]
