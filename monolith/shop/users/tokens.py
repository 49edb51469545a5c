"""Issue and verify the kit's JWTs. Verification is contracts.tokens plus the revocation list."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

import jwt
from django.conf import settings

from contracts.tokens import ALGORITHM, Claims, InvalidToken, TokenType, TokenVerifier

from .keys import public_keys, signing_key


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_claims: Claims
    refresh_claims: Claims
    token_type: str = "Bearer"

    @property
    def expires_in(self) -> int:
        return int(settings.JWT_ACCESS_TTL_SECONDS)


def _encode(
    *, user_id: int, email: str, staff: bool, typ: TokenType, ttl: int, family: str = ""
) -> tuple[str, Claims]:
    now = int(time.time())
    claims = Claims(
        sub=str(user_id),
        jti=secrets.token_hex(16),
        typ=typ,
        iat=now,
        exp=now + ttl,
        email=email,
        staff=staff,
        family=family,
    )
    payload: dict[str, object] = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": claims.sub,
        "jti": claims.jti,
        "typ": typ,
        "iat": claims.iat,
        "exp": claims.exp,
    }
    if typ == "access":
        payload.update({"email": email, "staff": staff})
    else:
        payload["family"] = family
    key = signing_key()
    token = jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, claims


def issue_pair(*, user_id: int, email: str, staff: bool, family: str | None = None) -> TokenPair:
    access, access_claims = _encode(
        user_id=user_id,
        email=email,
        staff=staff,
        typ="access",
        ttl=int(settings.JWT_ACCESS_TTL_SECONDS),
    )
    refresh, refresh_claims = _encode(
        user_id=user_id,
        email=email,
        staff=staff,
        typ="refresh",
        ttl=int(settings.JWT_REFRESH_TTL_SECONDS),
        family=family or secrets.token_hex(16),
    )
    return TokenPair(access, refresh, access_claims, refresh_claims)


@lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    return TokenVerifier(
        keys=public_keys, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE
    )


def verify(token: str, *, expected: TokenType = "access") -> Claims:
    """Signature, expiry, issuer, audience and type. Raises :class:`InvalidToken`."""
    return verifier().verify(token, expected=expected)


__all__ = ["Claims", "InvalidToken", "TokenPair", "issue_pair", "verify"]
