from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from django.utils import timezone
from rest_framework.response import Response

from shop.orders import idempotency, services
from shop.orders.models import IdempotencyRecord, Order
from shop.payments import selectors as payment_selectors

from .conftest import Customer
from .support import APPROVED, DECLINED

pytestmark = [pytest.mark.orders, pytest.mark.django_db]

CHECKOUT = "/api/orders/checkout"
PAID = {"payment": {"card_number": APPROVED}}


def _post(customer: Customer, body: dict[str, Any], key: str, path: str = CHECKOUT) -> Response:
    return customer.api.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _payments(order_id: str) -> int:
    return len(payment_selectors.payments_for_order(order_id=UUID(order_id)))


def test_same_key_and_body_replays_the_answer_and_charges_once(stocked_cart: Customer) -> None:
    first = _post(stocked_cart, PAID, "k-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = _post(stocked_cart, PAID, "k-1")
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Order.objects.count() == 1
    assert _payments(first.json()["id"]) == 1


def test_key_order_in_the_body_does_not_matter(stocked_cart: Customer) -> None:
    body = {"payment": {"card_number": APPROVED}, "hold_seconds": 60}
    _post(stocked_cart, body, "k-1")
    reordered = {"hold_seconds": 60, "payment": {"card_number": APPROVED}}
    assert _post(stocked_cart, reordered, "k-1")["Idempotent-Replayed"] == "true"


def test_same_key_with_another_body_is_409(stocked_cart: Customer) -> None:
    _post(stocked_cart, PAID, "k-1")
    response = _post(stocked_cart, {"hold_seconds": 60}, "k-1")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_same_key_on_another_path_is_409(stocked_cart: Customer) -> None:
    order_id = _post(stocked_cart, PAID, "k-1").json()["id"]
    response = _post(stocked_cart, PAID, "k-1", path=f"/api/orders/{order_id}/pay")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"


def test_a_402_is_replayed_too(stocked_cart: Customer) -> None:
    body = {"payment": {"card_number": DECLINED}}
    first = _post(stocked_cart, body, "k-1")
    assert first.status_code == 402
    second = _post(stocked_cart, body, "k-1")
    assert second.status_code == 402
    assert second["Content-Type"] == "application/problem+json"
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Order.objects.count() == 1
    assert _payments(first.json()["order_id"]) == 1


def test_keys_belong_to_their_user(stocked_cart: Customer, bob: Customer) -> None:
    _post(stocked_cart, PAID, "shared")
    response = _post(bob, PAID, "shared")
    assert response.status_code == 409
    assert response.json()["code"] == "cart_empty"
    assert "Idempotent-Replayed" not in response


def test_pay_is_idempotent(stocked_cart: Customer) -> None:
    order_id = stocked_cart.api.post(CHECKOUT, {}, format="json").json()["id"]
    path = f"/api/orders/{order_id}/pay"
    first = _post(stocked_cart, PAID, "pay-1", path=path)
    second = _post(stocked_cart, PAID, "pay-1", path=path)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert _payments(order_id) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "tab\there"])
def test_malformed_key_is_400_naming_the_header(stocked_cart: Customer, key: str) -> None:
    response = _post(stocked_cart, PAID, key)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["field"] == "Idempotency-Key"
    assert Order.objects.count() == 0


def test_longest_key_is_accepted(stocked_cart: Customer) -> None:
    assert _post(stocked_cart, PAID, "k" * 255).status_code == 201


def test_key_still_running_is_409(stocked_cart: Customer) -> None:
    IdempotencyRecord.objects.create(
        user_id=stocked_cart.id,
        key="k-1",
        request_hash=idempotency.request_hash(body=PAID, path=CHECKOUT),
    )
    response = _post(stocked_cart, PAID, "k-1")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert Order.objects.count() == 0


def test_records_older_than_a_day_count_as_absent(stocked_cart: Customer) -> None:
    IdempotencyRecord.objects.create(
        user_id=stocked_cart.id,
        key="k-1",
        request_hash="old",
        state="done",
        response_status=201,
        response_body={"stale": True},
        created_at=timezone.now() - timedelta(hours=25),
    )
    response = _post(stocked_cart, PAID, "k-1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert response.json()["status"] == "paid"
    assert idempotency.purge() == 0


def test_unexpected_error_frees_the_key(
    stocked_cart: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(**kwargs: Any) -> Order:
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(services, "checkout", crash)
        with pytest.raises(RuntimeError):
            _post(stocked_cart, PAID, "k-1")
    assert not IdempotencyRecord.objects.exists()
    response = _post(stocked_cart, PAID, "k-1")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


def test_invalid_body_is_not_recorded(stocked_cart: Customer) -> None:
    assert _post(stocked_cart, {"hold_seconds": 0}, "k-1").status_code == 400
    assert not IdempotencyRecord.objects.exists()


def test_without_a_key_every_request_runs(stocked_cart: Customer) -> None:
    first = stocked_cart.api.post(CHECKOUT, {}, format="json")
    assert first.status_code == 201
    second = stocked_cart.api.post(CHECKOUT, {}, format="json")
    assert second.status_code == 409
    assert second.json()["code"] == "cart_empty"


def test_purge_deletes_old_records() -> None:
    IdempotencyRecord.objects.create(
        user_id=1, key="old", request_hash="h", created_at=timezone.now() - timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(user_id=1, key="new", request_hash="h")
    assert idempotency.purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
