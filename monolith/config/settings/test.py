"""Unit and integration tests (pytest-django). SQLite in memory unless SHOP_DATABASE_URL is set."""

import os
import tempfile

os.environ.setdefault("SHOP_SECRET_KEY", "test-secret-not-for-production-0123456789")
# KIT_DB chooses the run's database (make test runs both); pytest-django makes test_<name>.
_POSTGRES = "postgres://postgres@127.0.0.1:5432/shop"
os.environ.setdefault(
    "SHOP_DATABASE_URL",
    _POSTGRES if os.environ.get("KIT_DB") == "postgres" else "sqlite://:memory:",
)
os.environ.setdefault("SHOP_VAR_DIR", tempfile.mkdtemp(prefix="shop-test-"))
os.environ.setdefault("SHOP_PAYMENTS_SLOW_SECONDS", "0.05")

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A test database name of its own per run (pytest-xdist appends _gw0, _gw1...): two test runs
# on one PostgreSQL server never drop or lock each other's databases.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_shop_{os.getpid()}"}  # noqa: F405
