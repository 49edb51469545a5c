"""notifications' writes. Orders calls :func:`notification_send` inside its transactions.

One writer per context: the monolith records and delivers notifications only while it writes
``notifications`` (eventbus.ownership); once the notifications service does, the service builds
them from the order events and the monolith follows its ``NotificationSent`` events
(:func:`notification_sent_apply`). A notification's id is derived from its fact
(``contracts.ids.notification_id``), so both sides name it alike and the sink drops a repeat.

While the monolith does not write, a fact is kept as a PendingFact. The writer's
NotificationSent removes it; during a rollback's freeze nobody writes (the service is frozen,
the monolith not yet the owner), so :func:`pending_flush` notifies what is left once the
monolith writes again: on its next ``notification_send`` and through ``manage.py
notifications_flush``, which the stage verbs run right after a flip.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from contracts.events import NotificationSent
from contracts.ids import notification_id
from eventbus.outbox import publish
from eventbus.ownership import services as ownership
from eventbus.ownership.models import Owner
from shop.users.selectors import user_contact

from . import sink
from .models import Notification, NotificationKind, NotificationStatus, PendingFact
from .templates import render

__all__ = [
    "notification_send",
    "notification_sent_apply",
    "notifications_redeliver",
    "pending_flush",
]

log = logging.getLogger(__name__)

# Queued rows younger than this are left to their own on_commit delivery, so the periodic
# job does not race a request that is about to deliver them.
REDELIVER_GRACE = timedelta(seconds=60)
_REFERENCE_MAX = 64
_SUBJECT_MAX = 200
CONTEXT = "notifications"
ME = Owner.MONOLITH.value


def is_writer() -> bool:
    """Whether the monolith records and delivers notifications right now."""
    return ownership.is_writer(CONTEXT, ME)


def _writing() -> bool:
    """:func:`is_writer` for a write path, inside its transaction: on PostgreSQL the ownership
    row is share-locked until commit, so a freeze waits for this write instead of racing it."""
    try:
        ownership.require_writer(CONTEXT, ME)
    except ownership.NotWriter:
        return False
    return True


def _validate(kind: str, reference: str) -> None:
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not 1 <= len(reference) <= _REFERENCE_MAX:
        raise ValueError(f"reference must be 1 to {_REFERENCE_MAX} characters")


def _recorded(user_id: int, kind: str, reference: str) -> bool:
    return Notification.objects.filter(user_id=user_id, kind=kind, reference=reference).exists()


def notification_send(
    *, user_id: int, kind: str, reference: str, context: Mapping[str, str]
) -> None:
    """Record a message about ``reference`` (an order id) and deliver it once the caller's
    transaction commits. The same (user, kind, reference) never notifies twice; nothing is
    sent if the caller's transaction rolls back. Delivery failures are logged, never raised.

    While the monolith is not the notifications writer (frozen for a handover, or handed to
    the service, which builds the message from the order's event) the fact is only kept as
    pending. While it writes, pending facts left from a handover are notified first.
    """
    _validate(kind, reference)
    if _recorded(user_id, kind, reference):
        return
    if not _writing():
        log.debug("not the notifications writer: %s about %s kept pending", kind, reference)
        _keep_pending(user_id=user_id, kind=kind, reference=reference, context=context)
        return
    pending_flush()  # facts left from a handover, if any (one cheap query when none)
    _record(user_id=user_id, kind=kind, reference=reference, context=context)


def _keep_pending(*, user_id: int, kind: str, reference: str, context: Mapping[str, str]) -> None:
    try:
        # A savepoint: a concurrent keeper of the same fact must not break the caller.
        with transaction.atomic():
            PendingFact.objects.get_or_create(
                id=notification_id(user_id, kind, reference),
                defaults={
                    "user_id": user_id,
                    "kind": kind,
                    "reference": reference,
                    "context": dict(context),
                },
            )
    except IntegrityError:
        return  # kept by a concurrent call


def _record(*, user_id: int, kind: str, reference: str, context: Mapping[str, str]) -> bool:
    """Create the notification (if its fact has none) and deliver it after the commit. True if
    this call created it."""
    contact = user_contact(user_id=user_id)
    if contact is None:
        log.warning("no contact for user %s: %s about %s not recorded", user_id, kind, reference)
        return False
    if _recorded(user_id, kind, reference):
        return False
    subject, body = render(
        kind, {"order_id": reference, "name": contact.name or contact.email, **context}
    )
    try:
        # A savepoint: a concurrent duplicate must not break the caller's transaction.
        with transaction.atomic():
            row = Notification.objects.create(
                id=notification_id(user_id, kind, reference),
                user_id=user_id,
                kind=kind,
                recipient=contact.email,
                subject=subject[:_SUBJECT_MAX],
                body=body,
                reference=reference,
            )
    except IntegrityError:
        return False  # the same fact was recorded by a concurrent call
    transaction.on_commit(functools.partial(_deliver, row.id))
    return True


def pending_flush(*, limit: int = 100) -> int:
    """Writer only: notify the pending facts nobody notified (the writer was frozen), drop the
    ones already recorded (the follower handler or the flip's reconcile brought the writer's
    row). Runs in the caller's transaction; deliveries happen after its commit, once each (the
    sink de-duplicates by id). Returns how many notifications this call created."""
    pending = list(PendingFact.objects.order_by("seen_at", "id")[: max(limit, 0)])
    if not pending or not _writing():
        return 0
    created = 0
    for fact in pending:
        try:
            # A savepoint per fact: one that fails stays pending and never fails the caller
            # (an order being placed) nor the facts after it.
            with transaction.atomic():
                if _record(
                    user_id=fact.user_id,
                    kind=fact.kind,
                    reference=fact.reference,
                    context=fact.context,
                ):
                    created += 1
                PendingFact.objects.filter(pk=fact.pk).delete()
        except DatabaseError:
            log.exception("pending %s about %s kept for a later flush", fact.kind, fact.reference)
    return created


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


def _mark_delivered(row: Notification) -> None:
    """delivered, and NotificationSent in the same transaction (the service follows it while
    the monolith writes notifications). Only the first marking publishes."""
    now = timezone.now()
    with transaction.atomic():
        marked = (
            Notification.objects.filter(pk=row.pk)
            .exclude(status=NotificationStatus.DELIVERED)
            .update(status=NotificationStatus.DELIVERED, delivered_at=now)
        )
        if marked:
            publish(
                NotificationSent(
                    notification_id=row.id,
                    user_id=row.user_id,
                    kind=row.kind,
                    channel=row.channel,
                    recipient=row.recipient,
                    subject=row.subject,
                    reference=row.reference,
                    delivered_at=now,
                    body=row.body,
                    aggregate_version=1,  # a notification is sent once; no later states
                )
            )


def notification_sent_apply(*, event: NotificationSent) -> bool:
    """Follower: record the writer's delivered notification here (upsert by id, or by its
    fact for a row recorded before ids were deterministic). True if a row changed. The body
    comes with the event (v2); a v1 event has none, and reconcile fills it from the writer's
    copy."""
    with transaction.atomic():
        fact = Q(pk=event.notification_id) | Q(
            user_id=event.user_id, kind=event.kind, reference=event.reference
        )
        # The writer notified this fact: nothing is left for a later flush here.
        PendingFact.objects.filter(
            user_id=event.user_id, kind=event.kind, reference=event.reference
        ).delete()
        row = Notification.objects.select_for_update().filter(fact).first()
        if row is None:
            Notification.objects.create(
                id=event.notification_id,
                user_id=event.user_id,
                kind=event.kind,
                channel=event.channel,
                recipient=event.recipient,
                subject=event.subject[:_SUBJECT_MAX],
                body=event.body,
                reference=event.reference,
                status=NotificationStatus.DELIVERED,
                created_at=event.occurred_at,
                delivered_at=event.delivered_at,
            )
            return True
        if row.status == NotificationStatus.DELIVERED and (row.body or not event.body):
            return False
        Notification.objects.filter(pk=row.pk).update(
            status=NotificationStatus.DELIVERED,
            delivered_at=event.delivered_at,
            body=row.body or event.body,
        )
        return True


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
        _mark_delivered(row)
        return True
    except Exception:  # the database itself failed: the periodic job will retry
        log.exception("recording delivery of notification %s failed", notification_id)
        return False
