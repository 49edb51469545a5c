"""A circuit breaker per upstream: closed -> open -> half-open -> closed.

    CLOSED     every request passes; ``failures`` consecutive failures open the circuit
    OPEN       every request is refused at once (503, or the route's fallback) for
               ``open_seconds``; then the next caller moves it to HALF_OPEN
    HALF_OPEN  at most ``probes`` requests are in flight as probes; everyone else is still
               refused (no stampede on a recovering service). ``successes`` probe successes
               close it; one probe failure opens it again for another ``open_seconds``.

A caller asks :meth:`Breaker.acquire` for a :class:`Permit` and reports the outcome with
:meth:`Breaker.record`; outcomes of requests admitted before the last state change do not move
the state (a slow request admitted while CLOSED cannot close a circuit that opened since).
Single-threaded by design: one breaker lives in one event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from .table import BreakerSpec


class BreakerState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


@dataclass(frozen=True, slots=True)
class Permit:
    epoch: int  # the state change the request was admitted under
    probe: bool


Listener = Callable[[str, BreakerState], None]


class Breaker:
    def __init__(
        self,
        name: str,
        spec: BreakerSpec | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Listener | None = None,
    ) -> None:
        self.name = name
        self.spec = spec or BreakerSpec()
        self._clock = clock
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self._epoch = 0
        self._failures = 0  # consecutive, while CLOSED
        self._opened_at = 0.0
        self._probes_in_flight = 0
        self._probe_successes = 0
        self._closed_permit = Permit(0, probe=False)  # one per epoch: no allocation per call

    def retry_after(self) -> float:
        """Seconds until the circuit will let a probe through (0 when it would now)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.spec.open_seconds - self._clock())

    def acquire(self) -> Permit | None:
        """A permit to send one request, or None: refuse it (the circuit is open)."""
        if self.state is BreakerState.CLOSED:
            return self._closed_permit
        if self.state is BreakerState.OPEN:
            if self._clock() < self._opened_at + self.spec.open_seconds:
                return None
            self._move(BreakerState.HALF_OPEN)
        if self._probes_in_flight >= self.spec.probes:
            return None
        self._probes_in_flight += 1
        return Permit(self._epoch, probe=True)

    def record(self, permit: Permit, ok: bool) -> None:
        """Report how the request admitted with ``permit`` went."""
        if permit.probe and permit.epoch == self._epoch:
            self._probes_in_flight -= 1
        if permit.epoch != self._epoch:
            return  # admitted under an older state: says nothing about the current one
        if self.state is BreakerState.CLOSED:
            if ok:
                self._failures = 0
            else:
                self._failures += 1
                if self._failures >= self.spec.failures:
                    self._open()
        elif self.state is BreakerState.HALF_OPEN:
            if not ok:
                self._open()
            else:
                self._probe_successes += 1
                if self._probe_successes >= self.spec.successes:
                    self._move(BreakerState.CLOSED)

    def release(self, permit: Permit) -> None:
        """The request ended without an outcome (the client went away): free a probe slot."""
        if permit.probe and permit.epoch == self._epoch:
            self._probes_in_flight -= 1

    def health(self, ok: bool) -> None:
        """An active health check's result: failures count like requests'; a success lets an
        open circuit probe at once instead of waiting out ``open_seconds``."""
        if ok:
            if self.state is BreakerState.OPEN:
                self._move(BreakerState.HALF_OPEN)
            elif self.state is BreakerState.CLOSED:
                self._failures = 0
        elif self.state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.spec.failures:
                self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        self.state = state
        self._epoch += 1
        self._closed_permit = Permit(self._epoch, probe=False)
        self._failures = 0
        self._probes_in_flight = 0
        self._probe_successes = 0
        if self._on_change is not None:
            self._on_change(self.name, state)
