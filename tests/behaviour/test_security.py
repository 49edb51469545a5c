"""Tokens the API must refuse, data a customer must not see, and staff-only endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .api_client import ApiClient, problem, unique, wait_until
from .conftest import Product
from .steps import paid_order, pending_order, results

pytestmark = [
    pytest.mark.behaviour,
    pytest.mark.users,
    pytest.mark.catalog,
    pytest.mark.orders,
    pytest.mark.payments,
    pytest.mark.notifications,
]

# One endpoint per context: in a decomposed system each service checks tokens on its own.
PROTECTED = ["/api/users/me", "/api/cart", "/api/orders", "/api/payments", "/api/notifications"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@cache
def stranger_key() -> rsa.RSAPrivateKey:
    """An RSA key the server has never seen."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def real_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def tampered(token: str, _: ApiClient) -> str:
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    flipped = "B" if payload[middle] == "A" else "A"
    return f"{header}.{payload[:middle]}{flipped}{payload[middle + 1 :]}.{signature}"


def signed_by_a_stranger(token: str, _: ApiClient) -> str:
    header, claims = real_parts(token)
    return jwt.encode(claims, stranger_key(), algorithm="RS256", headers={"kid": header["kid"]})


def expired(token: str, _: ApiClient) -> str:
    # Black-box tests cannot sign with the server's key, so this token is both expired and
    # signed by an unknown key; expiry alone (real key, past exp) is covered by the users
    # context's unit tests (contracts.tokens verification).
    header, claims = real_parts(token)
    now = int(time.time())
    claims.update(iat=now - 3600, exp=now - 1800)
    return jwt.encode(claims, stranger_key(), algorithm="RS256", headers={"kid": header["kid"]})


def alg_none(token: str, _: ApiClient) -> str:
    header, claims = real_parts(token)
    return f"{b64json({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{b64json(claims)}."


def hs256_with_the_public_key(token: str, api: ApiClient) -> str:
    """The classic confusion attack: HMAC keyed with the RSA public key the server publishes."""
    header, claims = real_parts(token)
    jwk = next(k for k in api.jwks().json()["keys"] if k["kid"] == header["kid"])
    public_key = jwt.PyJWK.from_dict(jwk).key
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{b64json(claims)}"
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def garbage(token: str, _: ApiClient) -> str:
    return "not-a-jwt"


FORGERIES: dict[str, Callable[[str, ApiClient], str]] = {
    "tampered_payload": tampered,
    "signed_by_unknown_key": signed_by_a_stranger,
    "expired": expired,
    "alg_none": alg_none,
    "hs256_with_public_key": hs256_with_the_public_key,
    "garbage": garbage,
}


def assert_unauthorized(response: httpx.Response, codes: set[str]) -> None:
    assert response.status_code == 401, f"{response.request.url}: {response.text}"
    assert problem(response)["code"] in codes, response.text
    assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_tokens_are_refused_everywhere(
    customer: ApiClient, api: ApiClient, forgery: str
) -> None:
    assert customer.token
    forged = FORGERIES[forgery](customer.token, api)

    for path in PROTECTED:
        response = api.request("GET", path, headers={"Authorization": f"Bearer {forged}"})

        assert_unauthorized(response, {"invalid_token"})


def test_wrong_authorization_scheme_is_refused(customer: ApiClient, api: ApiClient) -> None:
    for path in PROTECTED:
        response = api.request("GET", path, headers={"Authorization": f"Token {customer.token}"})

        assert_unauthorized(response, {"invalid_token", "not_authenticated"})


def test_no_token_is_not_authenticated(api: ApiClient) -> None:
    for path in PROTECTED:
        response = api.request("GET", path)

        assert_unauthorized(response, {"not_authenticated"})
    checkout = api.checkout(card="4242424242424242")
    assert_unauthorized(checkout, {"not_authenticated"})


def test_a_customer_cannot_see_or_touch_another_customers_orders(
    new_customer: Callable[..., ApiClient],
    product: Callable[..., Product],
    record_property: Callable[[str, object], None],
) -> None:
    # given A has a paid order (with its payment and notifications) and a pending one
    a, b = new_customer(), new_customer()
    paid = paid_order(a, product().sku)
    pending = pending_order(a, product().sku)
    wait_until(
        lambda: {n["reference"] for n in results(a.notifications())},
        lambda references: paid["id"] in references,
        record=record_property,
    )

    # then B sees none of it
    for response in (b.order(paid["id"]), b.payment(paid["payment_id"])):
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "not_found"
    assert results(b.payments(order_id=paid["id"])) == []
    assert results(b.orders()) == []
    assert {n["reference"] for n in results(b.notifications())} & {
        paid["id"],
        pending["id"],
    } == set()

    # and B can neither cancel nor pay A's orders
    for response in (b.cancel(paid["id"]), b.pay(pending["id"], "4242424242424242")):
        assert response.status_code == 404, response.text
        assert problem(response)["code"] == "not_found"
    assert a.order(paid["id"]).json()["status"] == "paid"
    assert a.order(pending["id"]).json()["status"] == "pending_payment"


StaffCall = tuple[str, Callable[[ApiClient], httpx.Response]]


def staff_calls(item: Product, order_id: str) -> list[StaffCall]:
    token = unique()
    return [
        (
            "create product",
            lambda c: c.create_product(
                slug=f"p-{token}",
                name="Nope",
                variants=[
                    {"sku": f"SKU-{token.upper()}", "name": "x", "price": "1.00", "currency": "EUR"}
                ],
            ),
        ),
        ("create category", lambda c: c.create_category(f"c-{token}", "Nope")),
        ("update product", lambda c: c.update_product(item.slug, name="Renamed")),
        ("update sku", lambda c: c.update_sku(item.sku, price="1.00")),
        ("read stock", lambda c: c.stock(item.sku)),
        ("adjust stock", lambda c: c.adjust_stock(item.sku, 100)),
        ("fulfil", lambda c: c.fulfil(order_id)),
    ]


def answers(client: ApiClient, calls: list[StaffCall]) -> list[tuple[str, int, str]]:
    out = []
    for name, call in calls:
        response = call(client)
        out.append((name, response.status_code, problem(response)["code"]))
        if response.status_code == 401:
            assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")
    return out


def assert_nothing_changed(
    api: ApiClient, staff: ApiClient, item: Product, order_id: str, owner: ApiClient
) -> None:
    assert api.get_product(item.slug).json()["name"] == item.name
    assert api.get_sku(item.sku).json()["price"] == item.price
    assert staff.stock(item.sku).json()["on_hand"] == item.on_hand - 1
    assert owner.order(order_id).json()["status"] == "paid"


def test_customers_get_403_on_staff_endpoints(
    customer: ApiClient,
    api: ApiClient,
    staff: ApiClient,
    product: Callable[..., Product],
) -> None:
    item = product(price="10.00", on_hand=5)
    order = paid_order(customer, item.sku)
    calls = staff_calls(item, order["id"])

    got = answers(customer, calls)

    assert got == [(name, 403, "permission_denied") for name, _ in calls]
    assert_nothing_changed(api, staff, item, order["id"], customer)


def test_anonymous_callers_get_401_on_staff_endpoints(
    customer: ApiClient,
    api: ApiClient,
    staff: ApiClient,
    product: Callable[..., Product],
) -> None:
    item = product(price="10.00", on_hand=5)
    order = paid_order(customer, item.sku)
    calls = staff_calls(item, order["id"])

    got = answers(api, calls)

    assert got == [(name, 401, "not_authenticated") for name, _ in calls]
    assert_nothing_changed(api, staff, item, order["id"], customer)
