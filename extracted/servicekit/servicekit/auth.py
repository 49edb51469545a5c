"""Who is calling: tokens issued by the users context, verified here through its JWKS.

:class:`JwksKeys` fetches ``JWKS_URL`` and keeps the ``kid -> key`` mapping for
``JWKS_TTL_SECONDS``. A token signed by a kid it does not know makes it refetch at once (the
users context rotated its key), at most once per :attr:`JwksKeys.min_refetch_seconds`, so a
flood of forged kids cannot turn into a flood of requests to users. When users does not answer,
the keys already known stay in use; with none known the request gets 503 (not 401: the token
may well be good).

Verification itself is ``contracts.tokens.TokenVerifier`` (RS256 only, issuer, audience,
required claims, ``typ=access``): the same code the monolith runs.

Not checked here: the monolith's revocation list (logout). A logged-out access token stays
valid at a service until it expires (JWT_ACCESS_TTL_SECONDS, 15 minutes by default).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import jwt
from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from contracts.tokens import Claims, InvalidToken, TokenVerifier, keys_from_jwks

from .errors import Unavailable

if TYPE_CHECKING:
    from rest_framework.views import APIView

log = logging.getLogger(__name__)


class JwksUnavailable(Exception):
    """The JWKS could not be fetched and no keys are known yet."""


class JwksKeys:
    """The users JWKS, cached (see the module doc). Thread-safe; callable as ``keys()``."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float = 300.0,
        min_refetch_seconds: float = 5.0,
        timeout: float = 3.0,
    ) -> None:
        if not url:
            raise JwksUnavailable("JWKS_URL is not set: the service cannot verify tokens")
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = timeout
        self.fetches = 0
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0  # monotonic time of the last attempt (failed or not)
        self._loaded_at = 0.0  # ... of the last successful fetch
        self._forced_at = 0.0  # ... of the last refetch for an unknown kid
        self._lock = threading.Lock()

    def __call__(self) -> Mapping[str, Any]:
        if not self._keys or time.monotonic() - self._loaded_at > self.ttl_seconds:
            self._refresh()
        if not self._keys:
            raise JwksUnavailable(f"no signing keys from {self.url}")
        return self._keys

    def ensure(self, kid: str) -> None:
        """Refetch now if ``kid`` is unknown: at most once per ``min_refetch_seconds``."""
        if kid in self._keys:
            return
        if not self._loaded_at:
            self._refresh()  # the first fetch, not a refetch
            return
        with self._lock:
            now = time.monotonic()
            if self._forced_at and now - self._forced_at < self.min_refetch_seconds:
                return
            self._forced_at = now
        self._refresh(force=True)

    def _refresh(self, *, force: bool = False) -> None:
        with self._lock:
            now = time.monotonic()
            if not force and self.fetches and now - self._fetched_at < self.min_refetch_seconds:
                return  # another thread just did it, or users failed moments ago
            self._fetched_at = now
            self.fetches += 1
            try:
                response = httpx.get(self.url, timeout=self.timeout)
                response.raise_for_status()
                keys = keys_from_jwks(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
                log.warning("JWKS %s: %s (keeping %d known keys)", self.url, exc, len(self._keys))
                return
            self._keys = keys
            self._loaded_at = now


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, from the token's claims only (no users table here)."""

    id: int
    email: str
    is_staff: bool
    token_id: str
    is_authenticated: bool = True
    is_anonymous: bool = False


class Verifier:
    """``verify(token) -> Claims`` against a :class:`JwksKeys`."""

    def __init__(self, keys: JwksKeys, *, issuer: str, audience: str) -> None:
        self.keys = keys
        self._verifier = TokenVerifier(keys=keys, issuer=issuer, audience=audience)

    def verify(self, token: str) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            kid = None  # malformed: TokenVerifier says why
        if kid:
            self.keys.ensure(str(kid))
        return self._verifier.verify(token, expected="access")


_verifier: Verifier | None = None
_verifier_lock = threading.Lock()


def verifier() -> Verifier:
    """The process's verifier, built from settings on first use."""
    global _verifier
    with _verifier_lock:
        # getattr: these are service settings (servicekit.settings), not the monolith's.
        url = str(getattr(settings, "JWKS_URL", ""))
        if _verifier is None or _verifier.keys.url != url:
            ttl = float(getattr(settings, "JWKS_TTL_SECONDS", 300))
            keys = JwksKeys(url, ttl_seconds=ttl)
            _verifier = Verifier(keys, issuer=settings.JWT_ISSUER, audience=settings.JWT_AUDIENCE)
        return _verifier


def reset_verifier() -> None:
    """Forget the cached keys (tests; a settings change)."""
    global _verifier
    with _verifier_lock:
        _verifier = None


class JWTAuthentication(BaseAuthentication):
    """DRF authentication: ``Authorization: Bearer <access token>`` -> :class:`Principal`."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
            claims = verifier().verify(raw)
        except (UnicodeDecodeError, InvalidToken) as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        except JwksUnavailable as exc:
            raise Unavailable(f"cannot verify tokens: {exc}") from exc
        principal = Principal(
            id=claims.user_id, email=claims.email, is_staff=claims.staff, token_id=claims.jti
        )
        return principal, raw

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class IsStaff(BasePermission):
    """Staff-only endpoints."""

    message = "Staff only."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user is not None and getattr(request.user, "is_staff", False))


def principal(request: Request) -> Principal:
    """The authenticated caller of a view guarded by ``IsAuthenticated``."""
    user = request.user
    assert isinstance(user, Principal), "view must require authentication"
    return user
