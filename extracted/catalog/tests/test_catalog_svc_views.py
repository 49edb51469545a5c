from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog_service.catalog import selectors, services
from catalog_service.catalog.models import Product

MakeProduct = Callable[..., Any]

pytestmark = [pytest.mark.catalog, pytest.mark.django_db, pytest.mark.usefixtures("writer")]

API = "/api/catalog"
PROBLEM = "application/problem+json"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return sorted(error["field"] for error in body["errors"])


@pytest.fixture
def shelf(make_product: MakeProduct) -> None:
    """Four products; ``ghost`` is inactive."""
    make_product(
        "red-shirt",
        ("SHIRT-R-S", "20.00", 3),
        ("SHIRT-R-M", "25.00", 0),
        name="Red Shirt",
        description="Soft cotton tee",
        category="apparel",
    )
    make_product(
        "blue-mug",
        ("MUG-B", "8.50", 0),
        name="Blue Mug",
        description="Ceramic, holds coffee",
        category="home",
    )
    make_product(
        "wool-hat",
        ("HAT-1", "15.00", 7),
        name="Wool Hat",
        description="Warm winter hat",
        category="apparel",
    )
    make_product("ghost", ("GHOST-1", "1.00", 9), name="Ghost", description="cotton")
    services.product_update(slug="ghost", is_active=False)
    # Creation order: red-shirt oldest ... wool-hat newest.
    base = Product.objects.get(slug="red-shirt").created_at
    for offset, slug in enumerate(["red-shirt", "blue-mug", "wool-hat"]):
        Product.objects.filter(slug=slug).update(created_at=base + timedelta(minutes=offset))


def slugs(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [product["slug"] for product in response.json()["results"]]


# --- categories -------------------------------------------------------------------------------


def test_categories_list_and_create(anonymous: APIClient, staff: APIClient) -> None:
    created = staff.post(f"{API}/categories", {"slug": "home", "name": "Home"}, format="json")
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "slug": "home", "name": "Home"}
    staff.post(f"{API}/categories", {"slug": "apparel", "name": "Apparel"}, format="json")

    listed = anonymous.get(f"{API}/categories")

    assert listed.status_code == 200
    assert [c["slug"] for c in listed.json()] == ["apparel", "home"]
    again = staff.post(f"{API}/categories", {"slug": "home", "name": "Other"}, format="json")
    body = problem(again, 409, "slug_taken")
    assert fields(body) == ["slug"]


# --- product list -----------------------------------------------------------------------------


@pytest.mark.usefixtures("shelf")
def test_list_shape_hides_inactive_and_orders_by_name(anonymous: APIClient) -> None:
    response = anonymous.get(f"{API}/products")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert (body["next"], body["previous"]) == (None, None)
    assert [p["slug"] for p in body["results"]] == ["blue-mug", "red-shirt", "wool-hat"]
    shirt = body["results"][1]
    assert set(shirt) == {
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
    assert (shirt["category"], shirt["price_from"], shirt["currency"], shirt["is_active"]) == (
        "apparel",
        "20.00",
        "USD",
        True,
    )
    assert shirt["variants"] == [
        {
            "sku": "SHIRT-R-M",
            "product": "red-shirt",
            "name": "Variant SHIRT-R-M",
            "attributes": {"sku": "SHIRT-R-M"},
            "price": "25.00",
            "currency": "USD",
            "available": 0,
        },
        {
            "sku": "SHIRT-R-S",
            "product": "red-shirt",
            "name": "Variant SHIRT-R-S",
            "attributes": {"sku": "SHIRT-R-S"},
            "price": "20.00",
            "currency": "USD",
            "available": 3,
        },
    ]


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=cotton", ["red-shirt"]),
        ("q=WARM+hat", ["wool-hat"]),
        ("q=mug+coffee", ["blue-mug"]),
        ("q=cotton+coffee", []),
        ("category=apparel", ["red-shirt", "wool-hat"]),
        ("category=nowhere", []),
        ("min_price=15", ["red-shirt", "wool-hat"]),
        ("max_price=15.00", ["blue-mug", "wool-hat"]),
        ("min_price=21&max_price=30", ["red-shirt"]),
        ("min_price=16&max_price=19", []),
        ("in_stock=true", ["red-shirt", "wool-hat"]),
        ("in_stock=true&category=apparel&q=hat", ["wool-hat"]),
        ("ordering=-name", ["wool-hat", "red-shirt", "blue-mug"]),
        ("ordering=price", ["blue-mug", "wool-hat", "red-shirt"]),
        ("ordering=-price", ["red-shirt", "wool-hat", "blue-mug"]),
        ("ordering=created", ["red-shirt", "blue-mug", "wool-hat"]),
        ("ordering=-created", ["wool-hat", "blue-mug", "red-shirt"]),
    ],
)
def test_list_filters_and_ordering(anonymous: APIClient, query: str, expected: list[str]) -> None:
    assert slugs(anonymous.get(f"{API}/products?{query}")) == expected


