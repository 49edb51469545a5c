from __future__ import annotations

import pytest

from shop.catalog.breaker import BreakerOpen, CircuitBreaker, State

pytestmark = [pytest.mark.catalog]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _failing(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire()
        breaker.failure()


def test_opens_after_n_failures_in_a_row_only() -> None:
    breaker = CircuitBreaker(failures=3, reset_seconds=5, clock=Clock())
    _failing(breaker, 2)
    breaker.acquire()
    breaker.success()  # a success in between starts the count again
    _failing(breaker, 2)
    assert breaker.state is State.CLOSED

    _failing(breaker, 1)

    assert breaker.state is State.OPEN
    with pytest.raises(BreakerOpen) as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(5)


def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    _failing(breaker, 1)
    clock.now += 5
    assert breaker.state is State.HALF_OPEN

    breaker.acquire()  # the trial
    for _ in range(3):  # everyone else fails fast while it is out
        with pytest.raises(BreakerOpen):
            breaker.acquire()

    breaker.success()
    assert breaker.state is State.CLOSED
    breaker.acquire()  # closed: anyone goes


def test_a_failed_trial_opens_again_for_a_full_period() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_seconds=5, clock=clock)
    _failing(breaker, 1)
    clock.now += 6
    breaker.acquire()
    breaker.failure()

    assert breaker.state is State.OPEN
    clock.now += 4.9
    with pytest.raises(BreakerOpen):
        breaker.acquire()
    clock.now += 0.1
    breaker.acquire()  # the next trial
    with pytest.raises(BreakerOpen):
        breaker.acquire()


@pytest.mark.parametrize(("failures", "reset"), [(0, 5.0), (3, 0.0)])
def test_bad_settings_are_refused(failures: int, reset: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failures=failures, reset_seconds=reset)
