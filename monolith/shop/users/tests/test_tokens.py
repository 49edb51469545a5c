from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from contracts.tokens import InvalidToken, TokenVerifier, keys_from_jwks
from shop.users import keys, tokens

pytestmark = [pytest.mark.users]


def _payload(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    payload: dict[str, object] = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": "7",
        "jti": "abc",
        "typ": "access",
        "iat": now,
        "exp": now + 60,
        "email": "a@shop.test",
        "staff": False,
    }
    payload.update(overrides)
    return payload


def _sign(payload: dict[str, object], key: object | None = None, kid: str | None = None) -> str:
    signing = keys.signing_key()
    return jwt.encode(
        payload,
        key or signing.private_key,
        algorithm="RS256",
        headers={"kid": kid or signing.kid},
    )


def test_issued_pair_verifies_and_carries_the_claims() -> None:
    pair = tokens.issue_pair(user_id=7, email="a@shop.test", staff=True)
    claims = tokens.verify(pair.access_token)
    assert (claims.user_id, claims.email, claims.staff, claims.typ) == (
        7,
        "a@shop.test",
        True,
        "access",
    )
    assert jwt.get_unverified_header(pair.access_token)["kid"] == keys.signing_key().kid
    refresh = tokens.verify(pair.refresh_token, expected="refresh")
    assert refresh.family and refresh.user_id == 7


def test_expired_token_signed_with_the_real_key_is_refused() -> None:
    token = _sign(_payload(iat=int(time.time()) - 120, exp=int(time.time()) - 60))
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_wrong_key_is_refused_even_with_a_known_kid() -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken):
        tokens.verify(_sign(_payload(), key=stranger))


def test_alg_none_and_hs256_with_public_key_are_refused() -> None:
    unsigned = jwt.encode(_payload(), None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken, match="not accepted"):
        tokens.verify(unsigned)
    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}
    with pytest.raises(InvalidToken, match="not accepted"):
        tokens.verify(header + ".e30.c2ln")


def test_tampered_payload_is_refused() -> None:
    token = tokens.issue_pair(user_id=7, email="a@shop.test", staff=False).access_token
    head, body, sig = token.split(".")
    forged = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(body).replace(b'"staff":false', b'"staff":true ')
    ).decode()
    assert forged != body
    with pytest.raises(InvalidToken):
        tokens.verify(f"{head}.{forged}.{sig}")


def test_refresh_token_is_not_an_access_token() -> None:
    pair = tokens.issue_pair(user_id=7, email="a@shop.test", staff=False)
    with pytest.raises(InvalidToken, match="expected a access"):
        tokens.verify(pair.refresh_token)


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() -> None:
    before = tokens.issue_pair(user_id=7, email="a@shop.test", staff=False).access_token
    old_kid = keys.signing_key().kid
    new = keys.generate_key()
    assert keys.signing_key().kid == new.kid != old_kid
    after = tokens.issue_pair(user_id=7, email="a@shop.test", staff=False).access_token
    assert jwt.get_unverified_header(after)["kid"] == new.kid
    assert {k["kid"] for k in keys.jwks()["keys"]} >= {old_kid, new.kid}
    assert tokens.verify(before).user_id == tokens.verify(after).user_id == 7


def test_a_service_verifies_with_the_jwks_alone() -> None:
    """What an extracted service does: no shared secret, only the published JWKS."""
    token = tokens.issue_pair(user_id=9, email="b@shop.test", staff=False).access_token
    published = keys_from_jwks(keys.jwks())
    verifier = TokenVerifier(
        keys=lambda: published, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE
    )
    assert verifier.verify(token).user_id == 9
    with pytest.raises(InvalidToken, match="unknown signing key"):
        TokenVerifier(keys=dict, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE).verify(
            token
        )
