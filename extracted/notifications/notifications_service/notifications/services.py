"""notifications' writes. One writer per context (eventbus.ownership): this service is the
``service`` side of context ``notifications``.

Writer: an order fact (OrderPlaced, OrderPaid...) becomes a notification, found or created by
its natural key (user, kind, reference) under the deterministic id, delivered to the sink and
announced with NotificationSent, all in the consumer's transaction (the sink de-duplicates by
id, so a retry after a rollback does not send twice).

Follower: the owner's NotificationSent is upserted (by natural key). An order fact seen while
following is kept as a PendingFact: the owner's NotificationSent removes it; if the owner was
frozen and did nothing, :func:`pending_flush` notifies it once this service writes.

Every function here runs inside the caller's transaction (a consumer's handle_once).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from contracts.events import NotificationSent
from contracts.ids import notification_id
from eventbus.outbox import publish
from eventbus.ownership import services as ownership

from . import sink
from .models import Contact, Notification, NotificationKind, NotificationStatus, PendingFact
from .templates import render

__all__ = [
    "CONTEXT",
    "ME",
    "ContactMissing",
    "contact_apply",
    "notification_sent_apply",
    "order_fact_apply",
    "pending_flush",
    "writing",
]

log = logging.getLogger(__name__)

CONTEXT = "notifications"
ME = "service"
_SUBJECT_MAX = 200
_REFERENCE_MAX = 64


class ContactMissing(RuntimeError):
    """No contact for the user yet (their users event is behind, or contacts were never
    synced): the consumer retries, then parks the event in its dead-letter queue."""


def writing() -> bool:
    """Whether this service writes notifications now. Inside the transaction: on PostgreSQL
    the ownership row is share-locked, so a freeze waits for this write to commit."""
    try:
        ownership.require_writer(CONTEXT, ME)
    except ownership.NotWriter:
        return False
    return True


def _existing(user_id: int, kind: str, reference: str) -> Notification | None:
    return Notification.objects.filter(user_id=user_id, kind=kind, reference=reference).first()


def order_fact_apply(
    *, user_id: int, kind: str, reference: str, context: Mapping[str, str]
) -> Notification | None:
    """Handle one order fact: notify it (writer) or keep it pending (follower). Idempotent.
    Returns the notification this call created, else None."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not 1 <= len(reference) <= _REFERENCE_MAX:
        raise ValueError(f"reference must be 1 to {_REFERENCE_MAX} characters")
    if _existing(user_id, kind, reference) is not None:
        return None
    nid = notification_id(user_id, kind, reference)
    if not writing():
        PendingFact.objects.get_or_create(
            id=nid,
            defaults={
                "user_id": user_id,
                "kind": kind,
                "reference": reference,
                "context": dict(context),
            },
        )
        return None
    created = _notify(nid, user_id=user_id, kind=kind, reference=reference, context=context)
    pending_flush()  # facts left from a handover, if any (cheap when there are none)
    return created


def _notify(
    nid: uuid.UUID, *, user_id: int, kind: str, reference: str, context: Mapping[str, str]
) -> Notification:
    contact = Contact.objects.filter(user_id=user_id).first()
    if contact is None:
        raise ContactMissing(f"no contact for user {user_id}: {kind} about {reference} waits")
    subject, body = render(
        kind, {"order_id": reference, **context, "name": contact.name or contact.email}
    )
    row = Notification.objects.create(
        id=nid,
        user_id=user_id,
        kind=kind,
        recipient=contact.email,
        subject=subject[:_SUBJECT_MAX],
        body=body,
        reference=reference,
    )
    if not sink.deliver(_message(row)):
        log.info("notification %s was already in the sink (delivered by the other side)", nid)
    row.status = NotificationStatus.DELIVERED
    row.delivered_at = timezone.now()
    row.save(update_fields=["status", "delivered_at"])
    publish(_sent_event(row))
    PendingFact.objects.filter(pk=nid).delete()
    return row


def _message(row: Notification) -> dict[str, Any]:
    # The monolith's sink message shape (shop.notifications.services._message).
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


def _sent_event(row: Notification) -> NotificationSent:
    assert row.delivered_at is not None
    return NotificationSent(
        notification_id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        channel=row.channel,
        recipient=row.recipient,
        subject=row.subject,
        reference=row.reference,
        delivered_at=row.delivered_at,
        body=row.body,
        aggregate_version=1,  # a notification is sent once: one version
    )


def pending_flush(*, limit: int = 100) -> int:
    """Writer only: notify the pending facts nobody notified (the owner was frozen), drop the
    ones that were. Returns how many this call notified."""
    pending = list(PendingFact.objects.order_by("seen_at", "id")[: max(limit, 0)])
    if not pending or not writing():
        return 0
    sent = 0
    for fact in pending:
        try:
            with transaction.atomic():  # a savepoint: one bad fact never blocks the others
                if _existing(fact.user_id, fact.kind, fact.reference) is None:
                    _notify(
                        fact.id,
                        user_id=fact.user_id,
                        kind=fact.kind,
                        reference=fact.reference,
                        context=fact.context,
                    )
                    sent += 1
                fact.delete()
        except ContactMissing as exc:
            # Kept for a later flush (after contacts_sync); the event being handled goes on.
            log.warning("pending %s %s: %s", fact.kind, fact.reference, exc)
    return sent


def notification_sent_apply(
    *,
    notification_id: uuid.UUID,
    user_id: int,
    kind: str,
    channel: str,
    recipient: str,
    subject: str,
    reference: str,
    delivered_at: datetime,
    occurred_at: datetime,
    body: str = "",
) -> bool:
    """Follower: copy the owner's sent notification. No-op while this service writes (its own
    echo). True if a row was written. The body is the event's (v2); a v1 event has none: then
    it is rendered from the pending fact when this side saw the order event, else left as
    stored (reconcile copies it)."""
    if writing():
        return False
    fact = PendingFact.objects.filter(user_id=user_id, kind=kind, reference=reference).first()
    row = (
        _existing(user_id, kind, reference)
        or Notification.objects.filter(pk=notification_id).first()
    )
    body = body or (row.body if row is not None else "")
    if fact is not None and not body:
        name = recipient
        contact = Contact.objects.filter(user_id=user_id).first()
        if contact is not None:
            name = contact.name or contact.email
        _subject, body = render(kind, {"order_id": reference, **fact.context, "name": name})
    values = {
        "user_id": user_id,
        "kind": kind,
        "channel": channel,
        "recipient": recipient,
        "subject": subject[:_SUBJECT_MAX],
        "body": body,
        "reference": reference,
        "status": NotificationStatus.DELIVERED,
        "delivered_at": delivered_at,
    }
    if row is None:
        Notification.objects.create(id=notification_id, created_at=occurred_at, **values)
    else:
        Notification.objects.filter(pk=row.pk).update(**values)
    PendingFact.objects.filter(user_id=user_id, kind=kind, reference=reference).delete()
    return True


def contact_apply(*, user_id: int, email: str, name: str, version: int) -> bool:
    """Keep a user's contact; an event older than the stored version changes nothing.
    (users is written by the monolith: contacts follow it whoever writes notifications.)"""
    updated = Contact.objects.filter(user_id=user_id, version__lt=version).update(
        email=email, name=name, version=version
    )
    if updated:
        return True
    _row, created = Contact.objects.get_or_create(
        user_id=user_id, defaults={"email": email, "name": name, "version": version}
    )
    return created
