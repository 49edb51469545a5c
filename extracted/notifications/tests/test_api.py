"""GET /api/notifications with tokens verified through a JWKS served over HTTP (real RS256
keys), and the monolith's problem+json for every error."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from notifications_service.notifications.models import Notification, NotificationStatus
from servicekit.auth import reset_verifier
from servicekit.errors import problem_exception_handler

from .conftest import Jwks

pytestmark = [pytest.mark.notifications, pytest.mark.django_db]
PROBLEM = "application/problem+json"


def note(user_id: int, reference: str, kind: str = "order_placed") -> Notification:
    return Notification.objects.create(
        id=uuid.uuid4(),
        user_id=user_id,
        kind=kind,
        recipient=f"user{user_id}@shop.test",
        subject=f"about {reference}",
        body="b",
        reference=reference,
        status=NotificationStatus.DELIVERED,
    )


def test_a_user_sees_only_their_own_notifications(as_user: Callable[[int], APIClient]) -> None:
    note(1, "o-1")
    note(1, "o-1", kind="order_paid")
    note(2, "o-2")

    response = as_user(1).get("/api/notifications")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    assert {n["reference"] for n in body["results"]} == {"o-1"}
    assert set(body["results"][0]) == {
        "id",
        "kind",
        "channel",
        "subject",
        "body",
        "reference",
        "status",
        "created_at",
        "delivered_at",
    }
    assert response["X-Request-Id"]


def test_pages_like_the_monolith(as_user: Callable[[int], APIClient]) -> None:
    for i in range(3):
        note(5, f"o-{i}")
    body = as_user(5).get("/api/notifications", {"page_size": 2}).json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    data: dict[str, Any] = response.json()
    assert data["code"] == code
    assert data["status"] == status
    assert data["type"] == "https://strangler-kit.dev/problems/" + code.replace("_", "-")
    return data


def test_no_token_is_401(api: APIClient, jwks: Jwks) -> None:
    response = api.get("/api/notifications")
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda j: "not-a-jwt", id="malformed"),
        pytest.param(lambda j: j.token(1, ttl=-60), id="expired"),
        pytest.param(lambda j: j.token(1, typ="refresh"), id="refresh-token"),
        pytest.param(lambda j: j.token(1, iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda j: j.token(1, aud="other"), id="wrong-audience"),
        pytest.param(lambda j: j.token(1, kid=j.add_key(publish=False)), id="unknown-key"),
    ],
)
def test_bad_tokens_are_401(api: APIClient, jwks: Jwks, make: Callable[[Jwks], str]) -> None:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {make(jwks)}")
    problem(api.get("/api/notifications"), 401, "invalid_token")


def test_a_new_signing_key_is_fetched_once_then_cached(api: APIClient, jwks: Jwks) -> None:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwks.token(1)}")
    assert api.get("/api/notifications").status_code == 200
    assert api.get("/api/notifications").status_code == 200
    assert jwks.hits == 1  # cached

    rotated = jwks.add_key()  # users rotates its key: a kid this service has not seen
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwks.token(1, kid=rotated)}")
    response = api.get("/api/notifications")
    assert response.status_code == 200, response.content
    assert jwks.hits == 2

    # a forged kid right after: refetch is rate-limited, the answer is 401, users is not hit
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwks.token(1, kid=jwks.add_key(publish=False))}")
    problem(api.get("/api/notifications"), 401, "invalid_token")
    assert jwks.hits == 2


def test_unreachable_jwks_is_503_not_401(api: APIClient, jwks: Jwks) -> None:
    token = jwks.token(1)
    reset_verifier()
    with override_settings(JWKS_URL="http://127.0.0.1:9/nothing-listens-here"):
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = api.get("/api/notifications")
    problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "1"
    reset_verifier()


def test_unknown_route_is_404(api: APIClient) -> None:
    data = problem(api.get("/api/nowhere"), 404, "not_found")
    assert data["instance"] == "/api/nowhere"


def test_wrong_method_is_405(as_user: Callable[[int], APIClient]) -> None:
    problem(as_user(1).post("/api/notifications", {}, format="json"), 405, "method_not_allowed")


def test_validation_error_is_400_with_field_paths() -> None:
    from rest_framework.exceptions import ValidationError

    response = problem_exception_handler(
        ValidationError({"items": [{"quantity": ["Too many."]}]}), {}
    )
    assert response is not None
    assert response.status_code == 400
    assert response.data["code"] == "validation_error"
    assert response.data["errors"] == [
        {"field": "items.0.quantity", "code": "invalid", "message": "Too many."}
    ]


def test_malformed_content_length_is_400(api: APIClient) -> None:
    response = api.generic("GET", "/api/notifications", CONTENT_LENGTH="lots")
    problem(response, 400, "malformed_body")


def test_health_metrics_and_schema(api: APIClient, as_user: Callable[[int], APIClient]) -> None:
    assert api.get("/health/live").json() == {"status": "ok"}
    ready = api.get("/health/ready")
    assert ready.status_code == 200, ready.content
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}

    as_user(1).get("/api/notifications")
    metrics = api.get("/metrics").content.decode()
    assert 'http_requests_total{method="GET",route="/api/notifications",status="200"}' in metrics
    assert "http_request_duration_seconds_bucket" in metrics

    schema = api.get("/api/schema", {"format": "json"})
    assert schema.status_code == 200
    document = schema.json()
    assert document["paths"]["/api/notifications"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
