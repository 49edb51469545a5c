"""Event handlers of service ``notifications`` (EVENTBUS_HANDLERS, ``manage.py consume
notifications``). Wire event -> typed event -> ONE service call, in the inbox's transaction.

    orders.order.placed|paid|cancelled|refunded  -> order_fact_apply   (Ordering.NONE: per fact)
    payments.payment.declined                   -> order_fact_apply   (Ordering.NONE: per attempt)
    notifications.notification.sent             -> notification_sent_apply (NEWER)
    users.user.registered|updated                -> contact_apply      (NEWER)
"""

from __future__ import annotations

from contracts.events import (
    NotificationSent,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    PaymentDeclined,
    UserRegistered,
    UserUpdated,
)
from contracts.events.orders import OrderState
from contracts.events.users import UserState
from eventbus.consumer import handlers
from eventbus.inbox import Ordering

from . import services
from .models import NotificationKind

SERVICE = "notifications"

KINDS: dict[type[OrderState], str] = {
    OrderPlaced: NotificationKind.ORDER_PLACED,
    OrderPaid: NotificationKind.ORDER_PAID,
    OrderCancelled: NotificationKind.ORDER_CANCELLED,
    OrderRefunded: NotificationKind.ORDER_REFUNDED,
}


def order_fact(event: OrderState) -> None:
    services.order_fact_apply(
        user_id=event.user_id,
        kind=KINDS[type(event)],
        reference=str(event.order_id),
        # The monolith's rendering context (shop.orders.services._notify).
        context={
            "order_id": str(event.order_id),
            "status": event.status,
            "total": f"{event.total:.2f}",
            "currency": event.currency,
        },
    )


for _event_cls in KINDS:
    handlers.register(_event_cls, order_fact, service=SERVICE, ordering=Ordering.NONE)


@handlers.on(PaymentDeclined, service=SERVICE, ordering=Ordering.NONE)
def payment_declined(event: PaymentDeclined) -> None:
    services.order_fact_apply(
        user_id=event.user_id,
        kind=NotificationKind.PAYMENT_DECLINED,
        reference=str(event.payment_id),
        # The monolith's rendering context (shop.payments.services._notify_declined).
        context={
            "order_id": str(event.order_id),
            "total": f"{event.amount:.2f}",
            "currency": event.currency,
            "reason": event.decline_reason,
            "card_last4": event.card_last4,
        },
    )


@handlers.on(NotificationSent, service=SERVICE, ordering=Ordering.NEWER)
def notification_sent(event: NotificationSent) -> None:
    services.notification_sent_apply(
        notification_id=event.notification_id,
        user_id=event.user_id,
        kind=event.kind,
        channel=event.channel,
        recipient=event.recipient,
        subject=event.subject,
        reference=event.reference,
        delivered_at=event.delivered_at,
        occurred_at=event.occurred_at,
        body=event.body,
    )


def user_contact(event: UserState) -> None:
    services.contact_apply(
        user_id=event.user_id,
        email=event.email,
        name=event.name,
        version=event.aggregate_version,
    )


handlers.register(UserRegistered, user_contact, service=SERVICE, ordering=Ordering.NEWER)
handlers.register(UserUpdated, user_contact, service=SERVICE, ordering=Ordering.NEWER)
