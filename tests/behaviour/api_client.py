"""A thin HTTP client for the shop's API, one method per user action (docs/api.md).

Every method returns the ``httpx.Response`` untouched: the tests assert the status, the body
and the headers themselves. Nothing here knows how the target is built (monolith, proxy or
extracted services); it only knows the contract.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

PROBLEM_CONTENT_TYPE = "application/problem+json"

APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
PROVIDER_ERROR_CARD = "4000000000000119"
SLOW_CARD = "4000000000000259"
NOT_LUHN_CARD = "4242424242424241"

T = TypeVar("T")


def unique(prefix: str = "") -> str:
    """A short unique token, so that tests never see each other's data on a shared target."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def new_email() -> str:
    return f"{unique('customer-')}@example.com"


class ApiClient:
    """One caller of the API: anonymous, or bound to a bearer token (and its account)."""

    def __init__(self, base_url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.refresh_token: str | None = None
        self.email: str = ""
        self.password: str = ""
        self.id: int | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """Any request; the bearer token is added unless ``headers`` names Authorization."""
        sent = dict(headers or {})
        if self.token and not any(k.lower() == "authorization" for k in sent):
            sent["Authorization"] = f"Bearer {self.token}"
        return self._http.request(method, path, headers=sent, **kw)

    def follow(self, link: str) -> httpx.Response:
        """GET a pagination link (``next``/``previous``) on this target, whatever host it names."""
        parts = urlsplit(link)
        return self.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))

    def _json(self, method: str, path: str, body: Any, **kw: Any) -> httpx.Response:
        return self.request(method, path, json=body, **kw)

    # --- users ----------------------------------------------------------------------------

    def register(self, email: str, password: str, name: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"email": email, "password": password}
        if name is not None:
            body["name"] = name
        return self._json("POST", "/api/users/register", body)

    def login(self, email: str, password: str) -> httpx.Response:
        return self._json("POST", "/api/users/login", {"email": email, "password": password})

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self._json("POST", "/api/users/token/refresh", {"refresh_token": refresh_token})

    def logout(self, refresh_token: str) -> httpx.Response:
        return self._json("POST", "/api/users/logout", {"refresh_token": refresh_token})

    def me(self) -> httpx.Response:
        return self.request("GET", "/api/users/me")

    def update_me(self, **fields: Any) -> httpx.Response:
        return self._json("PATCH", "/api/users/me", fields)

    def jwks(self, path: str = "/.well-known/jwks.json") -> httpx.Response:
        return self.request("GET", path)

    # --- catalog --------------------------------------------------------------------------

    def list_products(self, **filters: Any) -> httpx.Response:
        return self.request("GET", "/api/catalog/products", params=filters)

    def get_product(self, slug: str) -> httpx.Response:
        return self.request("GET", f"/api/catalog/products/{slug}")

    def get_sku(self, sku: str) -> httpx.Response:
        return self.request("GET", f"/api/catalog/skus/{sku}")

    def create_product(self, **body: Any) -> httpx.Response:
        return self._json("POST", "/api/catalog/products", body)

    def update_product(self, slug: str, **fields: Any) -> httpx.Response:
        return self._json("PATCH", f"/api/catalog/products/{slug}", fields)

    def update_sku(self, sku: str, **fields: Any) -> httpx.Response:
        return self._json("PATCH", f"/api/catalog/skus/{sku}", fields)

    def stock(self, sku: str) -> httpx.Response:
        return self.request("GET", f"/api/catalog/skus/{sku}/stock")

    def adjust_stock(self, sku: str, delta: int, reason: str = "stock count") -> httpx.Response:
        return self._json(
            "POST", f"/api/catalog/skus/{sku}/stock-adjustments", {"delta": delta, "reason": reason}
        )

    def create_category(self, slug: str, name: str) -> httpx.Response:
        return self._json("POST", "/api/catalog/categories", {"slug": slug, "name": name})

    def list_categories(self) -> httpx.Response:
        return self.request("GET", "/api/catalog/categories")

    # --- cart -----------------------------------------------------------------------------

    def cart(self) -> httpx.Response:
        return self.request("GET", "/api/cart")

    def add_to_cart(self, sku: str, quantity: int = 1) -> httpx.Response:
        return self._json("POST", "/api/cart/items", {"sku": sku, "quantity": quantity})

    def set_cart_quantity(self, sku: str, quantity: int) -> httpx.Response:
        return self._json("PATCH", f"/api/cart/items/{sku}", {"quantity": quantity})

    def remove_from_cart(self, sku: str) -> httpx.Response:
        return self.request("DELETE", f"/api/cart/items/{sku}")

    def clear_cart(self) -> httpx.Response:
        return self.request("DELETE", "/api/cart")

    # --- orders ---------------------------------------------------------------------------

    def checkout(
        self,
        card: str | None = None,
        hold_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {}
        if card is not None:
            body["payment"] = {"card_number": card}
        if hold_seconds is not None:
            body["hold_seconds"] = hold_seconds
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        return self._json("POST", "/api/orders/checkout", body, headers=headers)

    def pay(self, order_id: str, card: str) -> httpx.Response:
        return self._json("POST", f"/api/orders/{order_id}/pay", {"payment": {"card_number": card}})

    def cancel(self, order_id: str) -> httpx.Response:
        return self._json("POST", f"/api/orders/{order_id}/cancel", {})

    def fulfil(self, order_id: str) -> httpx.Response:
        return self._json("POST", f"/api/orders/{order_id}/fulfil", {})

    def orders(self, **params: Any) -> httpx.Response:
        return self.request("GET", "/api/orders", params=params)

    def order(self, order_id: str) -> httpx.Response:
        return self.request("GET", f"/api/orders/{order_id}")

    # --- payments and notifications -------------------------------------------------------

    def payments(self, order_id: str | None = None, **params: Any) -> httpx.Response:
        if order_id is not None:
            params["order_id"] = order_id
        return self.request("GET", "/api/payments", params=params)

    def payment(self, payment_id: str) -> httpx.Response:
        return self.request("GET", f"/api/payments/{payment_id}")

    def notifications(self, **params: Any) -> httpx.Response:
        return self.request("GET", "/api/notifications", params=params)


def problem(response: httpx.Response) -> dict[str, Any]:
    """Assert the RFC 9457 shape of an error answer and return its body."""
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip() == PROBLEM_CONTENT_TYPE, (
        f"{response.status_code} with content-type {content_type!r}: {response.text[:500]}"
    )
    body = response.json()
    assert isinstance(body, dict), body
    for key in ("type", "title", "code"):
        assert isinstance(body.get(key), str), body
        assert body[key], body
    assert body.get("status") == response.status_code, body
    return body


def field_names(body: dict[str, Any]) -> list[str]:
    """The fields a problem blames, in order (``errors[].field``)."""
    return [error["field"] for error in body.get("errors", [])]


def wait_until(
    fetch: Callable[[], T],
    predicate: Callable[[T], bool],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    record: Callable[[str, object], None] | None = None,
    name: str = "waited_seconds",
) -> tuple[T, float]:
    """Poll ``fetch`` until ``predicate`` holds, at most ``timeout`` seconds.

    For journeys that are only eventually consistent (an order paid -> its notification).
    Returns the value and how long it took; the wait is printed and, given ``record`` (pytest's
    ``record_property``), attached to the test report. On timeout it fails with the last value.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        value = fetch()
        waited = time.monotonic() - started
        if predicate(value):
            print(f"{name}={waited:.3f}")
            if record is not None:
                record(name, round(waited, 3))
            return value, waited
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true after {waited:.2f}s; last value seen: {value!r}")
        time.sleep(interval)
