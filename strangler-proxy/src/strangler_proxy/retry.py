"""When a failed upstream call may be tried again, and how long to wait first.

Rules (the same the kit's service-to-service clients follow):

- only idempotent methods (RFC 9110: GET, HEAD, OPTIONS, TRACE, PUT, DELETE), and only when
  the request body is held in memory (a streamed body cannot be sent twice);
- only for a transport failure or a status the route lists (502, 503, 504 by default), and
  never once the answer has started to reach the client;
- full-jitter exponential backoff: ``uniform(0, min(backoff_max, backoff * 2**attempt))``;
- a retry budget per upstream (Finagle/Linkerd style): every request deposits ``ratio`` of a
  token, every retry spends one, plus ``min_per_second`` tokens of credit, so retries add at
  most ~``ratio`` extra load to a struggling upstream instead of multiplying it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from .table import RetrySpec

_EPSILON = 1e-9
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


def is_idempotent(method: str) -> bool:
    return method in IDEMPOTENT_METHODS


def may_retry(method: str, *, body_replayable: bool, spec: RetrySpec, attempt: int) -> bool:
    """``attempt`` counts from 0 (the first try). True when one more try is allowed."""
    return body_replayable and is_idempotent(method) and attempt + 1 < spec.attempts


def backoff(spec: RetrySpec, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before try ``attempt + 1`` (full jitter)."""
    ceiling = min(spec.backoff_max, spec.backoff * (2**attempt))
    return ceiling * rand()


class RetryBudget:
    """Two buckets: ``earned`` (``ratio`` of a token per request, at most ``cap``) and a
    ``reserve`` refilled at ``min_per_second`` (holding at most one second's worth). A retry
    spends one token, earned ones first."""

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_per_second: float = 5.0,
        cap: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.cap = cap
        self._clock = clock
        self._earned = 0.0
        self._reserve = min_per_second
        self._at = clock()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._earned + self._reserve

    def deposit(self) -> None:
        self._earned = min(self.cap, self._earned + self.ratio)

    def withdraw(self) -> bool:
        if self._earned >= 1.0 - _EPSILON:  # ratio deposits add up with rounding errors
            self._earned -= 1.0
            return True
        self._refill()
        if self._reserve >= 1.0 - _EPSILON:
            self._reserve -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = self._clock()
        elapsed, self._at = now - self._at, now
        if elapsed > 0:
            self._reserve = min(self.min_per_second, self._reserve + elapsed * self.min_per_second)
