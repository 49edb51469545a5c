"""orders' writes: checkout and everything that happens to an order afterwards.

No database transaction is open while the payment provider authorises: checkout is
T1 (cart -> reservation -> order) / authorise / T2 (confirm hold, commit stock, capture, paid).
A DomainError that must not undo a state change (402, reservation_expired) is raised only after
the transaction that recorded the change has committed.

Every status change publishes its event (OrderPlaced, OrderPaid, ...: the whole order) in the
transaction that makes it, right after the row is written (``_transition``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contracts.events import (
    OrderCancelled,
    OrderFulfilled,
    OrderPaid,
    OrderPaymentFailed,
    OrderPlaced,
    OrderRefunded,
)
from contracts.events import OrderLine as OrderLineState
from eventbus.outbox import publish
from eventbus.ownership.services import NotWriter
from shop.cart import selectors as cart_selectors
from shop.cart import services as cart_services
from shop.catalog import selectors as catalog_selectors
from shop.catalog import services as catalog_services
from shop.common.errors import DomainError, NotFound
from shop.notifications import services as notification_services
from shop.payments import selectors as payment_selectors
from shop.payments import services as payment_services

from . import selectors
from .errors import CartEmpty, IllegalTransition, PriceChanged
from .models import Order, OrderLine, OrderStatus, OrderStatusChange
from .state import illegal, transition

__all__ = [
    "CartEmpty",
    "IllegalTransition",
    "PriceChanged",
    "checkout",
    "order_cancel",
    "order_fulfil",
    "order_pay",
    "orders_expire_lapsed",
]

log = logging.getLogger(__name__)

S = OrderStatus
RESERVATION_EXPIRED = "reservation_expired"
AUTHORIZED = "authorized"  # the payment status of an approved authorisation


# --- helpers ----------------------------------------------------------------------------------


def _lock(order_id: UUID, *, user_id: int | None = None) -> Order:
    """The order row, locked; with ``user_id``, another user's order is NotFound."""
    rows = Order.objects.select_for_update().filter(pk=order_id)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    order = rows.first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _state(order: Order) -> dict[str, Any]:
    """The payload every order event carries: the whole order with its lines."""
    return {
        "order_id": order.id,
        "user_id": order.user_id,
        "status": order.status,
        "currency": order.currency,
        "total": order.total,
        "lines": tuple(
            OrderLineState(
                sku=line.sku,
                product_name=line.product_name,
                variant_name=line.variant_name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.line_total,
            )
            for line in OrderLine.objects.filter(order_id=order.id).order_by("id")
        ),
        "payment_id": order.payment_id,
        "created_at": order.created_at,
        "aggregate_version": order.version,
    }


def _transition(order: Order, to: str, reason: str) -> None:
    """``transition`` (the state machine: history, version bump, save), then its event."""
    transition(order, to, reason)
    state = _state(order)
    if to == S.PAID:
        publish(OrderPaid(**state))
    elif to == S.PAYMENT_FAILED:
        publish(OrderPaymentFailed(**state, reason=reason))
    elif to == S.CANCELLED:
        publish(OrderCancelled(**state, reason=reason))
    elif to == S.REFUNDED:
        publish(OrderRefunded(**state))
    elif to == S.FULFILLED:
        publish(OrderFulfilled(**state))


def _notify(order: Order, kind: str) -> None:
    notification_services.notification_send(
        user_id=order.user_id,
        kind=kind,
        reference=str(order.id),
        context={
            "order_id": str(order.id),
            "status": order.status,
            "total": f"{order.total:.2f}",
            "currency": order.currency,
        },
    )


def _check_card(card_number: str) -> None:
    if not payment_services.card_valid(card_number):
        raise payment_services.InvalidCard(
            "The card number fails the Luhn check.", field="payment.card_number"
        )


def _hold_seconds(hold_seconds: int | None) -> int:
    longest = int(settings.CATALOG_RESERVATION_TTL_SECONDS)
    if hold_seconds is None:
        return longest
    if not 1 <= hold_seconds <= longest:
        raise ValidationError({"hold_seconds": [f"Hold stock for 1 to {longest} seconds."]})
    return hold_seconds


