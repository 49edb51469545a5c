"""Test doubles for the provider, loaded through settings.PAYMENTS_PROVIDER."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from shop.payments.provider import ProviderError, ProviderResult, SimulatedProvider


class CountingProvider:
    """The simulated provider, recording every call and whether a transaction was open."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.in_transaction: list[bool] = []
        self.fail_next: set[str] = set()
        self._inner = SimulatedProvider()

    def _record(self, action: str, subject: str) -> None:
        self.calls.append((action, subject))
        self.in_transaction.append(connection.in_atomic_block)
        if action in self.fail_next:
            self.fail_next.discard(action)
            raise ProviderError(f"fake {action} failure")

    def authorize(
        self, card_number: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> ProviderResult:
        self._record("authorize", idempotency_key)
        return self._inner.authorize(card_number, amount, currency, idempotency_key)

    def capture(self, reference: str, amount: Decimal) -> ProviderResult:
        self._record("capture", reference)
        return self._inner.capture(reference, amount)

    def void(self, reference: str) -> ProviderResult:
        self._record("void", reference)
        return self._inner.void(reference)

    def refund(self, reference: str, amount: Decimal) -> ProviderResult:
        self._record("refund", reference)
        return self._inner.refund(reference, amount)
