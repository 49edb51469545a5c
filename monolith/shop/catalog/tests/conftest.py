from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from shop.catalog import services
from shop.catalog.models import Category, Product
from shop.common.auth import Principal

MakeProduct = Callable[..., Product]


@pytest.fixture
def make_product() -> MakeProduct:
    """``make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "12.50", 0), category="apparel")``"""

    def make(
        slug: str,
        *variants: tuple[str, str, int],
        name: str = "",
        description: str = "",
        category: str | None = None,
        currency: str = "USD",
    ) -> Product:
        if category and not Category.objects.filter(slug=category).exists():
            services.category_create(slug=category, name=category.title())
        return services.product_create(
            slug=slug,
            name=name or slug.replace("-", " ").title(),
            description=description,
            category=category,
            variants=[
                services.VariantInput(
                    sku=sku,
                    name=f"Variant {sku}",
                    price=Decimal(price),
                    currency=currency,
                    attributes={"sku": sku},
                    on_hand=on_hand,
                )
                for sku, price, on_hand in variants
            ],
        )

    return make


def _client(user: Principal | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)  # type: ignore[arg-type]  # a Principal, not a model
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return _client(None)


@pytest.fixture
def customer() -> APIClient:
    return _client(Principal(id=7, email="buyer@example.com", is_staff=False, token_id="t"))


@pytest.fixture
def staff() -> APIClient:
    return _client(Principal(id=1, email="staff@example.com", is_staff=True, token_id="t"))