def _hold_lapsed(order: Order) -> bool:
    """Whether the order's stock hold is gone: past its expiry, or no longer active."""
    now = timezone.now()
    if order.reservation_id is None:
        return True
    if order.reservation_expires_at is not None and order.reservation_expires_at <= now:
        return True
    reservation = catalog_selectors.reservation_get(reservation_id=order.reservation_id)
    return reservation is None or reservation.status != "active" or reservation.expires_at <= now


def _expired(order: Order) -> DomainError:
    return catalog_services.ReservationExpired(
        f"The stock hold of order {order.id} lapsed; the order is cancelled.",
        order_id=str(order.id),
    )


def _payment_error(order_id: UUID, payment: payment_services.PaymentView) -> DomainError:
    if payment.status == "declined":
        return payment_services.PaymentDeclined(
            f"The card was declined ({payment.decline_reason}).",
            order_id=str(order_id),
            decline_reason=payment.decline_reason,
        )
    return payment_services.PaymentProviderError(
        "The payment provider failed; nothing was charged.", order_id=str(order_id)
    )


def _release(order: Order, reason: str) -> None:
    if order.reservation_id is not None:
        catalog_services.reservation_release(reservation_id=order.reservation_id, reason=reason)


def _cancel(order: Order, reason: str) -> None:
    """pending_payment -> cancelled: the held stock goes back, any authorisation is voided.
    The caller holds the row lock."""
    _transition(order, S.CANCELLED, reason)
    _release(order, reason)
    _void_authorisations(order)
    _notify(order, "order_cancelled")


def _void(payment_id: UUID) -> None:
    """Void an authorisation, best effort: a refusal is logged (the hold lapses provider-side)
    and must not undo the caller's transaction."""
    try:
        payment_services.payment_void(payment_id=payment_id)
    except (payment_services.PaymentProviderError, payment_services.IllegalPaymentState):
        log.warning("could not void payment %s", payment_id, exc_info=True)


def _void_authorisations(order: Order) -> None:
    for payment in payment_selectors.payments_for_order(order_id=order.id):
        if payment.status == AUTHORIZED:
            _void(payment.id)


def _payment_failed(order: Order, reason: str) -> None:
    """pending_payment -> payment_failed; the held stock goes back (the cart is kept)."""
    _transition(order, S.PAYMENT_FAILED, reason)
    _release(order, "payment_failed")


def _commit_and_capture(order: Order, payment: payment_services.PaymentView) -> str:
    """The reserved units leave stock and the money is taken, or neither.

    "ok"; "lapsed" when the catalog finds the hold gone; "capture_failed" when the provider
    refuses the capture. Stock goes first: the capture is the one step a rollback cannot undo.

    When the catalog service owns catalog, the commit happened over HTTP and the savepoint
    cannot undo it: a refused capture puts the units back with a restock instead.
    """
    assert order.reservation_id is not None
    remote = catalog_services.remote()
    try:
        # A savepoint: a refusal rolls back the stock commit and leaves the caller's
        # transaction usable.
        with transaction.atomic():
            catalog_services.reservation_commit(reservation_id=order.reservation_id)
            payment_services.payment_capture(payment_id=payment.id)
    except catalog_services.ReservationExpired:
        return "lapsed"
    except payment_services.PaymentProviderError:
        log.warning("capture of payment %s failed (order %s)", payment.id, order.id, exc_info=True)
        if remote:
            catalog_services.stock_restock(
                lines=[(line.sku, line.quantity) for line in order.lines.order_by("id")],
                reason="capture_failed",
                reference=f"order:{order.id}",
            )
        return "capture_failed"
    return "ok"


