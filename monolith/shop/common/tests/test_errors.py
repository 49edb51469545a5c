from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db]


def test_unknown_route_is_a_json_404() -> None:
    response = Client().get("/no/such/route")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (
        body["code"] == "not_found"
        and body["status"] == 404
        and body["instance"] == "/no/such/route"
    )


def test_malformed_json_is_a_400() -> None:
    response = Client().post("/api/users/login", data=b"{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_body"


def test_oversized_body_is_a_413_before_parsing() -> None:
    response = Client().post(
        "/api/users/login", data=b"x" * (300 * 1024), content_type="application/json"
    )
    assert response.status_code == 413 and response.json()["code"] == "body_too_large"


def test_wrong_method_is_a_405_problem() -> None:
    response = Client().delete("/api/users/login")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_non_json_body_is_a_415() -> None:
    response = Client().post("/api/users/login", data="a=b", content_type="text/plain")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


def test_health() -> None:
    client = Client()
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json()["checks"] == {"database": "ok"}


def test_request_id_is_kept_or_made() -> None:
    client = Client()
    assert client.get("/health/live", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert len(client.get("/health/live", HTTP_X_REQUEST_ID="bad id!")["X-Request-Id"]) == 32
