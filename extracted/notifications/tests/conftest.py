"""Fixtures: real RS256 keys served as a JWKS by a local HTTP server, tokens signed with them,
an API client, and who writes notifications in this database."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings
from rest_framework.test import APIClient

from eventbus.ownership import services as ownership
from servicekit.auth import reset_verifier

ISSUER = "strangler-kit-users"
AUDIENCE = "strangler-kit"


@dataclass
class Jwks:
    """A users context stand-in: signing keys, their JWKS over HTTP, and a request count."""

    url: str = ""
    keys: dict[str, Any] = field(default_factory=dict)  # kid -> private key
    published: list[str] = field(default_factory=list)  # kids in the served document
    hits: int = 0

    def add_key(self, *, publish: bool = True) -> str:
        kid = secrets.token_hex(4)
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)
        return kid

    def document(self) -> dict[str, Any]:
        entries = []
        for kid in self.published:
            entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": entries}

    def token(
        self,
        user_id: int,
        *,
        kid: str | None = None,
        typ: str = "access",
        ttl: int = 300,
        **claims: Any,
    ) -> str:
        kid = kid or self.published[0]
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "jti": secrets.token_hex(8),
            "typ": typ,
            "iat": now,
            "exp": now + ttl,
            "email": f"user{user_id}@shop.test",
            "staff": False,
            **claims,
        }
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def jwks() -> Iterator[Jwks]:
    state = Jwks()
    state.add_key()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            body = json.dumps(state.document()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/users/jwks.json"
    reset_verifier()
    with override_settings(JWKS_URL=state.url):
        yield state
    reset_verifier()
    server.shutdown()
    server.server_close()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def as_user(api: APIClient, jwks: Jwks) -> Callable[[int], APIClient]:
    def login(user_id: int) -> APIClient:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwks.token(user_id)}")
        return api

    return login


@pytest.fixture
def service_writes(db: None) -> None:
    """This service owns notifications (after the flip)."""
    ownership.set_owner("notifications", "service", frozen=False, why="test: writer")


@pytest.fixture
def sink_dir(settings: Any, tmp_path: Any) -> Any:
    settings.NOTIFICATIONS_SINK = str(tmp_path / "sink")
    return tmp_path / "sink"
