"""drf-spectacular: describe servicekit's JWTAuthentication as the monolith describes its own
(an HTTP bearer scheme named ``bearerAuth``), so the services' schemas match the monolith's."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "servicekit.auth.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RS256, see the JWKS)"}
