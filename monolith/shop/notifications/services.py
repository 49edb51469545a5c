"""notifications' writes. Orders calls :func:`notification_send` inside its transactions."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shop.users.selectors import user_contact

from . import sink
from .models import Notification, NotificationKind, NotificationStatus
from .templates import render

__all__ = ["notification_send", "notifications_redeliver"]

log = logging.getLogger(__name__)

# Queued rows younger than this are left to their own on_commit delivery, so the periodic
# job does not race a request that is about to deliver them.
REDELIVER_GRACE = timedelta(seconds=60)
_REFERENCE_MAX = 64
_SUBJECT_MAX = 200


def notification_send(
    *, user_id: int, kind: str, reference: str, context: Mapping[str, str]
) -> None:
    """Record a message about ``reference`` (an order id) and deliver it once the caller's
    transaction commits. The same (user, kind, reference) never notifies twice; nothing is
    sent if the caller's transaction rolls back. Delivery failures are logged, never raised.
    """
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not 1 <= len(reference) <= _REFERENCE_MAX:
        raise ValueError(f"reference must be 1 to {_REFERENCE_MAX} characters")
    contact = user_contact(user_id=user_id)
    if contact is None:
        log.warning("no contact for user %s: %s about %s not recorded", user_id, kind, reference)
        return
    if Notification.objects.filter(user_id=user_id, kind=kind, reference=reference).exists():
        return
    subject, body = render(
        kind, {"order_id": reference, "name": contact.name or contact.email, **context}
    )
    try:
        # A savepoint: a concurrent duplicate must not break the caller's transaction.
        with transaction.atomic():
            row = Notification.objects.create(
                user_id=user_id,
                kind=kind,
                recipient=contact.email,
                subject=subject[:_SUBJECT_MAX],
                body=body,
                reference=reference,
            )
    except IntegrityError:
        return  # the same fact was recorded by a concurrent call
    transaction.on_commit(functools.partial(_deliver, row.id))


def notifications_redeliver(*, limit: int = 100) -> int:
    """Deliver failed rows, and queued rows whose on_commit delivery never happened (a crash
    between commit and delivery). Returns how many were delivered. For a periodic job."""
    cutoff = timezone.now() - REDELIVER_GRACE
    pending = (
        Notification.objects.filter(
            Q(status=NotificationStatus.FAILED)
            | Q(status=NotificationStatus.QUEUED, created_at__lt=cutoff)
        )
        .order_by("created_at", "id")
        .values_list("id", flat=True)[: max(limit, 0)]
    )
    return sum(1 for notification_id in list(pending) if _deliver(notification_id))


def _message(row: Notification) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "user_id": row.user_id,
        "channel": row.channel,
        "recipient": row.recipient,
        "kind": row.kind,
        "subject": row.subject,
        "body": row.body,
        "reference": row.reference,
        "created_at": row.created_at.isoformat(),
    }


def _deliver(notification_id: uuid.UUID) -> bool:
    """Write one message to the sink and mark it delivered. At-least-once; never raises."""
    try:
        row = (
            Notification.objects.filter(pk=notification_id)
            .exclude(status=NotificationStatus.DELIVERED)
            .first()
        )
        if row is None:
            return False
        try:
            sink.deliver(_message(row))
        except Exception:  # any sink failure: keep the row for redelivery
            log.exception("delivering notification %s failed", notification_id)
            Notification.objects.filter(pk=row.pk, status=NotificationStatus.QUEUED).update(
                status=NotificationStatus.FAILED
            )
            return False
        Notification.objects.filter(pk=row.pk).exclude(status=NotificationStatus.DELIVERED).update(
            status=NotificationStatus.DELIVERED, delivered_at=timezone.now()
        )
        return True
    except Exception:  # the database itself failed: the periodic job will retry
        log.exception("recording delivery of notification %s failed", notification_id)
        return False
