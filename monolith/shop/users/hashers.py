"""Password hashing: Django's PBKDF2-SHA256, with the work factor as a setting.

``PASSWORD_HASH_ITERATIONS`` (``SHOP_PASSWORD_HASH_ITERATIONS``) defaults to Django's own
count (1 000 000 in Django 5.2): about a second of CPU per hash on a small machine, which is
the point in production. The kit's local stack (``strangler demo`` / ``up``, and the tests
that start a monolith) sets fewer: a rehearsal logs in thousands of users and must not spend
its time hashing. Hashes keep their own count, so any setting verifies any stored password,
and a login re-hashes a password stored with another count (Django's ``must_update``).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import hashers


class PBKDF2PasswordHasher(hashers.PBKDF2PasswordHasher):
    """Same algorithm name (``pbkdf2_sha256``): the hashes are Django's."""

    def __init__(self) -> None:
        configured = int(getattr(settings, "PASSWORD_HASH_ITERATIONS", 0) or 0)
        if configured > 0:
            self.iterations = configured
