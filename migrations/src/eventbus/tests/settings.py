"""Django settings of the event backbone's test processes (relay, consumers, producers).

EVENTBUS_TEST_DATABASE_URL   sqlite:////abs/file.sqlite3 or postgres://...
EVENTBUS_TEST_BROKER_URL     filesystem:///abs/folder or amqp://...
EVENTBUS_TEST_PREFIX         namespace of the run's exchange and queues
EVENTBUS_TEST_SERVICES       comma-separated services to declare (ledger,mirror,...)
"""

from __future__ import annotations

import os

import environ

_env = environ.Env()

SECRET_KEY = "eventbus-tests-only-not-a-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "eventbus.outbox",
    "eventbus.inbox",
    "eventbus.tests.app",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": _env.db_url_config(os.environ["EVENTBUS_TEST_DATABASE_URL"])}
DATABASES["default"]["CONN_MAX_AGE"] = 60  # like the monolith: long-lived connections
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

BROKER_URL = os.environ["EVENTBUS_TEST_BROKER_URL"]
EVENTBUS_PREFIX = os.environ.get("EVENTBUS_TEST_PREFIX", "")
_SERVICES = [s for s in os.environ.get("EVENTBUS_TEST_SERVICES", "ledger,mirror").split(",") if s]
EVENTBUS_SUBSCRIPTIONS = {service: ["bank.account.*"] for service in _SERVICES}
EVENTBUS_HANDLERS = {service: ["eventbus.tests.app.handlers"] for service in _SERVICES}
EVENTBUS_RETRIES = int(os.environ.get("EVENTBUS_TEST_RETRIES", "3"))
EVENTBUS_RETRY_BASE = float(os.environ.get("EVENTBUS_TEST_RETRY_BASE", "0.05"))
EVENTBUS_RETRY_MAX = 0.5
EVENTBUS_PREFETCH = int(os.environ.get("EVENTBUS_TEST_PREFETCH", "20"))
if "EVENTBUS_TEST_POLL_SECONDS" in os.environ:
    EVENTBUS_POLL_SECONDS = float(os.environ["EVENTBUS_TEST_POLL_SECONDS"])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
