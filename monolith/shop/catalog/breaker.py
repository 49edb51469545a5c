"""A circuit breaker for the calls the monolith makes to the catalog service.

    closed --(``failures`` failures in a row)--> open --(``reset_seconds`` later)--> half-open
    half-open: ONE caller (the trial) goes through, every other caller fails fast;
               the trial succeeds -> closed, fails -> open for another ``reset_seconds``.

Letting every caller through when half-open (the book's sketch) sends a burst at a service
that is just coming back; one trial is enough to learn whether it is up. Every ``acquire()``
that returns must be followed by exactly one ``success()`` or ``failure()``, or the trial
slot stays taken: the client does that in a ``try/finally``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["BreakerOpen", "CircuitBreaker", "State"]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(Exception):
    """The call was refused without being tried. ``retry_after``: seconds until a trial."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open; next trial in {retry_after:.1f}s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Thread-safe (gunicorn's gthread workers share one per process)."""

    def __init__(
        self,
        *,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset_seconds <= 0:
            raise ValueError("failures >= 1 and reset_seconds > 0")
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_out = False  # half-open: the one trial call is in flight

    @property
    def state(self) -> State:
        """The state a caller arriving now would see (open turns half-open once due)."""
        with self._lock:
            if self._state is State.OPEN and self._due():
                return State.HALF_OPEN
            return self._state

    def _due(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_seconds

    def acquire(self) -> None:
        """Raise :class:`BreakerOpen` unless this caller may call the service now."""
        with self._lock:
            if self._state is State.CLOSED:
                return
            if self._state is State.OPEN:
                if not self._due():
                    raise BreakerOpen(self.reset_seconds - (self._clock() - self._opened_at))
                self._state = State.HALF_OPEN
                self._trial_out = False
            if self._trial_out:
                raise BreakerOpen(0.0)  # someone else is the trial; its outcome decides
            self._trial_out = True

    def success(self) -> None:
        with self._lock:
            self._state = State.CLOSED
            self._failures = 0
            self._trial_out = False

    def failure(self) -> None:
        with self._lock:
            self._trial_out = False
            if self._state is State.HALF_OPEN:
                self._open()
                return
            self._failures += 1
            if self._state is State.CLOSED and self._failures >= self.threshold:
                self._open()

    def _open(self) -> None:
        self._state = State.OPEN
        self._opened_at = self._clock()
        self._failures = 0
