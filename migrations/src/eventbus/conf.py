"""The event backbone's settings, read from Django settings with safe defaults.

BROKER_URL                 amqp://guest:guest@127.0.0.1:5672// or filesystem:///abs/folder
EVENTBUS_PREFIX            prefix of every exchange and queue name ("" in production;
                           tests use a unique one per run)
EVENTBUS_SUBSCRIPTIONS     {service: [routing patterns]}: one durable queue per service
EVENTBUS_HANDLERS          {service: [modules]} imported by `consume` to register handlers
EVENTBUS_RETRIES           handler attempts before dead-lettering (default 5)
EVENTBUS_RETRY_BASE        first backoff in seconds, doubled per attempt, jittered (0.2)
EVENTBUS_RETRY_MAX         backoff cap in seconds (5)
EVENTBUS_PREFETCH          unacknowledged messages a consumer may hold (20)
EVENTBUS_RELAY_BATCH       outbox rows per relay batch (500)
EVENTBUS_POLL_SECONDS      relay wake-up without a notification (1.0 with LISTEN/NOTIFY on
                           PostgreSQL; SQLite has no notifications: 0.05)
EVENTBUS_OUTBOX_KEEP_DAYS, EVENTBUS_INBOX_KEEP_DAYS, EVENTBUS_PRUNE_EVERY: see retention.py
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.db import connections


def get(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def broker_url() -> str:
    url = get("BROKER_URL", "")
    if not url:
        raise RuntimeError("BROKER_URL is not set (amqp://... or filesystem:///folder)")
    return str(url)


def prefix() -> str:
    return str(get("EVENTBUS_PREFIX", ""))


def subscriptions() -> dict[str, tuple[str, ...]]:
    raw: Mapping[str, Sequence[str]] = get("EVENTBUS_SUBSCRIPTIONS", {})
    return {service: tuple(patterns) for service, patterns in raw.items()}


def handler_modules(service: str) -> list[str]:
    raw: Mapping[str, Sequence[str] | str] = get("EVENTBUS_HANDLERS", {})
    modules = raw.get(service, ())
    return [modules] if isinstance(modules, str) else list(modules)


def retries() -> int:
    return int(get("EVENTBUS_RETRIES", 5))


def retry_base() -> float:
    return float(get("EVENTBUS_RETRY_BASE", 0.2))


def retry_max() -> float:
    return float(get("EVENTBUS_RETRY_MAX", 5.0))


def prefetch() -> int:
    return int(get("EVENTBUS_PREFETCH", 20))


def relay_batch() -> int:
    return int(get("EVENTBUS_RELAY_BATCH", 500))


def is_postgres(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


def poll_seconds(using: str = "default") -> float:
    default = 1.0 if is_postgres(using) else 0.05
    return float(get("EVENTBUS_POLL_SECONDS", default))
