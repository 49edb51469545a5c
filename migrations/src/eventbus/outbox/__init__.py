"""eventbus.outbox: the transactional outbox (a reusable Django app).

    service (transaction.atomic) --publish(event)--> eventbus_outbox row (+ NOTIFY on PostgreSQL)
                                                           |
                                          eventbus.relay claims, publishes, marks published

``publish`` raises :class:`PublishOutsideTransaction` outside ``transaction.atomic``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.events import Event


class PublishOutsideTransaction(RuntimeError):
    """``publish()`` was called outside ``transaction.atomic()``."""


def publish(*events: Event, using: str | None = None) -> None:
    """Write ``events`` to the outbox in the caller's transaction (see services.publish)."""
    from .services import publish as _publish

    _publish(*events, using=using)


__all__ = ["PublishOutsideTransaction", "publish"]
