"""notifications: messages delivered to users. Aggregate ``notifications.notification``."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

from .base import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotificationSent(Event):
    """A message reached the sink (email/SMS). ``reference`` names what it was about."""

    EVENT_NAME = "notifications.notification.sent"
    AGGREGATE_ID = "notification_id"

    notification_id: uuid.UUID
    user_id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    reference: str
    delivered_at: datetime
