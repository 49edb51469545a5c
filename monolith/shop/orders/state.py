"""The order state machine. Every status change goes through :func:`transition`.

pending_payment -> paid | payment_failed | cancelled
paid            -> fulfilled | refunded
payment_failed, cancelled, refunded, fulfilled: final
"""

from __future__ import annotations

from django.utils import timezone

from .errors import IllegalTransition
from .models import Order, OrderStatus, OrderStatusChange

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.PAYMENT_FAILED, S.CANCELLED}),
    S.PAID: frozenset({S.FULFILLED, S.REFUNDED}),
}

FINAL: frozenset[str] = frozenset(S.values) - TRANSITIONS.keys()


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def illegal(from_status: str, to_status: str) -> IllegalTransition:
    return IllegalTransition(
        f"An order that is {from_status} cannot become {to_status}.",
        **{"from": from_status, "to": to_status},
    )


def transition(order: Order, to: str, reason: str) -> None:
    """Move ``order`` (locked by the caller) to ``to``, record the history, bump the version.

    Saves the whole row, so field changes the caller made on ``order`` are saved with it.
    """
    if not can_transition(order.status, to):
        raise illegal(order.status, to)
    now = timezone.now()
    OrderStatusChange.objects.create(
        order=order, from_status=order.status, to_status=to, reason=reason, at=now
    )
    order.status = to
    order.version += 1
    order.save()
