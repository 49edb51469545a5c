from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from shop.payments import services
from shop.payments.provider import get_provider, reset_provider
from shop.payments.tests.fakes import CountingProvider

APPROVE = "4242424242424242"


@pytest.fixture
def fake_provider(settings: Any) -> Iterator[CountingProvider]:
    settings.PAYMENTS_PROVIDER = "shop.payments.tests.fakes.CountingProvider"
    reset_provider()
    provider = get_provider()
    assert isinstance(provider, CountingProvider)
    yield provider
    reset_provider()


@pytest.fixture
def authorize() -> Callable[..., services.PaymentView]:
    """payment_authorize with sensible defaults; override any keyword."""

    def call(**overrides: Any) -> services.PaymentView:
        args: dict[str, Any] = {
            "order_id": uuid.uuid4(),
            "user_id": 1,
            "amount": Decimal("12.50"),
            "currency": "EUR",
            "card_number": APPROVE,
            "idempotency_key": uuid.uuid4().hex,
        }
        args.update(overrides)
        return services.payment_authorize(**args)

    return call
