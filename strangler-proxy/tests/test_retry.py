"""Retry rules: idempotent methods only, replayable bodies only, jittered backoff, a budget."""

from __future__ import annotations

import pytest

from strangler_proxy.retry import RetryBudget, backoff, is_idempotent, may_retry
from strangler_proxy.table import RetrySpec


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
def test_idempotent_methods_may_be_retried(method: str) -> None:
    spec = RetrySpec(attempts=3)

    assert is_idempotent(method)
    assert may_retry(method, body_replayable=True, spec=spec, attempt=0)
    assert may_retry(method, body_replayable=True, spec=spec, attempt=1)
    assert not may_retry(method, body_replayable=True, spec=spec, attempt=2)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_writes_that_are_not_idempotent_are_never_retried(method: str) -> None:
    assert not is_idempotent(method)
    assert not may_retry(method, body_replayable=True, spec=RetrySpec(attempts=5), attempt=0)


def test_a_streamed_body_cannot_be_sent_twice() -> None:
    assert not may_retry("PUT", body_replayable=False, spec=RetrySpec(attempts=5), attempt=0)


def test_attempts_one_means_no_retry() -> None:
    assert not may_retry("GET", body_replayable=True, spec=RetrySpec(attempts=1), attempt=0)


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    spec = RetrySpec(backoff=0.1, backoff_max=0.5)

    assert backoff(spec, 0, rand=lambda: 0.0) == 0.0
    assert backoff(spec, 0, rand=lambda: 0.999) == pytest.approx(0.0999)
    assert backoff(spec, 1, rand=lambda: 0.999) == pytest.approx(0.1998)
    assert backoff(spec, 5, rand=lambda: 0.999) == pytest.approx(0.4995)  # capped
    delays = {backoff(spec, 2) for _ in range(50)}
    assert len(delays) > 40
    assert all(0 <= d < 0.4 for d in delays)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_allows_a_ratio_of_retries_plus_a_small_reserve() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_second=2, clock=clock)

    for _ in range(50):
        budget.deposit()  # 50 requests earn 10 retries
    allowed = sum(budget.withdraw() for _ in range(100))

    assert allowed == 12  # 10 earned + the 2-token reserve
    assert not budget.withdraw()
    clock.now += 0.5
    assert budget.withdraw()  # the reserve refills at 2/s
    assert not budget.withdraw()


def test_the_reserve_does_not_pile_up_while_idle() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.2, min_per_second=3, clock=clock)
    clock.now += 3600

    assert sum(budget.withdraw() for _ in range(100)) == 3
