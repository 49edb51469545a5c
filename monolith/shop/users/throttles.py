"""Login throttling: per email (guessing one account's password) and per client address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView
from rest_framework.throttling import SimpleRateThrottle


class LoginEmailThrottle(SimpleRateThrottle):
    """Counts every login attempt for one email, whatever address it comes from."""

    scope = "login"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        data = request.data if isinstance(request.data, dict) else {}
        email = str(data.get("email", "")).strip().lower()
        if not email:
            return None
        return self.cache_format % {"scope": self.scope, "ident": email[:254]}


class LoginAddressThrottle(SimpleRateThrottle):
    """A looser cap per client address (the proxy's X-Forwarded-For is honoured by DRF only
    when NUM_PROXIES is set; by default the peer address counts)."""

    scope = "login_ip"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
