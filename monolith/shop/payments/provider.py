"""The payment provider interface, and the simulated provider that the kit ships.

A real provider (a PSP's HTTP API) implements :class:`PaymentProvider` and is named by
``settings.PAYMENTS_PROVIDER``; nothing else in the app knows which one is plugged in.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string

from .cards import card_valid


class ProviderError(Exception):
    """The provider failed (timeout, 5xx, garbage answer): nothing was charged."""


@dataclass(frozen=True, slots=True)
class ProviderResult:
    approved: bool
    reference: str
    decline_reason: str = ""


class PaymentProvider(Protocol):
    def authorize(
        self, card_number: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ProviderResult: ...

    def capture(self, reference: str, amount: Decimal) -> ProviderResult: ...

    def void(self, reference: str) -> ProviderResult: ...

    def refund(self, reference: str, amount: Decimal) -> ProviderResult: ...


APPROVED: Final = "approved"
DECLINED_CARD: Final = "card_declined"
DECLINED_FUNDS: Final = "insufficient_funds"
PROVIDER_ERROR: Final = "provider_error"
SLOW: Final = "slow"

# The test cards (docs/api.md); any other Luhn-valid number is approved.
TEST_CARDS: Final[dict[str, str]] = {
    "4242424242424242": APPROVED,
    "4000000000000002": DECLINED_CARD,
    "4000000000009995": DECLINED_FUNDS,
    "4000000000000119": PROVIDER_ERROR,
    "4000000000000259": SLOW,
}


class SimulatedProvider:
    """Deterministic: the outcome depends only on the card number, and the reference only on
    the idempotency key (so a retried authorisation names the same provider-side object)."""

    def authorize(
        self, card_number: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ProviderResult:
        reference = "sim_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        if not card_valid(card_number):
            return ProviderResult(
                approved=False, reference=reference, decline_reason="invalid_number"
            )
        outcome = TEST_CARDS.get(card_number, APPROVED)
        if outcome == PROVIDER_ERROR:
            raise ProviderError("simulated provider error (test card 4000000000000119)")
        if outcome == SLOW:
            time.sleep(float(settings.PAYMENTS_SLOW_SECONDS))
        if outcome in (DECLINED_CARD, DECLINED_FUNDS):
            return ProviderResult(approved=False, reference=reference, decline_reason=outcome)
        return ProviderResult(approved=True, reference=reference)

    def capture(self, reference: str, amount: Decimal) -> ProviderResult:
        return ProviderResult(approved=True, reference=reference)

    def void(self, reference: str) -> ProviderResult:
        return ProviderResult(approved=True, reference=reference)

    def refund(self, reference: str, amount: Decimal) -> ProviderResult:
        return ProviderResult(approved=True, reference=reference)


@functools.cache
def _load(dotted_path: str) -> PaymentProvider:
    return cast(PaymentProvider, import_string(dotted_path)())


def get_provider() -> PaymentProvider:
    """The configured provider: imported and instantiated once per process (per dotted path,
    so ``override_settings(PAYMENTS_PROVIDER=...)`` in tests picks up the fake)."""
    return _load(str(settings.PAYMENTS_PROVIDER))


def reset_provider() -> None:
    """Forget the loaded provider instances (tests)."""
    _load.cache_clear()
