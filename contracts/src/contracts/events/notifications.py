"""notifications: messages delivered to users. Aggregate ``notifications.notification``."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from .base import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotificationSent(Event):
    """A message reached the sink (email/SMS). ``reference`` names what it was about.

    v2 adds ``body``, so a follower's copy is whole without waiting for a reconcile; a v1
    message reads with an empty body."""

    EVENT_NAME = "notifications.notification.sent"
    AGGREGATE_ID = "notification_id"
    SCHEMA_VERSION = 2

    notification_id: uuid.UUID
    user_id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    reference: str
    delivered_at: datetime
    body: str = ""