def _settle(*, order_id: UUID, payment: payment_services.PaymentView, from_checkout: bool) -> Order:
    """The authorised path shared by checkout and /pay: confirm the hold is still valid, commit
    the stock, capture, mark the order paid. On failure the authorisation is voided and the
    error raised after the commit. A failed checkout ends payment_failed; a failed /pay leaves
    the order pending_payment for another try.
    """
    failure: DomainError | None = None
    with transaction.atomic():
        order = _lock(order_id)
        try:
            if order.status != S.PENDING_PAYMENT:
                outcome = "illegal"
            elif _hold_lapsed(order):
                outcome = "lapsed"
            else:
                outcome = _commit_and_capture(order, payment)
        except catalog_services.CatalogUnavailable as exc:
            # The catalog service (owner of catalog) did not answer: nothing was captured.
            # Void, keep the order pending_payment, and let the customer pay again later.
            outcome, failure = "catalog_unavailable", exc
        except NotWriter as exc:  # catalog is frozen for a handover (under a second)
            outcome = "catalog_unavailable"
            failure = catalog_services.CatalogUnavailable(str(exc), retry_after=1)
        if outcome == "ok":
            order.payment_id = payment.id
            _transition(order, S.PAID, "payment_captured")
            _notify(order, "order_paid")
            if from_checkout:
                cart_services.cart_clear(user_id=order.user_id, reason="checked_out")
        else:
            _void(payment.id)
            if outcome == "catalog_unavailable":
                pass  # failure is set: raised after the commit (503, Retry-After)
            elif outcome == "illegal":
                # Cancelled, expired or paid by another attempt while this one was away.
                failure = illegal(order.status, S.PAID)
            elif outcome == "lapsed":
                _cancel(order, RESERVATION_EXPIRED)
                failure = _expired(order)
            else:
                if from_checkout:
                    _payment_failed(order, "payment_provider_error")
                failure = payment_services.PaymentProviderError(
                    "The payment provider failed; nothing was charged.", order_id=str(order_id)
                )
    if failure is not None:
        raise failure
    return selectors.order_get(order_id=order_id)


def _place(
    *, order_id: UUID, user_id: int, cart: cart_selectors.CartView, hold_seconds: int, paying: bool
) -> Order:
    """Reserve the cart's lines (all or nothing) and create the pending order."""
    assert cart.currency is not None
    reservation = catalog_services.stock_reserve(
        lines=[(line.sku, line.quantity) for line in cart.lines],
        owner_ref=f"order:{order_id}",
        ttl_seconds=hold_seconds,
    )
    order = Order.objects.create(
        id=order_id,
        user_id=user_id,
        status=S.PENDING_PAYMENT,
        currency=cart.currency,
        total=cart.total,
        reservation_id=reservation.id,
        reservation_expires_at=reservation.expires_at,
        payment_attempts=1 if paying else 0,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            sku=line.sku,
            product_name=line.product_name,
            variant_name=line.variant_name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=line.line_total,
        )
        for line in cart.lines
    )
    OrderStatusChange.objects.create(
        order=order, from_status="", to_status=S.PENDING_PAYMENT, reason="checkout"
    )
    publish(OrderPlaced(**_state(order)))
    _notify(order, "order_placed")
    return order


# --- services ---------------------------------------------------------------------------------


def _writer_prices(user_id: int) -> dict[str, catalog_selectors.VariantView | None] | None:
    """Once the catalog service writes catalog, checkout prices the cart with its answers: the
    local copy may be a few events behind a price change, and an order must not be placed at a
    price the writer no longer charges. Read before the transaction (no lock held across HTTP);
    a service that cannot answer fails the checkout with 503, as its reservation would."""
    if not catalog_selectors.catalog_is_remote():
        return None
    skus = [line.sku for line in cart_selectors.cart_get(user_id=user_id).lines]
    return catalog_selectors.variants_get_from_writer(skus=skus)


