from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = [pytest.mark.users, pytest.mark.django_db]

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _clear_throttle_counts() -> None:
    cache.clear()


def _register(client: APIClient, email: str) -> None:
    response = client.post(
        "/api/users/register", {"email": email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content


def test_register_login_me_and_update() -> None:
    client = APIClient()
    _register(client, "g@shop.test")
    tokens = client.post(
        "/api/users/login", {"email": "g@shop.test", "password": PASSWORD}, format="json"
    ).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = client.get("/api/users/me").json()
    assert (me["email"], me["is_staff"]) == ("g@shop.test", False)
    updated = client.patch("/api/users/me", {"name": "Gina"}, format="json").json()
    assert updated["name"] == "Gina"


def test_login_is_throttled_per_email(settings: object) -> None:
    client = APIClient()
    _register(client, "h@shop.test")
    statuses = [
        client.post(
            "/api/users/login", {"email": "h@shop.test", "password": "nope-nope"}, format="json"
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    throttled = client.post(
        "/api/users/login", {"email": "h@shop.test", "password": PASSWORD}, format="json"
    )
    assert throttled.status_code == 429
    assert throttled["Content-Type"] == "application/problem+json"
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    # Another account is not affected by h's attempts.
    _register(client, "i@shop.test")
    other = client.post(
        "/api/users/login", {"email": "i@shop.test", "password": PASSWORD}, format="json"
    )
    assert other.status_code == 200


def test_missing_and_bad_tokens_are_401_problems() -> None:
    client = APIClient()
    missing = client.get("/api/users/me")
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Bearer")
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    bad = client.get("/api/users/me")
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_token"


def test_validation_error_names_the_fields() -> None:
    response = APIClient().post("/api/users/register", {"email": "not-an-email"}, format="json")
    body = response.json()
    assert response.status_code == 400 and body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"email", "password"}


def test_jwks_lists_the_signing_key() -> None:
    body = APIClient().get("/.well-known/jwks.json").json()
    assert body["keys"] and {k["alg"] for k in body["keys"]} == {"RS256"}
    assert all(k["kty"] == "RSA" and k["kid"] for k in body["keys"])
