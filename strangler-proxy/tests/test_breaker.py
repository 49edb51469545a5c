"""The circuit breaker: closed -> open -> half-open with a limited number of probes."""

from __future__ import annotations

from strangler_proxy.breaker import Breaker, BreakerState
from strangler_proxy.table import BreakerSpec


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(**spec: float) -> tuple[Breaker, Clock, list[tuple[str, BreakerState]]]:
    clock = Clock()
    changes: list[tuple[str, BreakerState]] = []
    fields = {"failures": 3, "open_seconds": 5.0, "probes": 2, "successes": 2, **spec}
    breaker = Breaker(
        "catalog",
        BreakerSpec(**fields),  # type: ignore[arg-type]
        clock=clock,
        on_change=lambda name, state: changes.append((name, state)),
    )
    return breaker, clock, changes


def _fail(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record(permit, False)


def test_consecutive_failures_open_the_circuit() -> None:
    breaker, _, changes = _breaker()

    _fail(breaker, 2)
    ok = breaker.acquire()
    assert ok is not None
    breaker.record(ok, True)  # a success resets the count
    _fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    _fail(breaker, 1)

    assert breaker.state is BreakerState.OPEN
    assert breaker.acquire() is None
    assert changes == [("catalog", BreakerState.OPEN)]


def test_open_circuit_lets_a_limited_number_of_probes_through_after_the_wait() -> None:
    breaker, clock, _ = _breaker()
    _fail(breaker, 3)
    clock.now += 4.9
    assert breaker.acquire() is None
    assert breaker.retry_after() == pytest_approx(0.1)

    clock.now += 0.2
    probes = [breaker.acquire() for _ in range(10)]

    admitted = [p for p in probes if p is not None]
    assert len(admitted) == 2  # not a stampede
    assert all(p.probe for p in admitted)
    assert breaker.state is BreakerState.HALF_OPEN


def test_probe_successes_close_the_circuit() -> None:
    breaker, clock, changes = _breaker()
    _fail(breaker, 3)
    clock.now += 6
    first, second = breaker.acquire(), breaker.acquire()
    assert first is not None
    assert second is not None

    breaker.record(first, True)
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(second, True)

    assert breaker.state is BreakerState.CLOSED
    assert [state for _, state in changes] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]
    assert breaker.acquire() is not None


def test_a_probe_failure_opens_it_again_for_a_full_wait() -> None:
    breaker, clock, _ = _breaker()
    _fail(breaker, 3)
    clock.now += 6
    probe = breaker.acquire()
    assert probe is not None

    breaker.record(probe, False)

    assert breaker.state is BreakerState.OPEN
    clock.now += 4
    assert breaker.acquire() is None
    clock.now += 1.5
    assert breaker.acquire() is not None


def test_a_slot_frees_when_a_probe_ends_without_an_outcome() -> None:
    breaker, clock, _ = _breaker(probes=1)
    _fail(breaker, 3)
    clock.now += 6
    probe = breaker.acquire()
    assert probe is not None
    assert breaker.acquire() is None

    breaker.release(probe)

    assert breaker.acquire() is not None


def test_outcomes_from_before_a_state_change_do_not_move_it() -> None:
    breaker, clock, _ = _breaker()
    slow = breaker.acquire()  # admitted while closed, answers much later
    assert slow is not None
    _fail(breaker, 3)
    clock.now += 6
    probe = breaker.acquire()
    assert probe is not None

    breaker.record(slow, True)
    breaker.record(slow, True)

    assert breaker.state is BreakerState.HALF_OPEN


def test_health_checks_feed_the_breaker() -> None:
    breaker, _, _ = _breaker()
    for _ in range(3):
        breaker.health(False)
    assert breaker.state is BreakerState.OPEN

    breaker.health(True)  # the service answers its health check: probe at once

    assert breaker.state is BreakerState.HALF_OPEN


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, abs=1e-6)
