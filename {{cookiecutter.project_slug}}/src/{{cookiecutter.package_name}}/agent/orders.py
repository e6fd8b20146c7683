"""The bundled order table of Acme Outfitters (fictional orders) and how to read it.

Offline on purpose, like the knowledge base: an evaluation gets the same order facts on every
machine. Every record has ``order_id``, ``status`` (processing, shipped, delivered or
cancelled), ``placed`` and ``items``; the other fields appear once they apply: ``shipped``,
``carrier`` and ``tracking_number`` after shipping, ``estimated_delivery`` while on the way,
``delivered`` or ``cancelled`` for those statuses. Dates are plain ISO dates (YYYY-MM-DD).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

ORDERS_PATH = Path(__file__).parent / "orders.json"

# "A" and four digits as a whole word, so "#A1001" and "a1001" match but "A10012" does not.
ORDER_ID = re.compile(r"\bA\d{4}\b", re.IGNORECASE)

# One sentence per status, most important fact first; filled from the record's own fields.
_STATUS_SENTENCES = {
    "processing": (
        "Order {order_id} was placed on {placed} and is being processed; it has not shipped yet."
    ),
    "shipped": (
        "Order {order_id} shipped on {shipped} with {carrier}, tracking number "
        "{tracking_number}; estimated delivery {estimated_delivery}."
    ),
    "delivered": (
        "Order {order_id} was delivered on {delivered}; it shipped on {shipped} with {carrier}, "
        "tracking number {tracking_number}."
    ),
    "cancelled": "Order {order_id} was cancelled on {cancelled}.",
}


@functools.lru_cache(maxsize=1)
def _load() -> dict[str, dict]:
    records = json.loads(ORDERS_PATH.read_text(encoding="utf-8"))
    return {record["order_id"]: record for record in records}


def find_order_id(text: str) -> str | None:
    """The first order id in `text`, upper-cased ("#a1001" -> "A1001"), or None."""
    match = ORDER_ID.search(text)
    return match.group(0).upper() if match else None


def get_order(order_id: str) -> dict | None:
    """A copy of the record of `order_id`, or None when there is no such order."""
    record = _load().get(order_id.upper())
    # A copy, so a caller that edits its result cannot change the table for later queries.
    return copy.deepcopy(record) if record is not None else None


def describe_order(record: dict) -> list[str]:
    """The record as sentences, most important first: its status, then its items."""
    return [
        _STATUS_SENTENCES[record["status"]].format(**record),
        "Items: " + ", ".join(record["items"]) + ".",
    ]
