"""DRF authentication: ``Authorization: Bearer <access token>`` -> Principal."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from shop.common.auth import Principal

from . import tokens
from .models import RevokedAccessToken


class JWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Principal, str] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise exceptions.AuthenticationFailed("Expected 'Authorization: Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
            claims = tokens.verify(raw, expected="access")
        except (UnicodeDecodeError, tokens.InvalidToken) as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        if RevokedAccessToken.objects.filter(jti=claims.jti).exists():
            raise exceptions.AuthenticationFailed("token has been revoked")
        return Principal(
            id=claims.user_id, email=claims.email, is_staff=claims.staff, token_id=claims.jti
        ), raw

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
