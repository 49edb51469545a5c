"""JWT claims issued by the users context, and their verification against a JWKS.

Tokens are signed with RS256 by the users context; the public keys are published as a JWKS
(``/api/users/jwks.json`` and ``/.well-known/jwks.json``) so that any service verifies a token
without a shared secret. The header's ``kid`` names the key, so keys can rotate: a new key signs,
older keys stay in the JWKS until every token they signed has expired.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jwt

ALGORITHM = "RS256"
TokenType = Literal["access", "refresh"]


class InvalidToken(Exception):
    """The token is malformed, expired, signed by an unknown key, or not of the expected type."""


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims every kit token carries."""

    sub: str  # user id, as a string
    jti: str  # token id: revocation and refresh rotation key on it
    typ: TokenType
    iat: int
    exp: int
    email: str = ""
    staff: bool = False
    family: str = ""  # refresh tokens: the rotation family (revoked together on reuse)

    @property
    def user_id(self) -> int:
        return int(self.sub)


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``kid`` to a public key object for every RS256 key of a JWKS document."""
    keys: dict[str, Any] = {}
    for entry in jwks.get("keys", []):
        if entry.get("kty") != "RSA" or "kid" not in entry:
            continue
        keys[str(entry["kid"])] = jwt.PyJWK(dict(entry), algorithm=ALGORITHM).key
    return keys


class TokenVerifier:
    """Verifies kit tokens. ``keys`` returns the current ``kid -> public key`` mapping."""

    def __init__(
        self,
        *,
        keys: Callable[[], Mapping[str, Any]],
        issuer: str,
        audience: str,
        leeway_seconds: int = 0,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    def verify(self, token: str, *, expected: TokenType = "access") -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        # Refuse anything but our algorithm before touching a key: this is what stops
        # "alg: none" and HS256-with-the-public-key confusion.
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        key = self._keys().get(str(kid)) if kid else None
        if key is None:
            raise InvalidToken(f"unknown signing key {kid!r}")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token rejected: {exc}") from exc
        if payload.get("typ") != expected:
            raise InvalidToken(f"expected a {expected} token, got {payload.get('typ')!r}")
        return Claims(
            sub=str(payload["sub"]),
            jti=str(payload["jti"]),
            typ=expected,
            iat=int(payload["iat"]),
            exp=int(payload["exp"]),
            email=str(payload.get("email", "")),
            staff=bool(payload.get("staff", False)),
            family=str(payload.get("family", "")),
        )
