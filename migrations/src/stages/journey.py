"""The demo's scripted customer journey: the same steps a person would take, over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

APPROVING_CARD = "4242424242424242"


class StepFailed(RuntimeError):
    """A journey step answered something unexpected."""


@dataclass
class Step:
    name: str
    status: int
    millis: float
    note: str = ""


@dataclass
class Journey:
    base_url: str
    steps: list[Step] = field(default_factory=list)

    def _call(
        self,
        client: httpx.Client,
        name: str,
        method: str,
        path: str,
        expect: int,
        note: Callable[[Any], str] = lambda body: "",
        **kwargs: Any,
    ) -> Any:
        started = time.perf_counter()
        response = client.request(method, path, **kwargs)
        millis = (time.perf_counter() - started) * 1000
        body = response.json() if response.content else None
        if response.status_code != expect:
            raise StepFailed(
                f"{name}: {method} {path} answered {response.status_code}, expected {expect}: "
                f"{response.text[:500]}"
            )
        self.steps.append(Step(name, response.status_code, millis, note(body)))
        return body

    def run(self) -> list[Step]:
        email = f"demo-{uuid.uuid4().hex[:8]}@shop.test"
        password = "demo-pass-" + uuid.uuid4().hex[:8]
        with httpx.Client(base_url=self.base_url, timeout=30.0) as client:
            self._call(
                client,
                "register",
                "POST",
                "/api/users/register",
                201,
                note=lambda b: b["email"],
                json={"email": email, "password": password, "name": "Demo Customer"},
            )
            tokens = self._call(
                client,
                "log in",
                "POST",
                "/api/users/login",
                200,
                note=lambda b: f"RS256 token, expires in {b['expires_in']}s",
                json={"email": email, "password": password},
            )
            client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
            page = self._call(
                client,
                "browse (in stock, cheapest first)",
                "GET",
                "/api/catalog/products",
                200,
                note=lambda b: f"{b['count']} products",
                params={"in_stock": "true", "ordering": "price", "page_size": 5},
            )
            if not page["results"]:
                raise StepFailed(
                    "browse: the catalog is empty; run `strangler demo` with --products"
                )
            product = page["results"][0]
            word = product["name"].split()[0]
            self._call(
                client,
                f"search {word!r}",
                "GET",
                "/api/catalog/products",
                200,
                note=lambda b: f"{b['count']} matches",
                params={"q": word},
            )
            sku = product["variants"][0]["sku"]
            self._call(
                client,
                f"add {sku} to cart",
                "POST",
                "/api/cart/items",
                201,
                note=lambda b: f"total {b['total']} {b['currency']}",
                json={"sku": sku, "quantity": 2},
            )
            order = self._call(
                client,
                "checkout (card 4242...)",
                "POST",
                "/api/orders/checkout",
                201,
                note=lambda b: f"order {b['id'][:8]} {b['status']}",
                json={"payment": {"card_number": APPROVING_CARD}},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            self._call(
                client,
                "order history",
                "GET",
                "/api/orders",
                200,
                note=lambda b: f"{b['count']} order(s)",
            )
            self._call(
                client,
                "payments",
                "GET",
                "/api/payments",
                200,
                note=lambda b: ", ".join(e["kind"] for e in b["results"][0]["ledger"]),
                params={"order_id": order["id"]},
            )
            self._call(
                client,
                "notifications",
                "GET",
                "/api/notifications",
                200,
                note=lambda b: ", ".join(n["kind"] for n in b["results"]),
            )
        return self.steps
