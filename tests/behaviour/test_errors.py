"""Transport-level answers: unknown routes and methods, bodies, health and the schema."""

from __future__ import annotations

import json

import pytest

from .api_client import ApiClient, field_names, problem

pytestmark = [pytest.mark.behaviour, pytest.mark.users]


@pytest.mark.parametrize("path", ["/api/nowhere", "/nowhere", "/api/catalog/nowhere/at/all"])
def test_unknown_route(api: ApiClient, path: str) -> None:
    response = api.request("GET", path)

    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


def test_wrong_method(api: ApiClient, customer: ApiClient) -> None:
    for response in (
        api.request("GET", "/api/users/login"),
        api.request("DELETE", "/api/users/register"),
        customer.request("DELETE", "/api/orders"),
        customer.request("PUT", "/api/users/me", json={"name": "x"}),
    ):
        assert response.status_code == 405, f"{response.request.method} {response.request.url}"
        assert problem(response)["code"] == "method_not_allowed"


def test_malformed_json(api: ApiClient, customer: ApiClient) -> None:
    headers = {"Content-Type": "application/json"}
    for response in (
        api.request("POST", "/api/users/register", content=b'{"email": ', headers=headers),
        customer.request("POST", "/api/cart/items", content=b"{sku: 1}", headers=headers),
    ):
        assert response.status_code == 400, response.text
        assert problem(response)["code"] == "malformed_body"


def test_body_too_large(api: ApiClient) -> None:
    body = json.dumps({"email": "a@example.com", "password": "x" * (300 * 1024)})

    response = api.request(
        "POST",
        "/api/users/register",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 413
    problem_body = problem(response)
    assert problem_body["code"] == "body_too_large"
    assert problem_body["limit"] == 256 * 1024


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", b"email=a@example.com"),
        ("application/x-www-form-urlencoded", b"email=a%40example.com&password=secret-pass-1"),
    ],
)
def test_body_that_is_not_json(api: ApiClient, content_type: str, content: bytes) -> None:
    response = api.request(
        "POST", "/api/users/register", content=content, headers={"Content-Type": content_type}
    )

    assert response.status_code == 415
    assert problem(response)["code"] == "unsupported_media_type"


def test_validation_errors_name_the_fields(api: ApiClient, customer: ApiClient) -> None:
    missing = api.request("POST", "/api/users/register", json={"password": "pw-long-enough-1"})
    assert missing.status_code == 400
    body = problem(missing)
    assert body["code"] == "validation_error"
    assert field_names(body) == ["email"]

    bad_email = api.register("not-an-email", "pw-long-enough-1")
    assert bad_email.status_code == 400
    assert field_names(problem(bad_email)) == ["email"]

    no_quantity = customer.request("POST", "/api/cart/items", json={"sku": "X"})
    assert no_quantity.status_code == 400
    assert field_names(problem(no_quantity)) == ["quantity"]

    bad_hold = customer.request("POST", "/api/orders/checkout", json={"hold_seconds": 901})
    assert bad_hold.status_code == 400
    assert field_names(problem(bad_hold)) == ["hold_seconds"]


def test_health(api: ApiClient) -> None:
    live = api.request("GET", "/health/live")
    ready = api.request("GET", "/health/ready")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_schema(api: ApiClient) -> None:
    yaml = api.request("GET", "/api/schema/")
    as_json = api.request("GET", "/api/schema/", params={"format": "json"})

    assert yaml.status_code == 200
    assert yaml.text.startswith("openapi: 3")
    assert as_json.status_code == 200, as_json.text
    paths = as_json.json()["paths"]
    for path in (
        "/api/users/login",
        "/api/catalog/products",
        "/api/cart",
        "/api/orders/checkout",
        "/api/payments",
        "/api/notifications",
    ):
        assert path in paths, sorted(paths)