def checkout(*, user_id: int, card_number: str | None, hold_seconds: int | None = None) -> Order:
    """Turn the user's cart into an order; with a card, pay it too (see the module docstring)."""
    if card_number is not None:
        _check_card(card_number)
    hold = _hold_seconds(hold_seconds)
    order_id = uuid4()
    failure: DomainError | None = None
    order: Order | None = None
    current = _writer_prices(user_id)
    with transaction.atomic():
        # Repricing locks the cart row first: checkouts of one cart run one at a time.
        changed = cart_services.cart_reprice(user_id=user_id, current=current)
        cart = cart_selectors.cart_get(user_id=user_id)
        if not cart.lines:
            raise CartEmpty("There is nothing in the cart to order.")
        if changed:
            # Commit the new prices (the cart shows them), then refuse.
            failure = PriceChanged(
                f"The price of {', '.join(changed)} changed; review the cart.", skus=changed
            )
        else:
            order = _place(
                order_id=order_id,
                user_id=user_id,
                cart=cart,
                hold_seconds=hold,
                paying=card_number is not None,
            )
            if card_number is None:
                cart_services.cart_clear(user_id=user_id, reason="checked_out")
    if failure is not None:
        raise failure
    assert order is not None
    if card_number is None:
        return selectors.order_get(order_id=order_id)

    payment = payment_services.payment_authorize(
        order_id=order_id,
        user_id=user_id,
        amount=order.total,
        currency=order.currency,
        card_number=card_number,
        idempotency_key=f"order:{order_id}:authorize",
    )
    if payment.status != AUTHORIZED:
        with transaction.atomic():
            order = _lock(order_id)
            if order.status == S.PENDING_PAYMENT:
                _payment_failed(order, payment.decline_reason or "payment_provider_error")
        # Raised after the commit; the cart is kept so the customer can retry.
        raise _payment_error(order_id, payment)
    return _settle(order_id=order_id, payment=payment, from_checkout=True)


def order_pay(*, user_id: int, order_id: UUID, card_number: str) -> Order:
    """Pay a pending order. A declined card leaves it pending_payment for another try."""
    _check_card(card_number)
    failure: DomainError | None = None
    with transaction.atomic():
        order = _lock(order_id, user_id=user_id)
        if order.status != S.PENDING_PAYMENT:
            raise illegal(order.status, S.PAID)
        if _hold_lapsed(order):
            _cancel(order, RESERVATION_EXPIRED)
            failure = _expired(order)
        else:
            order.payment_attempts += 1
            order.version += 1
            order.save(update_fields=["payment_attempts", "version", "updated_at"])
    if failure is not None:
        raise failure

    payment = payment_services.payment_authorize(
        order_id=order.id,
        user_id=user_id,
        amount=order.total,
        currency=order.currency,
        card_number=card_number,
        idempotency_key=f"order:{order.id}:authorize:{order.payment_attempts}",
    )
    if payment.status != AUTHORIZED:
        raise _payment_error(order.id, payment)
    return _settle(order_id=order.id, payment=payment, from_checkout=False)


def order_cancel(*, user_id: int, order_id: UUID) -> Order:
    """pending_payment -> cancelled (stock released, authorisations voided);
    paid -> refunded (refund, restock). A payer still at the provider for this order voids its
    own authorisation when it finds the order cancelled (see ``_settle``)."""
    with transaction.atomic():
        order = _lock(order_id, user_id=user_id)
        if order.status == S.PENDING_PAYMENT:
            _cancel(order, "cancelled_by_customer")
        elif order.status == S.PAID:
            _transition(order, S.REFUNDED, "cancelled_by_customer")
            catalog_services.stock_restock(
                lines=[(line.sku, line.quantity) for line in order.lines.order_by("id")],
                reason="order_refunded",
                reference=f"order:{order.id}",
            )
            _notify(order, "order_refunded")
            assert order.payment_id is not None
            # Money last: anything failing before this rolls back with nothing refunded.
            payment_services.payment_refund(payment_id=order.payment_id)
        else:
            raise illegal(order.status, S.CANCELLED)
    return selectors.order_get(order_id=order_id)


def order_fulfil(*, order_id: UUID) -> Order:
    """Staff: paid -> fulfilled."""
    with transaction.atomic():
        _transition(_lock(order_id), S.FULFILLED, "fulfilled")
    return selectors.order_get(order_id=order_id)


def orders_expire_lapsed(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Cancel pending orders whose stock hold has lapsed (one transaction each); how many."""
    now = now or timezone.now()
    lapsed = Order.objects.filter(
        status=S.PENDING_PAYMENT, reservation_expires_at__lte=now
    ).order_by("reservation_expires_at")
    cancelled = 0
    for order_id in list(lapsed.values_list("id", flat=True)[:limit]):
        with transaction.atomic():
            order = (
                Order.objects.select_for_update()
                .filter(pk=order_id, status=S.PENDING_PAYMENT, reservation_expires_at__lte=now)
                .first()
            )
            if order is None:  # paid or cancelled meanwhile
                continue
            _cancel(order, RESERVATION_EXPIRED)
            cancelled += 1
    return cancelled
