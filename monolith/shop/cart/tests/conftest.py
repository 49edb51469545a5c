from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from shop.catalog import services as catalog_services
from shop.common.auth import Principal

Client = Callable[[int], APIClient]


@pytest.fixture
def client_for() -> Client:
    def make(user_id: int, *, staff: bool = False) -> APIClient:
        client = APIClient()
        client.force_authenticate(
            user=Principal(
                id=user_id, email=f"u{user_id}@example.com", is_staff=staff, token_id="t"
            )
        )
        return client

    return make


@pytest.fixture
def product() -> Callable[..., None]:
    """Create a one-variant product: ``product(sku, price="10.00", on_hand=5, currency="EUR")``."""

    def make(sku: str, price: str = "10.00", on_hand: int = 5, currency: str = "EUR") -> None:
        catalog_services.product_create(
            slug=sku.lower(),
            name=f"Product {sku}",
            variants=[
                catalog_services.VariantInput(
                    sku=sku,
                    name=f"Variant {sku}",
                    price=Decimal(price),
                    currency=currency,
                    on_hand=on_hand,
                )
            ],
        )

    return make
