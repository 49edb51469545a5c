from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from shop.payments.provider import (
    ProviderError,
    SimulatedProvider,
    get_provider,
    reset_provider,
)
from shop.payments.services import card_valid

pytestmark = [pytest.mark.payments]


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "4000000000000002",
        "4000000000009995",
        "4000000000000119",
        "4000000000000259",
        "5555555555554444",
        "378282246310005",  # 15 digits (Amex)
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
    ],
)
def test_card_valid_accepts_luhn_valid_numbers(number: str) -> None:
    assert card_valid(number) is True


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # checksum off by one
        "",
        "4242",
        "42424242424242424242",  # 20 digits
        "4242x24242424242",
        "\uff14\uff12" * 8,  # full-width digits are not ASCII digits
    ],
)
def test_card_valid_rejects(number: str) -> None:
    assert card_valid(number) is False


def test_simulated_provider_test_cards() -> None:
    provider = SimulatedProvider()
    amount = Decimal("10.00")

    ok = provider.authorize("4242424242424242", amount, "EUR", "k1")
    assert (ok.approved, ok.decline_reason) == (True, "")
    assert ok.reference.startswith("sim_")

    declined = provider.authorize("4000000000000002", amount, "EUR", "k2")
    assert (declined.approved, declined.decline_reason) == (False, "card_declined")

    funds = provider.authorize("4000000000009995", amount, "EUR", "k3")
    assert (funds.approved, funds.decline_reason) == (False, "insufficient_funds")

    with pytest.raises(ProviderError):
        provider.authorize("4000000000000119", amount, "EUR", "k4")

    other = provider.authorize("5555555555554444", amount, "EUR", "k5")
    assert other.approved is True

    invalid = provider.authorize("4242424242424241", amount, "EUR", "k6")
    assert (invalid.approved, invalid.decline_reason) == (False, "invalid_number")


def test_simulated_provider_reference_is_deterministic_per_key() -> None:
    provider = SimulatedProvider()
    first = provider.authorize("4242424242424242", Decimal("1.00"), "EUR", "same")
    again = provider.authorize("4242424242424242", Decimal("1.00"), "EUR", "same")
    other = provider.authorize("4242424242424242", Decimal("1.00"), "EUR", "other")
    assert first.reference == again.reference
    assert first.reference != other.reference


def test_slow_card_waits_then_approves(settings: Any) -> None:
    settings.PAYMENTS_SLOW_SECONDS = 0.2
    started = time.monotonic()
    result = SimulatedProvider().authorize("4000000000000259", Decimal("1.00"), "EUR", "slow")
    assert time.monotonic() - started >= 0.2
    assert result.approved is True


def test_provider_is_loaded_once_from_settings(settings: Any) -> None:
    reset_provider()
    try:
        assert isinstance(get_provider(), SimulatedProvider)
        assert get_provider() is get_provider()
        settings.PAYMENTS_PROVIDER = "shop.payments.tests.fakes.CountingProvider"
        assert type(get_provider()).__name__ == "CountingProvider"
    finally:
        reset_provider()
