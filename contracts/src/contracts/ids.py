"""Deterministic identities for facts that two sides may record during a handover.

While ownership of a context moves between the monolith and its service, both may see the
same business fact (an order was paid). Naming the resulting record from the fact itself, not
from a random UUID, makes the two copies one row: upserts by id converge and a sink can drop
the second delivery.
"""

from __future__ import annotations

import uuid

__all__ = ["NOTIFICATIONS_NS", "notification_id"]

# uuid5(NAMESPACE_URL, "https://strangler-kit.dev/ids/notifications"), frozen: changing it
# would rename every notification and break de-duplication across a rollback.
NOTIFICATIONS_NS = uuid.UUID("be69e1f7-a06c-57b9-858a-c604deba2d79")


def notification_id(user_id: int, kind: str, reference: str) -> uuid.UUID:
    """The id of the one notification of ``kind`` about ``reference`` for ``user_id``."""
    return uuid.uuid5(NOTIFICATIONS_NS, f"{user_id}:{kind}:{reference}")
