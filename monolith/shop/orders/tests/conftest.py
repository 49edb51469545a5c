from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from shop.cart import services as cart_services
from shop.catalog import services as catalog_services
from shop.common.auth import Principal
from shop.users import services as user_services


@dataclass
class Customer:
    id: int
    api: APIClient


def _client(user_id: int, email: str, *, staff: bool = False) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=Principal(id=user_id, email=email, is_staff=staff, token_id="t"))
    return client


def _customer(email: str, *, staff: bool = False) -> Customer:
    # A real account: notifications look up the recipient's contact.
    user = user_services.user_register(email=email, password="a-long-pass-phrase", name="Ann")
    return Customer(id=user.pk, api=_client(user.pk, email, staff=staff))


@pytest.fixture
def alice() -> Customer:
    return _customer("alice@example.com")


@pytest.fixture
def bob() -> Customer:
    return _customer("bob@example.com")


@pytest.fixture
def staff() -> Customer:
    return _customer("staff@example.com", staff=True)


@pytest.fixture
def product() -> Callable[..., None]:
    """``product(sku, price="10.00", on_hand=5)``: a one-variant product in EUR."""

    def make(sku: str, price: str = "10.00", on_hand: int = 5) -> None:
        catalog_services.product_create(
            slug=sku.lower(),
            name=f"Product {sku}",
            variants=[
                catalog_services.VariantInput(
                    sku=sku,
                    name=f"Variant {sku}",
                    price=Decimal(price),
                    currency="EUR",
                    on_hand=on_hand,
                )
            ],
        )

    return make


@pytest.fixture
def stocked_cart(alice: Customer, product: Callable[..., None]) -> Customer:
    """Alice's cart: 2 x A at 10.00 and 1 x B at 5.50 (A has 5 on hand, B 3)."""
    product("A", price="10.00", on_hand=5)
    product("B", price="5.50", on_hand=3)
    cart_services.cart_add_item(user_id=alice.id, sku="A", quantity=2)
    cart_services.cart_add_item(user_id=alice.id, sku="B", quantity=1)
    return alice
