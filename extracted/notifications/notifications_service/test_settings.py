"""pytest-django settings: ``pytest extracted/notifications --ds notifications_service.test_settings``.

SQLite in memory unless KIT_DB=postgres (a test database named per run); the embedded broker in
a fresh folder with a per-run prefix; the JWKS URL is set by the tests that need one.
"""

import os
import tempfile
import uuid

_var = tempfile.mkdtemp(prefix="notifications-test-")
os.environ.setdefault("NOTIFICATIONS_SECRET_KEY", "test-secret-not-for-production-0123456789")
os.environ.setdefault("NOTIFICATIONS_VAR_DIR", _var)
os.environ.setdefault(
    "NOTIFICATIONS_DATABASE_URL",
    "postgres://postgres@127.0.0.1:5432/notifications"
    if os.environ.get("KIT_DB") == "postgres"
    else "sqlite://:memory:",
)
os.environ.setdefault("NOTIFICATIONS_BROKER_URL", f"filesystem://{_var}/broker")
os.environ.setdefault("NOTIFICATIONS_EVENTBUS_PREFIX", f"t{uuid.uuid4().hex[:8]}.")
os.environ.setdefault("NOTIFICATIONS_SINK", f"{_var}/sink")

from .settings import *  # noqa: E402, F403

EVENTBUS_RETRIES = 2
EVENTBUS_RETRY_BASE = 0.01
EVENTBUS_RETRY_MAX = 0.05

# A test database of its own per run (pytest-xdist appends _gw0...): parallel runs never collide.
_db = globals()["DATABASES"]["default"]  # set by service_settings() through globals()
if _db["ENGINE"] != "django.db.backends.sqlite3":
    _db["TEST"] = {"NAME": f"test_notifications_{os.getpid()}"}
