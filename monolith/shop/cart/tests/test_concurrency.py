"""Concurrent writes for one user serialise on the cart row (needs real row locks: PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from shop.cart import selectors, services

pytestmark = [pytest.mark.cart, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (set SHOP_DATABASE_URL)")


def test_concurrent_adds_never_exceed_stock(product: Callable[..., None]) -> None:
    product("TEE-M", on_hand=5)

    def add() -> str:
        try:
            services.cart_add_item(user_id=1, sku="TEE-M", quantity=1)
            return "ok"
        except services.InsufficientStock:
            return "insufficient_stock"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(lambda _: add(), range(12)))
    assert outcomes == ["insufficient_stock"] * 7 + ["ok"] * 5
    assert selectors.cart_get(user_id=1).lines[0].quantity == 5
