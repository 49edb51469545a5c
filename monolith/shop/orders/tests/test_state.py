from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from shop.orders.errors import IllegalTransition
from shop.orders.models import Order, OrderStatus
from shop.orders.state import FINAL, TRANSITIONS, can_transition, transition

pytestmark = [pytest.mark.orders]

S = OrderStatus
LEGAL = {
    (S.PENDING_PAYMENT, S.PAID),
    (S.PENDING_PAYMENT, S.PAYMENT_FAILED),
    (S.PENDING_PAYMENT, S.CANCELLED),
    (S.PAID, S.FULFILLED),
    (S.PAID, S.REFUNDED),
}
PAIRS = list(itertools.product(S.values, S.values))


def test_the_table_is_exactly_the_documented_machine() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL
    assert {S.PAYMENT_FAILED, S.CANCELLED, S.REFUNDED, S.FULFILLED} == FINAL


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_can_transition(source: str, target: str) -> None:
    assert can_transition(source, target) is ((source, target) in LEGAL)


def _order(status: str) -> Order:
    return Order.objects.create(user_id=1, status=status, currency="EUR", total=Decimal("1.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_legal_transition_records_history_and_bumps_version(source: str, target: str) -> None:
    order = _order(source)
    transition(order, target, "because")
    order.refresh_from_db()
    assert order.status == target
    assert order.version == 2
    change = order.history.get()
    assert (change.from_status, change.to_status, change.reason) == (source, target, "because")


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), [p for p in PAIRS if p not in LEGAL])
def test_illegal_transition_raises_409_and_changes_nothing(source: str, target: str) -> None:
    order = _order(source)
    with pytest.raises(IllegalTransition) as caught:
        transition(order, target, "because")
    problem = caught.value.problem("/x").to_dict()
    assert (problem["status"], problem["code"]) == (409, "illegal_transition")
    assert (problem["from"], problem["to"]) == (source, target)
    order.refresh_from_db()
    assert (order.status, order.version, order.history.count()) == (source, 1, 0)
