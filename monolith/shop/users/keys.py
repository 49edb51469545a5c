"""RS256 signing keys kept as PEM files in ``SHOP_JWT_KEYS_DIR``.

The newest key (by file name: ``<UTC timestamp>-<kid>.pem``) signs; every key in the folder is
published in the JWKS, so tokens signed before a rotation stay valid until they expire. Rotate
with ``manage.py jwt_keys --rotate``; retire an old key by deleting its file once the longest
token lifetime has passed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.public_key))
        data.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return data


def keys_dir() -> Path:
    return Path(settings.JWT_KEYS_DIR)


def generate_key(directory: Path | None = None) -> SigningKey:
    """Create a new 2048-bit RSA key file; it becomes the signing key."""
    directory = directory or keys_dir()
    directory.mkdir(parents=True, exist_ok=True)
    kid = secrets.token_hex(8)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{time.time_ns() % 10**9:09d}-{kid}.pem"
    path = directory / name
    # O_EXCL + 0600: never overwrite a key, never leave it readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    load_keys.cache_clear()
    return SigningKey(kid=kid, private_key=private)


def ensure_key(directory: Path | None = None) -> SigningKey:
    """The signing key, generating the first one if the folder holds none."""
    keys = _read_keys(directory or keys_dir())
    return keys[-1] if keys else generate_key(directory)


def _read_keys(directory: Path) -> list[SigningKey]:
    keys = []
    for path in sorted(directory.glob("*.pem")) if directory.is_dir() else []:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ImproperlyConfigured(f"{path} is not an RSA private key")
        keys.append(SigningKey(kid=path.stem.rsplit("-", 1)[-1], private_key=private))
    return keys


@lru_cache(maxsize=1)
def load_keys() -> tuple[SigningKey, ...]:
    """All keys, oldest first. Read once per process (rotation takes effect on restart)."""
    keys = _read_keys(keys_dir())
    if not keys:
        raise ImproperlyConfigured(
            f"No JWT signing key in {keys_dir()}: run `python monolith/manage.py jwt_keys "
            "--ensure` (the kit's CLI does this for you)."
        )
    return tuple(keys)


def signing_key() -> SigningKey:
    return load_keys()[-1]


def public_keys() -> dict[str, rsa.RSAPublicKey]:
    return {key.kid: key.public_key for key in load_keys()}


def jwks() -> dict[str, Any]:
    return {"keys": [key.jwk() for key in reversed(load_keys())]}
