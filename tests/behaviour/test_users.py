"""Accounts and tokens: registration, login and its throttle, refresh rotation, logout, JWKS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import jwt
import pytest

from .api_client import ApiClient, field_names, new_email, problem
from .conftest import System

pytestmark = [pytest.mark.behaviour, pytest.mark.users]

PROFILE_KEYS = {"id", "email", "name", "phone", "is_staff", "date_joined"}


def password() -> str:
    return f"pw-{uuid.uuid4().hex}"


def test_register_answers_the_profile(api: ApiClient) -> None:
    email = new_email()

    response = api.register(email, password(), name="Grace Hopper")

    assert response.status_code == 201, response.text
    profile = response.json()
    assert set(profile) == PROFILE_KEYS
    assert isinstance(profile["id"], int)
    assert (profile["email"], profile["name"], profile["is_staff"]) == (
        email,
        "Grace Hopper",
        False,
    )
    assert datetime.fromisoformat(profile["date_joined"]).utcoffset() is not None


def test_register_with_a_taken_email(api: ApiClient) -> None:
    email = new_email()
    assert api.register(email, password()).status_code == 201

    response = api.register(email, password())

    assert response.status_code == 409
    assert problem(response)["code"] == "email_taken"


def test_register_with_a_weak_password_names_the_password(api: ApiClient) -> None:
    response = api.register(new_email(), "12345678")

    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "validation_error"
    assert set(field_names(body)) == {"password"}


def test_login_answers_a_token_pair(api: ApiClient) -> None:
    email, secret = new_email(), password()
    assert api.register(email, secret).status_code == 201

    response = api.login(email, secret)

    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 900)


def test_login_with_a_wrong_password(api: ApiClient) -> None:
    email = new_email()
    assert api.register(email, password()).status_code == 201

    response = api.login(email, "not-the-password-1")

    assert response.status_code == 401
    assert problem(response)["code"] == "invalid_credentials"


def test_repeated_failed_logins_for_one_email_are_throttled(api: ApiClient, system: System) -> None:
    email, secret = new_email(), password()
    assert api.register(email, secret).status_code == 201

    statuses: list[int] = []
    throttled = None
    for _ in range(30):  # the self-started monolith allows 5 a minute; other targets: < 30
        response = api.login(email, "not-the-password-1")
        statuses.append(response.status_code)
        if response.status_code != 401:
            throttled = response
            break

    assert throttled is not None, f"no 429 after {len(statuses)} wrong logins"
    assert throttled.status_code == 429, throttled.text
    body = problem(throttled)
    assert body["code"] == "throttled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert isinstance(body["retry_after"], int)
    assert body["retry_after"] >= 1
    assert set(statuses[:-1]) == {401}
    if system.login_attempts_per_minute is not None:
        assert len(statuses) == system.login_attempts_per_minute + 1
    # while throttled, even the right password is refused
    right = api.login(email, secret)
    assert right.status_code == 429
    assert problem(right)["code"] == "throttled"


def test_refresh_rotates_and_reuse_revokes_the_family(
    customer: ApiClient, make_client: Callable[..., ApiClient]
) -> None:
    spent = customer.refresh_token
    assert spent

    rotated = customer.refresh(spent)

    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()
    assert pair["refresh_token"] != spent
    assert pair["access_token"] != customer.token
    assert make_client(pair["access_token"]).me().json()["email"] == customer.email
    # reusing the spent refresh token is refused, and revokes the newest one of its family too
    reused = customer.refresh(spent)
    assert reused.status_code == 401
    assert problem(reused)["code"] == "invalid_token"
    newest = customer.refresh(pair["refresh_token"])
    assert newest.status_code == 401
    assert problem(newest)["code"] == "invalid_token"


def test_logout_revokes_the_access_and_refresh_tokens(customer: ApiClient) -> None:
    assert customer.me().status_code == 200
    assert customer.refresh_token

    response = customer.logout(customer.refresh_token)

    assert response.status_code == 204, response.text
    me = customer.me()
    assert me.status_code == 401
    assert problem(me)["code"] == "invalid_token"
    refreshed = customer.refresh(customer.refresh_token)
    assert refreshed.status_code == 401
    assert problem(refreshed)["code"] == "invalid_token"


def test_me_and_update_me(customer: ApiClient) -> None:
    me = customer.me()
    assert me.status_code == 200, me.text
    assert set(me.json()) == PROFILE_KEYS
    assert (me.json()["id"], me.json()["email"], me.json()["name"]) == (
        customer.id,
        customer.email,
        "Test Customer",
    )

    updated = customer.update_me(name="Renamed Customer", phone="+44 20 7946 0958")

    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["phone"]) == (
        "Renamed Customer",
        "+44 20 7946 0958",
    )
    again = customer.me().json()
    assert (again["name"], again["phone"]) == ("Renamed Customer", "+44 20 7946 0958")


@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/api/users/jwks.json"])
def test_jwks_publishes_the_key_that_signs_access_tokens(
    customer: ApiClient, api: ApiClient, path: str
) -> None:
    response = api.jwks(path)

    assert response.status_code == 200, response.text
    keys = response.json()["keys"]
    assert keys
    assert all((key["kty"], key["alg"]) == ("RSA", "RS256") and key["kid"] for key in keys), keys
    assert customer.token
    header = jwt.get_unverified_header(customer.token)
    assert header["alg"] == "RS256"
    assert header["kid"] in {key["kid"] for key in keys}
    public = jwt.PyJWK.from_dict(next(k for k in keys if k["kid"] == header["kid"]))
    claims = jwt.decode(
        customer.token, public.key, algorithms=["RS256"], options={"verify_aud": False}
    )
    assert (claims["sub"], claims["email"], claims["staff"], claims["typ"]) == (
        str(customer.id),
        customer.email,
        False,
        "access",
    )
    assert claims["exp"] - claims["iat"] == 900
    assert all(claims[name] for name in ("jti", "iss", "aud")), claims
