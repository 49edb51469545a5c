"""Given-steps that several tests share; each asserts that the step itself worked."""

from __future__ import annotations

from typing import Any

from .api_client import APPROVED_CARD, ApiClient


def in_cart(client: ApiClient, sku: str, quantity: int = 1) -> dict[str, Any]:
    response = client.add_to_cart(sku, quantity)
    assert response.status_code == 201, response.text
    return dict(response.json())


def paid_order(client: ApiClient, sku: str, quantity: int = 1) -> dict[str, Any]:
    """The customer buys ``quantity`` of ``sku`` with the approving card."""
    in_cart(client, sku, quantity)
    response = client.checkout(card=APPROVED_CARD)
    assert response.status_code == 201, response.text
    order = dict(response.json())
    assert order["status"] == "paid", order
    return order


def pending_order(
    client: ApiClient, sku: str, quantity: int = 1, hold_seconds: int | None = None
) -> dict[str, Any]:
    """The customer checks out without paying: the stock is held, the order awaits payment."""
    in_cart(client, sku, quantity)
    response = client.checkout(hold_seconds=hold_seconds)
    assert response.status_code == 201, response.text
    order = dict(response.json())
    assert order["status"] == "pending_payment", order
    return order


def results(response: Any) -> list[dict[str, Any]]:
    """The ``results`` of a 200 paginated answer."""
    assert response.status_code == 200, response.text
    return list(response.json()["results"])
