"""The catalog service's tests run under its own Django settings, never the monolith's (both
have an app labelled ``catalog``), so on their own::

    .venv/bin/pytest extracted/catalog/tests --ds catalog_service.settings_test -p no:cacheprovider -q

(``KIT_DB=postgres`` for PostgreSQL.) pytest-django sets Django up before any conftest is
read, so the settings must come from ``--ds`` (or DJANGO_SETTINGS_MODULE), not from here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

SETTINGS = "catalog_service.settings_test"
if os.environ.get("DJANGO_SETTINGS_MODULE") != SETTINGS:
    pytest.exit(
        f"extracted/catalog/tests need their own Django settings: add --ds {SETTINGS}", returncode=4
    )

MakeProduct = Callable[..., object]


@pytest.fixture
def writer(db: None) -> None:
    """This service writes catalog (the state after the flip)."""
    from eventbus.ownership import services as ownership

    ownership.set_owner("catalog", "service", frozen=False, why="test: service writes")


@pytest.fixture
def make_product(writer: None) -> MakeProduct:
    """``make_product("tee", ("TEE-S", "9.99", 5), ("TEE-M", "12.50", 0), category="apparel")``"""
    from catalog_service.catalog import services
    from catalog_service.catalog.models import Category

    def make(
        slug: str,
        *variants: tuple[str, str, int],
        name: str = "",
        description: str = "",
        category: str | None = None,
        currency: str = "USD",
    ) -> object:
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


@pytest.fixture
def idem() -> Callable[[], str]:
    return lambda: uuid.uuid4().hex


def _client(user: object | None) -> object:
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)  # type: ignore[arg-type]  # a Principal
    return client


@pytest.fixture
def anonymous() -> object:
    return _client(None)


@pytest.fixture
def customer() -> object:
    from servicekit.auth import Principal

    return _client(Principal(id=7, email="buyer@example.com", is_staff=False, token_id="t"))


@pytest.fixture
def staff() -> object:
    from servicekit.auth import Principal

    return _client(Principal(id=1, email="staff@example.com", is_staff=True, token_id="t"))
