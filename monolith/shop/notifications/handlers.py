"""The monolith follows the notifications service's ``NotificationSent`` while the service
writes notifications (``EVENTBUS_HANDLERS["monolith"]``). While the monolith is the writer the
event is its own echo: skipped. One event, one service call."""

from __future__ import annotations

from contracts.events import NotificationSent
from eventbus.consumer import handlers
from eventbus.inbox import Ordering

from . import services

SERVICE = "monolith"


@handlers.on(NotificationSent, service=SERVICE, ordering=Ordering.NONE)
def notification_sent(event: NotificationSent) -> None:
    if not services.is_writer():
        services.notification_sent_apply(event=event)