@pytest.mark.usefixtures("shelf")
def test_in_stock_counts_reserved_units(anonymous: APIClient) -> None:
    services.stock_reserve(lines=[("SHIRT-R-S", 3)], owner_ref="o", ttl_seconds=60)
    assert slugs(anonymous.get(f"{API}/products?in_stock=true")) == ["wool-hat"]


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("ordering=popularity", "ordering"),
        ("min_price=cheap", "min_price"),
        ("max_price=1.234", "max_price"),
        ("min_price=-1", "min_price"),
    ],
)
def test_list_rejects_bad_parameters(anonymous: APIClient, query: str, field: str) -> None:
    body = problem(anonymous.get(f"{API}/products?{query}"), 400, "validation_error")
    assert fields(body) == [field]


@pytest.mark.usefixtures("shelf")
def test_list_pages(anonymous: APIClient) -> None:
    first = anonymous.get(f"{API}/products?page_size=2")
    body = first.json()
    assert body["count"] == 3
    assert [p["slug"] for p in body["results"]] == ["blue-mug", "red-shirt"]
    assert body["previous"] is None
    assert body["next"].endswith("/api/catalog/products?page=2&page_size=2")

    second = anonymous.get(f"{API}/products?page=2&page_size=2").json()
    assert [p["slug"] for p in second["results"]] == ["wool-hat"]
    assert second["next"] is None

    problem(anonymous.get(f"{API}/products?page=9"), 404, "not_found")


def test_list_page_costs_the_same_queries_for_any_number_of_products(
    anonymous: APIClient, make_product: MakeProduct
) -> None:
    for n in range(12):
        make_product(f"p-{n:02d}", (f"P{n}-A", "5.00", n), (f"P{n}-B", "6.00", 1))

    with CaptureQueriesContext(connection) as queries:
        response = anonymous.get(f"{API}/products?page_size=10")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 10
    # COUNT, the page (category joined, price_from annotated), variants + inventory.
    assert len(queries.captured_queries) == 3, [q["sql"] for q in queries.captured_queries]


# --- product detail / create / update ---------------------------------------------------------


@pytest.mark.usefixtures("shelf")
def test_detail_and_404_for_unknown_or_inactive(anonymous: APIClient) -> None:
    response = anonymous.get(f"{API}/products/wool-hat")
    assert response.status_code == 200
    assert response.json()["variants"][0]["sku"] == "HAT-1"
    assert response.json()["price_from"] == "15.00"

    problem(anonymous.get(f"{API}/products/ghost"), 404, "not_found")
    problem(anonymous.get(f"{API}/products/nothing-here"), 404, "not_found")


NEW_PRODUCT = {
    "slug": "green-tee",
    "name": "Green Tee",
    "description": "Organic",
    "category": "apparel",
    "variants": [
        {"sku": "GT-S", "name": "Small", "price": "19.90", "currency": "EUR", "on_hand": 4},
        {
            "sku": "GT-M",
            "name": "Medium",
            "price": "21.5",
            "currency": "EUR",
            "attributes": {"size": "M"},
        },
    ],
}


def test_staff_creates_a_product(staff: APIClient, anonymous: APIClient) -> None:
    services.category_create(slug="apparel", name="Apparel")

    response = staff.post(f"{API}/products", NEW_PRODUCT, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["category"], body["price_from"], body["currency"]) == (
        "green-tee",
        "apparel",
        "19.90",
        "EUR",
    )
    assert [(v["sku"], v["price"], v["available"], v["attributes"]) for v in body["variants"]] == [
        ("GT-M", "21.50", 0, {"size": "M"}),
        ("GT-S", "19.90", 4, {}),
    ]
    assert anonymous.get(f"{API}/products/green-tee").json() == body


