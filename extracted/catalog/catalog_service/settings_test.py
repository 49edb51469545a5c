"""pytest-django settings of the catalog service's own tests (extracted/catalog/tests).

SQLite in memory, or PostgreSQL with ``KIT_DB=postgres`` (a test database named per run, so
two runs on one server never collide); the broker is a folder in a temporary directory.
"""

import os
import tempfile

_var = tempfile.mkdtemp(prefix="catalog-test-")
os.environ.setdefault("CATALOG_SECRET_KEY", "catalog-tests-only-not-a-secret-0123456789")
os.environ.setdefault("CATALOG_VAR_DIR", _var)
os.environ.setdefault(
    "CATALOG_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/catalog"
    if os.environ.get("KIT_DB") == "postgres"
    else "sqlite://:memory:",
)
os.environ.setdefault("CATALOG_SERVICE_TOKEN", "catalog-test-service-token")
os.environ.setdefault("CATALOG_EVENTBUS_PREFIX", f"catalogtest{os.getpid()}.")

from .settings import *  # noqa: E402, F403

_db = globals()["DATABASES"]["default"]  # set by service_settings() through globals()
if _db["ENGINE"] != "django.db.backends.sqlite3":
    _db["TEST"] = {"NAME": f"test_catalog_{os.getpid()}"}
