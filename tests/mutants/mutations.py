"""The behavioural changes a mutant can inject, as pure functions of one answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_PRODUCTS = re.compile(r"^/api/catalog/products(?:/[^/]+)?$")
_ORDERS = re.compile(r"^/api/orders(?:/.*)?$")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


Mutation = Callable[[str, str, Answer], Answer]


def _json(answer: Answer) -> Any:
    if "json" not in answer.content_type or not answer.body:
        return None
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _encoded(answer: Answer, body: Any) -> Answer:
    return Answer(answer.status, json.dumps(body).encode(), answer.content_type)


def none(method: str, path: str, answer: Answer) -> Answer:
    return answer


def declined_as_ok(method: str, path: str, answer: Answer) -> Answer:
    """(a) Any 402 (a declined payment, a provider failure) answers 200, body unchanged."""
    if answer.status == 402:
        return Answer(200, answer.body, answer.content_type)
    return answer


def drop_price_from(method: str, path: str, answer: Answer) -> Answer:
    """(b) Product list and detail answers lose their ``price_from`` field."""
    if method != "GET" or not _PRODUCTS.match(path):
        return answer
    body = _json(answer)
    if not isinstance(body, dict):
        return answer
    results = body.get("results")
    products = results if isinstance(results, list) else [body]
    for product in products:
        if isinstance(product, dict):
            product.pop("price_from", None)
    return _encoded(answer, body)


def order_total_off_by_a_cent(method: str, path: str, answer: Answer) -> Answer:
    """(c) Every order's ``total`` is 0.01 too high (checkout, detail, list, actions)."""
    if not _ORDERS.match(path):
        return answer
    body = _json(answer)
    if not isinstance(body, dict):
        return answer
    results = body.get("results")
    orders = results if isinstance(results, list) else [body]
    changed = False
    for order in orders:
        if isinstance(order, dict) and "lines" in order and isinstance(order.get("total"), str):
            order["total"] = str(Decimal(order["total"]) + Decimal("0.01"))
            changed = True
    return _encoded(answer, body) if changed else answer


MUTATIONS: dict[str, Mutation] = {
    "none": none,
    "declined-as-ok": declined_as_ok,
    "drop-price-from": drop_price_from,
    "order-total-off-by-a-cent": order_total_off_by_a_cent,
}
