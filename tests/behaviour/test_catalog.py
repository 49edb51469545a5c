"""The catalog: browsing (pagination, search, filters, ordering), staff writes, stock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .api_client import ApiClient, field_names, problem, unique
from .conftest import Product
from .steps import pending_order

pytestmark = [pytest.mark.behaviour, pytest.mark.catalog]

PRODUCT_KEYS = {
    "id",
    "slug",
    "name",
    "description",
    "category",
    "is_active",
    "price_from",
    "currency",
    "variants",
    "created_at",
    "updated_at",
}
VARIANT_KEYS = {"sku", "product", "name", "attributes", "price", "currency", "available"}


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["slug"] for p in response.json()["results"]]


def test_list_is_paginated(
    api: ApiClient, product: Callable[..., Product], category: Callable[..., str]
) -> None:
    shelf = category()
    t = unique()
    alpha = product(category=shelf, name=f"Alpha {t}")
    beta = product(category=shelf, name=f"Beta {t}")
    gamma = product(category=shelf, name=f"Gamma {t}")

    first = api.list_products(category=shelf, page_size=2)

    assert first.status_code == 200, first.text
    page = first.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3
    assert [p["slug"] for p in page["results"]] == [alpha.slug, beta.slug]
    assert page["previous"] is None
    assert "page=2" in page["next"]
    second = api.follow(page["next"])
    assert second.status_code == 200, second.text
    assert [p["slug"] for p in second.json()["results"]] == [gamma.slug]
    assert second.json()["count"] == 3
    assert second.json()["next"] is None
    assert second.json()["previous"] is not None
    assert slugs(api.follow(second.json()["previous"])) == [alpha.slug, beta.slug]


def test_search_by_words_in_name_or_description(
    api: ApiClient, product: Callable[..., Product]
) -> None:
    word = unique("zephyr")
    by_name = product(name=f"{word} kettle")
    by_description = product(description=f"Pairs well with the {word} kettle.")
    product()  # and one that does not mention it

    assert sorted(slugs(api.list_products(q=word))) == sorted([by_name.slug, by_description.slug])
    assert api.list_products(q=word).json()["count"] == 2


def test_filter_by_category(
    api: ApiClient, product: Callable[..., Product], category: Callable[..., str]
) -> None:
    kitchen, garden = category(), category()
    pan = product(category=kitchen)
    rake = product(category=garden)

    assert slugs(api.list_products(category=kitchen)) == [pan.slug]
    assert slugs(api.list_products(category=garden)) == [rake.slug]


def test_filter_by_price_on_any_variant(
    api: ApiClient,
    staff: ApiClient,
    product: Callable[..., Product],
    category: Callable[..., str],
) -> None:
    shelf = category()
    cheap = product(price="5.00", category=shelf)
    middle = product(price="15.00", category=shelf)
    dear = product(price="25.00", category=shelf)
    t = unique()
    mixed = staff.create_product(
        slug=f"p-{t}",
        name=f"Mixed {t}",
        category=shelf,
        variants=[
            {"sku": f"SKU-{t.upper()}-S", "name": "Small", "price": "3.00", "currency": "EUR"},
            {"sku": f"SKU-{t.upper()}-L", "name": "Large", "price": "30.00", "currency": "EUR"},
        ],
    )
    assert mixed.status_code == 201, mixed.text
    assert mixed.json()["price_from"] == "3.00"

    def within(**bounds: str) -> list[str]:
        return slugs(api.list_products(category=shelf, **bounds))

    # the mixed product matches by its large variant on one side and its small on the other
    assert set(within(min_price="10.00")) == {middle.slug, dear.slug, f"p-{t}"}
    assert set(within(max_price="20.00")) == {cheap.slug, middle.slug, f"p-{t}"}
    between = within(min_price="10.00", max_price="20.00")
    assert middle.slug in between
    assert cheap.slug not in between
    assert dear.slug not in between
    assert within(min_price="40.00") == []


def test_filter_in_stock(
    api: ApiClient, product: Callable[..., Product], category: Callable[..., str]
) -> None:
    shelf = category()
    product(on_hand=0, category=shelf)
    stocked = product(on_hand=3, category=shelf)

    assert slugs(api.list_products(category=shelf, in_stock="true")) == [stocked.slug]
    assert len(slugs(api.list_products(category=shelf))) == 2


def test_ordering(
    api: ApiClient, product: Callable[..., Product], category: Callable[..., str]
) -> None:
    shelf = category()
    t = unique()
    b = product(price="20.00", category=shelf, name=f"Bravo {t}")
    a = product(price="30.00", category=shelf, name=f"Alpha {t}")
    c = product(price="10.00", category=shelf, name=f"Charlie {t}")

    assert slugs(api.list_products(category=shelf, ordering="price")) == [c.slug, b.slug, a.slug]
    assert slugs(api.list_products(category=shelf, ordering="-price")) == [a.slug, b.slug, c.slug]
    assert slugs(api.list_products(category=shelf)) == [a.slug, b.slug, c.slug]
    assert slugs(api.list_products(category=shelf, ordering="-name")) == [c.slug, b.slug, a.slug]
    assert slugs(api.list_products(category=shelf, ordering="created")) == [b.slug, a.slug, c.slug]
    assert slugs(api.list_products(category=shelf, ordering="-created")) == [c.slug, a.slug, b.slug]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"ordering": "colour"}, "ordering"),
        ({"min_price": "cheap"}, "min_price"),
        ({"max_price": "1,50"}, "max_price"),
    ],
)
def test_invalid_list_parameters_are_named(
    api: ApiClient, params: dict[str, str], field: str
) -> None:
    response = api.list_products(**params)

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "validation_error"
    assert field_names(body) == [field]


def test_product_detail(
    api: ApiClient, product: Callable[..., Product], category: Callable[..., str]
) -> None:
    shelf = category()
    item = product(price="12.50", currency="EUR", on_hand=7, category=shelf)

    response = api.get_product(item.slug)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == PRODUCT_KEYS
    assert (body["slug"], body["name"], body["description"], body["category"]) == (
        item.slug,
        item.name,
        item.description,
        shelf,
    )
    assert (body["is_active"], body["price_from"], body["currency"]) == (True, "12.50", "EUR")
    assert body["variants"] == [
        {
            "sku": item.sku,
            "product": item.slug,
            "name": "Standard",
            "attributes": {"size": "M"},
            "price": "12.50",
            "currency": "EUR",
            "available": 7,
        }
    ]
    sku = api.get_sku(item.sku)
    assert sku.status_code == 200, sku.text
    assert set(sku.json()) == VARIANT_KEYS
    assert sku.json() == body["variants"][0]


def test_unknown_product_and_sku(api: ApiClient) -> None:
    for response in (api.get_product(unique("nope-")), api.get_sku(unique("NOPE-"))):
        assert response.status_code == 404
        assert problem(response)["code"] == "not_found"


def test_a_deactivated_product_disappears(
    api: ApiClient,
    staff: ApiClient,
    product: Callable[..., Product],
    category: Callable[..., str],
) -> None:
    shelf = category()
    item = product(category=shelf)

    response = staff.update_product(item.slug, is_active=False)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    detail = api.get_product(item.slug)
    assert detail.status_code == 404
    assert problem(detail)["code"] == "not_found"
    assert slugs(api.list_products(category=shelf)) == []


def test_staff_updates_a_product_and_a_sku(
    api: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(price="10.00")

    renamed = staff.update_product(item.slug, name="Renamed", description="New words.")
    repriced = staff.update_sku(item.sku, price="11.50", name="Large", attributes={"size": "L"})

    assert renamed.status_code == 200, renamed.text
    assert repriced.status_code == 200, repriced.text
    assert (repriced.json()["price"], repriced.json()["name"], repriced.json()["attributes"]) == (
        "11.50",
        "Large",
        {"size": "L"},
    )
    detail = api.get_product(item.slug).json()
    assert (detail["name"], detail["description"], detail["price_from"]) == (
        "Renamed",
        "New words.",
        "11.50",
    )


def test_categories(api: ApiClient, staff: ApiClient) -> None:
    slug = unique("c-")

    created = staff.create_category(slug, "Lamps and lights")

    assert created.status_code == 201, created.text
    assert set(created.json()) == {"id", "slug", "name"}
    assert (created.json()["slug"], created.json()["name"]) == (slug, "Lamps and lights")
    listed = api.list_categories()
    assert listed.status_code == 200, listed.text
    assert created.json() in listed.json()
    again = staff.create_category(slug, "Again")
    assert again.status_code == 409
    assert problem(again)["code"] == "slug_taken"


def test_duplicate_product_slug_and_sku(staff: ApiClient, product: Callable[..., Product]) -> None:
    item = product()
    t = unique()

    same_slug = staff.create_product(
        slug=item.slug,
        name="Copy",
        variants=[{"sku": f"SKU-{t.upper()}", "name": "x", "price": "1.00", "currency": "EUR"}],
    )
    same_sku = staff.create_product(
        slug=f"p-{t}",
        name="Copy",
        variants=[{"sku": item.sku, "name": "x", "price": "1.00", "currency": "EUR"}],
    )

    assert same_slug.status_code == 409
    assert problem(same_slug)["code"] == "slug_taken"
    assert same_sku.status_code == 409
    assert problem(same_sku)["code"] == "sku_taken"


@pytest.mark.parametrize("price", ["-1.00", "0.00", "1.234"])
def test_product_validation_names_the_fields(staff: ApiClient, price: str) -> None:
    t = unique()

    response = staff.create_product(
        slug=f"p-{t}",
        name="Invalid",
        variants=[{"sku": f"SKU-{t.upper()}", "name": "x", "price": price, "currency": "euro"}],
    )

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "validation_error"
    assert set(field_names(body)) == {"variants.0.price", "variants.0.currency"}


def test_stock_adjustments_may_not_go_below_the_reserved_units(
    customer: ApiClient, staff: ApiClient, product: Callable[..., Product]
) -> None:
    item = product(on_hand=5)
    pending_order(customer, item.sku, 3)

    refused = staff.adjust_stock(item.sku, -3, reason="broken in the warehouse")

    assert refused.status_code == 409
    assert problem(refused)["code"] == "insufficient_stock"
    assert staff.stock(item.sku).json() == {
        "sku": item.sku,
        "on_hand": 5,
        "reserved": 3,
        "available": 2,
    }
    allowed = staff.adjust_stock(item.sku, -2, reason="broken in the warehouse")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == {"sku": item.sku, "on_hand": 3, "reserved": 3, "available": 0}
    restocked = staff.adjust_stock(item.sku, 10, reason="delivery")
    assert restocked.status_code == 200, restocked.text
    assert restocked.json() == {"sku": item.sku, "on_hand": 13, "reserved": 3, "available": 10}