def test_create_conflicts(staff: APIClient, make_product: MakeProduct) -> None:
    services.category_create(slug="apparel", name="Apparel")
    make_product("green-tee", ("OTHER-1", "1.00", 0))
    make_product("other", ("GT-M", "1.00", 0))

    problem(staff.post(f"{API}/products", NEW_PRODUCT, format="json"), 409, "slug_taken")
    renamed = {**NEW_PRODUCT, "slug": "green-tee-2"}
    body = problem(staff.post(f"{API}/products", renamed, format="json"), 409, "sku_taken")
    assert body["sku"] == "GT-M"
    assert fields(body) == ["variants.1.sku"]


def test_create_with_unknown_category_names_the_field(staff: APIClient) -> None:
    body = problem(
        staff.post(f"{API}/products", NEW_PRODUCT, format="json"), 400, "validation_error"
    )
    assert fields(body) == ["category"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"variants": []}, ["variants"]),
        ({"slug": "Not A Slug"}, ["slug"]),
        ({"name": ""}, ["name"]),
        (
            {
                "variants": [
                    {"sku": "A", "name": "a", "price": "0", "currency": "eur", "on_hand": -1}
                ]
            },
            ["variants.0.currency", "variants.0.on_hand", "variants.0.price"],
        ),
        (
            {"variants": [{"sku": "A", "name": "a", "price": "1.999", "currency": "EUR"}]},
            ["variants.0.price"],
        ),
        (
            {
                "variants": [
                    {"sku": "A", "name": "a", "price": "1.00", "currency": "EUR"},
                    {"sku": "A", "name": "b", "price": "1.00", "currency": "EUR"},
                ]
            },
            ["variants"],
        ),
        (
            {
                "variants": [
                    {"sku": "A", "name": "a", "price": "1.00", "currency": "EUR"},
                    {"sku": "B", "name": "b", "price": "1.00", "currency": "USD"},
                ]
            },
            ["variants"],
        ),
    ],
)
def test_create_validation_names_the_fields(
    staff: APIClient, change: dict[str, Any], expected: list[str]
) -> None:
    payload = {**NEW_PRODUCT, "category": None, **change}
    body = problem(staff.post(f"{API}/products", payload, format="json"), 400, "validation_error")
    assert sorted(set(fields(body))) == expected
    assert not Product.objects.exists()


