"""Shared by the orders tests: test cards and a stock probe."""

from __future__ import annotations

from shop.catalog import selectors as catalog_selectors

APPROVED = "4242424242424242"
DECLINED = "4000000000000002"
NO_FUNDS = "4000000000009995"
PROVIDER_ERROR = "4000000000000119"
NOT_LUHN = "4242424242424241"


def stock(sku: str) -> tuple[int, int]:
    """(on_hand, reserved) of a SKU."""
    view = catalog_selectors.stock_get(sku=sku)
    assert view is not None
    return view.on_hand, view.reserved
