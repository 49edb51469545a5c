from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from shop.payments.models import LedgerEntry, LedgerIsAppendOnly, Payment

pytestmark = [pytest.mark.payments, pytest.mark.django_db]


def make_payment(status: str = "authorized") -> Payment:
    return Payment.objects.create(
        order_id=uuid.uuid4(),
        user_id=1,
        amount=Decimal("5.00"),
        currency="EUR",
        status=status,
        card_last4="4242",
        idempotency_key=uuid.uuid4().hex,
    )


def add_entry(payment: Payment, kind: str) -> LedgerEntry:
    return LedgerEntry.objects.create(
        payment=payment, kind=kind, amount=payment.amount, currency=payment.currency
    )


def test_ledger_rows_cannot_be_updated_or_deleted() -> None:
    entry = add_entry(make_payment(), "authorize")
    loaded = LedgerEntry.objects.get(pk=entry.pk)

    loaded.amount = Decimal("1.00")
    with pytest.raises(LedgerIsAppendOnly):
        loaded.save()
    with pytest.raises(LedgerIsAppendOnly):
        loaded.delete()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.all().delete()
    with pytest.raises(LedgerIsAppendOnly):
        entry.payment.ledger.all().delete()
    # bulk_update opens atomic(savepoint=False): give it a savepoint of its own to break.
    with pytest.raises(LedgerIsAppendOnly), transaction.atomic():
        LedgerEntry.objects.bulk_update([loaded], ["amount"])

    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert (stored.kind, stored.amount) == ("authorize", Decimal("5.00"))
    assert LedgerEntry.objects.count() == 1


def test_payment_with_ledger_cannot_be_deleted() -> None:
    payment = make_payment()
    add_entry(payment, "authorize")
    with pytest.raises(IntegrityError), transaction.atomic():
        payment.delete()
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_database_refuses_a_second_capture_entry() -> None:
    payment = make_payment()
    add_entry(payment, "authorize")
    add_entry(payment, "capture")
    with pytest.raises(IntegrityError), transaction.atomic():
        add_entry(payment, "capture")
    # Other kinds may repeat (the constraint is partial: kind = 'capture' only).
    other = make_payment()
    add_entry(other, "capture")
    assert LedgerEntry.objects.filter(kind="capture").count() == 2


def test_database_refuses_non_positive_amounts_and_unknown_status() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            order_id=uuid.uuid4(),
            user_id=1,
            amount=Decimal("0.00"),
            currency="EUR",
            status="authorized",
            card_last4="4242",
            idempotency_key="zero",
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        make_payment(status="pending")


def test_idempotency_key_is_unique() -> None:
    payment = make_payment()
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            order_id=uuid.uuid4(),
            user_id=2,
            amount=Decimal("1.00"),
            currency="EUR",
            status="authorized",
            card_last4="0000",
            idempotency_key=payment.idempotency_key,
        )
