"""Subject and body of each kind of message. Plain ``str.format`` with a forgiving context."""

from __future__ import annotations

from collections.abc import Mapping

from .models import NotificationKind

TEMPLATES: dict[str, tuple[str, str]] = {
    NotificationKind.ORDER_PLACED: (
        "We received your order {order_id}",
        "Hello {name},\n\nthank you for your order {order_id} of {total} {currency}.\n"
        "We will let you know when the payment is through.\n",
    ),
    NotificationKind.ORDER_PAID: (
        "Your order {order_id} is paid",
        "Hello {name},\n\nwe received your payment of {total} {currency} for order "
        "{order_id}. We are preparing it now.\n",
    ),
    NotificationKind.ORDER_CANCELLED: (
        "Your order {order_id} was cancelled",
        "Hello {name},\n\nyour order {order_id} was cancelled. Nothing was charged.\n",
    ),
    NotificationKind.ORDER_REFUNDED: (
        "Your order {order_id} was refunded",
        "Hello {name},\n\nyour order {order_id} was cancelled and {total} {currency} refunded "
        "to your card.\n",
    ),
    # About a payment (reference: the payment id); sent for every declined attempt.
    NotificationKind.PAYMENT_DECLINED: (
        "Your payment for order {order_id} was declined",
        "Hello {name},\n\nyour card ending {card_last4} was declined ({reason}) for {total} "
        "{currency} on order {order_id}. Nothing was charged; you can try again with another "
        "card.\n",
    ),
}


class _Context(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""  # a missing value leaves a gap, never a crash inside a checkout


def render(kind: str, context: Mapping[str, str]) -> tuple[str, str]:
    """``(subject, body)`` for ``kind``; raises KeyError for an unknown kind."""
    subject, body = TEMPLATES[kind]
    values = _Context(context)
    return subject.format_map(values), body.format_map(values)