@pytest.mark.usefixtures("shelf")
def test_staff_updates_a_product(staff: APIClient, anonymous: APIClient) -> None:
    response = staff.patch(
        f"{API}/products/wool-hat",
        {"name": "Alpaca Hat", "category": None, "description": "Warmer"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["category"], body["description"]) == ("Alpaca Hat", None, "Warmer")

    hidden = staff.patch(f"{API}/products/wool-hat", {"is_active": False}, format="json")
    assert hidden.status_code == 200
    assert hidden.json()["is_active"] is False
    problem(anonymous.get(f"{API}/products/wool-hat"), 404, "not_found")

    shown = staff.patch(f"{API}/products/ghost", {"is_active": True}, format="json")
    assert shown.status_code == 200
    assert anonymous.get(f"{API}/products/ghost").status_code == 200

    bad = staff.patch(f"{API}/products/ghost", {"category": "nowhere"}, format="json")
    assert fields(problem(bad, 400, "validation_error")) == ["category"]
    problem(staff.patch(f"{API}/products/nope", {"name": "x"}, format="json"), 404, "not_found")


# --- SKUs and stock ---------------------------------------------------------------------------


@pytest.mark.usefixtures("shelf")
def test_sku_detail_and_update(anonymous: APIClient, staff: APIClient) -> None:
    response = anonymous.get(f"{API}/skus/HAT-1")
    assert response.status_code == 200
    assert response.json() == {
        "sku": "HAT-1",
        "product": "wool-hat",
        "name": "Variant HAT-1",
        "attributes": {"sku": "HAT-1"},
        "price": "15.00",
        "currency": "USD",
        "available": 7,
    }
    problem(anonymous.get(f"{API}/skus/NOPE"), 404, "not_found")
    problem(anonymous.get(f"{API}/skus/GHOST-1"), 404, "not_found")

    updated = staff.patch(
        f"{API}/skus/HAT-1", {"price": "17.5", "attributes": {"size": "L"}}, format="json"
    )
    assert updated.status_code == 200
    assert (updated.json()["price"], updated.json()["attributes"]) == ("17.50", {"size": "L"})
    view = selectors.variant_get(sku="HAT-1")
    assert view is not None
    assert str(view.price) == "17.50"

    for bad, field in (({"price": "0"}, "price"), ({"price": "1.001"}, "price")):
        body = problem(
            staff.patch(f"{API}/skus/HAT-1", bad, format="json"), 400, "validation_error"
        )
        assert fields(body) == [field]
    problem(staff.patch(f"{API}/skus/NOPE", {"name": "x"}, format="json"), 404, "not_found")


@pytest.mark.usefixtures("shelf")
def test_stock_and_adjustments(staff: APIClient) -> None:
    services.stock_reserve(lines=[("HAT-1", 5)], owner_ref="o", ttl_seconds=60)

    assert staff.get(f"{API}/skus/HAT-1/stock").json() == {
        "sku": "HAT-1",
        "on_hand": 7,
        "reserved": 5,
        "available": 2,
    }
    added = staff.post(
        f"{API}/skus/HAT-1/stock-adjustments", {"delta": 3, "reason": "delivery"}, format="json"
    )
    assert added.status_code == 200
    assert added.json() == {"sku": "HAT-1", "on_hand": 10, "reserved": 5, "available": 5}

    refused = staff.post(
        f"{API}/skus/HAT-1/stock-adjustments", {"delta": -6, "reason": "theft"}, format="json"
    )
    body = problem(refused, 409, "insufficient_stock")
    assert (body["sku"], body["available"]) == ("HAT-1", 5)
    assert staff.get(f"{API}/skus/HAT-1/stock").json()["on_hand"] == 10

    problem(staff.get(f"{API}/skus/NOPE/stock"), 404, "not_found")
    problem(
        staff.post(
            f"{API}/skus/NOPE/stock-adjustments", {"delta": 1, "reason": "x"}, format="json"
        ),
        404,
        "not_found",
    )


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"delta": 0, "reason": "x"}, ["delta"]),
        ({"delta": 1.5, "reason": "x"}, ["delta"]),
        ({"delta": 1, "reason": ""}, ["reason"]),
        ({"delta": 1, "reason": "x" * 201}, ["reason"]),
        ({}, ["delta", "reason"]),
    ],
)
def test_adjustment_validation(
    staff: APIClient, payload: dict[str, Any], expected: list[str]
) -> None:
    response = staff.post(f"{API}/skus/HAT-1/stock-adjustments", payload, format="json")
    assert fields(problem(response, 400, "validation_error")) == expected


# --- who may call what ------------------------------------------------------------------------

STAFF_CALLS = [
    ("post", "/categories", {"slug": "x", "name": "X"}),
    ("post", "/products", NEW_PRODUCT),
    ("patch", "/products/wool-hat", {"name": "x"}),
    ("patch", "/skus/HAT-1", {"name": "x"}),
    ("get", "/skus/HAT-1/stock", None),
    ("post", "/skus/HAT-1/stock-adjustments", {"delta": 1, "reason": "x"}),
]


@pytest.mark.usefixtures("shelf")
@pytest.mark.parametrize(("method", "path", "payload"), STAFF_CALLS)
def test_staff_only(
    anonymous: APIClient,
    customer: APIClient,
    method: str,
    path: str,
    payload: dict[str, Any] | None,
) -> None:
    def call(client: APIClient) -> Any:
        return getattr(client, method)(f"{API}{path}", payload, format="json")

    problem(call(anonymous), 401, "not_authenticated")
    problem(call(customer), 403, "permission_denied")
    assert Product.objects.get(slug="wool-hat").name == "Wool Hat"
    assert selectors.stock_get(sku="HAT-1") == selectors.StockView(
        sku="HAT-1", on_hand=7, reserved=0, available=7
    )


@pytest.mark.usefixtures("shelf")
def test_reads_are_public(anonymous: APIClient, customer: APIClient) -> None:
    for client in (anonymous, customer):
        for path in ("/categories", "/products", "/products/wool-hat", "/skus/HAT-1"):
            assert client.get(f"{API}{path}").status_code == 200, path


def test_method_not_allowed_and_unknown_route(anonymous: APIClient, staff: APIClient) -> None:
    problem(staff.delete(f"{API}/categories"), 405, "method_not_allowed")
    problem(staff.put(f"{API}/skus/HAT-1/stock", {}, format="json"), 405, "method_not_allowed")
    problem(anonymous.get(f"{API}/products/"), 404, "not_found")
