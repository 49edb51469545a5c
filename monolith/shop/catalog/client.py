"""The catalog service's internal API, behind the signatures of ``shop.catalog.services``.

Once the catalog service owns catalog (``ownership.owner_of("catalog").owner == "service"``),
``services.stock_reserve`` & co. and ``selectors.reservation_get`` call the functions below
instead of the local tables. Same keyword arguments, same return values (the frozen views),
same exceptions (``OutOfStock``, ``ReservationExpired``, ``NotFound``...), plus one more:
:class:`~shop.catalog.errors.CatalogUnavailable` (503 problem, with Retry-After) when the
service cannot answer.

    POST /internal/catalog/reservations              stock_reserve (idempotency_key: safe retry)
    GET  /internal/catalog/reservations/<id>         reservation_get (404 -> None)
    POST /internal/catalog/reservations/<id>/commit  reservation_commit (idempotent)
    POST /internal/catalog/reservations/<id>/release reservation_release (idempotent)
    POST /internal/catalog/restock                   stock_restock (idempotent per reason+reference)
    POST /internal/catalog/variants                  variants_get / variant_get (a read)

The last one answers the reads the local copy (a follower, a few ms behind the service) must
not settle alone: a checkout's prices, a SKU the copy does not know yet. One call per cart,
whatever its length.

Each attempt has a connect and a read timeout. Retries (jittered exponential backoff) are for
idempotent calls only, with two exceptions that are safe for any call: the connection was
refused before a byte was sent, or the service answered 503 ``not_the_writer`` (it refuses
before writing; a handover lasts under a second). Every call here is idempotent (a restock
is keyed by its reason and reference), so a timed-out one is retried too. One circuit breaker
per process guards every call.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings

from shop.common.errors import DomainError, NotFound

from .breaker import BreakerOpen, CircuitBreaker
from .errors import (
    CatalogUnavailable,
    InsufficientStock,
    OutOfStock,
    ReservationExpired,
    UnknownSku,
)
from .selectors import ReservationLineView, ReservationView, VariantView
from .serializers import SKU_PATTERN

__all__ = [
    "CatalogClient",
    "ClientConfig",
    "get_client",
    "reservation_commit",
    "reservation_get",
    "reservation_release",
    "set_client",
    "stock_reserve",
    "stock_restock",
    "variant_get",
]

PREFIX = "/internal/catalog"
_SKU = re.compile(SKU_PATTERN)
_BACKOFF_CAP = 2.0
# The service's problem codes that are the monolith's own catalog errors (same ``code``).
_ERRORS: dict[str, type[DomainError]] = {
    "out_of_stock": OutOfStock,
    "insufficient_stock": InsufficientStock,
    "reservation_expired": ReservationExpired,
    "unknown_sku": UnknownSku,
    "not_found": NotFound,
}
# Problem members that the exceptions carry as extra fields (``OutOfStock(..., sku=...)``).
_EXTRA = ("sku", "available", "requested", "reservation_id")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    base_url: str
    token: str
    connect_timeout: float = 1.0
    timeout: float = 3.0
    retries: int = 3  # attempts of a call that may be retried
    retry_base: float = 0.1
    breaker_failures: int = 5
    breaker_reset_seconds: float = 5.0

    @classmethod
    def from_settings(cls) -> ClientConfig:
        if not settings.CATALOG_URL:
            raise CatalogUnavailable(
                "The catalog service owns catalog but SHOP_CATALOG_URL is not set.",
                retry_after=30,
            )
        return cls(
            base_url=str(settings.CATALOG_URL).rstrip("/"),
            token=str(settings.CATALOG_SERVICE_TOKEN),
            connect_timeout=float(settings.CATALOG_CONNECT_TIMEOUT),
            timeout=float(settings.CATALOG_TIMEOUT),
            retries=max(1, int(settings.CATALOG_RETRIES)),
            retry_base=float(settings.CATALOG_RETRY_BASE),
            breaker_failures=int(settings.CATALOG_BREAKER_FAILURES),
            breaker_reset_seconds=float(settings.CATALOG_BREAKER_RESET_SECONDS),
        )


@dataclass(frozen=True, slots=True)
class _Failed:
    """One attempt that did not produce an answer to hand back."""

    why: str
    retry_safe: bool  # retrying cannot apply the call twice
    wait: float | None = None  # the service said when to come back (Retry-After)


class CatalogClient:
    """One per process (see :func:`get_client`): a pooled httpx client and a breaker."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.breaker = CircuitBreaker(
            failures=config.breaker_failures,
            reset_seconds=config.breaker_reset_seconds,
            clock=clock,
        )
        self._sleep = sleep
        self._jitter = jitter
        self._http = httpx.Client(
            base_url=config.base_url,
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            headers={"Authorization": f"Bearer {config.token}", "Accept": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    # --- the calls ------------------------------------------------------------------------

    def stock_reserve(
        self, *, lines: Sequence[tuple[str, int]], owner_ref: str, ttl_seconds: int
    ) -> ReservationView:
        body = {
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            "owner_ref": owner_ref,
            "ttl_seconds": ttl_seconds,
            # One key per call, reused by its retries: the service answers a retry with the
            # reservation the first attempt made instead of holding the stock twice.
            "idempotency_key": str(uuid.uuid4()),
        }
        answer = self._call("POST", f"{PREFIX}/reservations", body, idempotent=True)
        return _reservation(self._json(answer))

    def reservation_get(self, *, reservation_id: uuid.UUID) -> ReservationView | None:
        try:
            answer = self._call("GET", f"{PREFIX}/reservations/{reservation_id}", idempotent=True)
        except NotFound:
            return None
        return _reservation(self._json(answer))

    def reservation_commit(self, *, reservation_id: uuid.UUID) -> ReservationView:
        path = f"{PREFIX}/reservations/{reservation_id}/commit"
        return _reservation(self._json(self._call("POST", path, {}, idempotent=True)))

    def reservation_release(self, *, reservation_id: uuid.UUID, reason: str) -> ReservationView:
        path = f"{PREFIX}/reservations/{reservation_id}/release"
        answer = self._call("POST", path, {"reason": reason}, idempotent=True)
        return _reservation(self._json(answer))

    def stock_restock(
        self, *, lines: Sequence[tuple[str, int]], reason: str, reference: str
    ) -> None:
        body = {
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
            "reason": reason,
            "reference": reference,
        }
        # The service puts a (reason, reference) back once: a retry is safe.
        self._call("POST", f"{PREFIX}/restock", body, idempotent=True)

    def variants_get(self, *, skus: Sequence[str]) -> dict[str, VariantView | None]:
        """The service's view of each SKU, in one call: None where it sells no such SKU (unknown,
        or its product is inactive)."""
        # A SKU no variant can have is None without asking (and never reaches the service).
        asked = [sku for sku in dict.fromkeys(skus) if _SKU.fullmatch(sku)]
        found: dict[str, VariantView] = {}
        if asked:
            answer = self._json(
                self._call("POST", f"{PREFIX}/variants", {"skus": asked}, idempotent=True)
            )
            variants = answer.get("variants")
            if not isinstance(variants, list):
                raise CatalogUnavailable("The catalog service sent variants without a list.")
            found = {view.sku: view for view in map(_variant, variants)}
        return {sku: found.get(sku) for sku in skus}

    def variant_get(self, *, sku: str) -> VariantView | None:
        """:meth:`variants_get` for one SKU."""
        return self.variants_get(skus=[sku])[sku]

    # --- transport ------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool,
    ) -> httpx.Response:
        """The service's 2xx answer; a 4xx problem raised as the monolith's own error; anything
        else retried while that is safe, then :class:`CatalogUnavailable`."""
        attempts = self.config.retries
        for attempt in range(1, attempts + 1):
            try:
                self.breaker.acquire()
            except BreakerOpen as exc:
                raise CatalogUnavailable(
                    f"The catalog service is failing; calls are paused ({exc}).",
                    retry_after=math.ceil(exc.retry_after) or 1,
                ) from None
            outcome = self._attempt(method, path, body, idempotent=idempotent)
            if isinstance(outcome, httpx.Response):
                return outcome
            if not outcome.retry_safe or attempt == attempts:
                raise CatalogUnavailable(
                    f"The catalog service did not answer {method} {path}: {outcome.why} "
                    f"(attempt {attempt} of {attempts if outcome.retry_safe else 1}).",
                    retry_after=math.ceil(outcome.wait or 1),
                )
            self._sleep(self._backoff(attempt, outcome.wait))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
    ) -> httpx.Response | _Failed:
        """One request; records its outcome on the breaker exactly once."""
        recorded = False
        try:
            try:
                response = self._http.request(method, path, json=body)
            except httpx.ConnectError as exc:  # nothing was sent: safe to retry any call
                self.breaker.failure()
                recorded = True
                return _Failed(f"cannot connect ({exc})", retry_safe=True)
            except httpx.TimeoutException as exc:
                self.breaker.failure()
                recorded = True
                # A connect timeout sent nothing; a read timeout may have been applied.
                sent = not isinstance(exc, httpx.ConnectTimeout)
                return _Failed(f"timed out ({type(exc).__name__})", idempotent or not sent)
            except httpx.TransportError as exc:
                self.breaker.failure()
                recorded = True
                return _Failed(f"connection failed ({exc!r})", retry_safe=idempotent)
            problem = _problem(response)
            if response.status_code == 503 and problem.get("code") == "not_the_writer":
                # The service is up and refused before writing: a handover is in progress.
                self.breaker.success()
                recorded = True
                return _Failed(
                    "the service is not the catalog writer right now",
                    retry_safe=True,
                    wait=_retry_after(response),
                )
            if response.status_code >= 500:
                self.breaker.failure()
                recorded = True
                return _Failed(f"HTTP {response.status_code} {problem.get('code', '')}", idempotent)
            self.breaker.success()  # the service answered: any 2xx/4xx proves it is up
            recorded = True
            if response.is_success:
                return response
            raise _domain_error(response, problem)
        finally:
            if not recorded:  # an unexpected error: never leave a half-open trial hanging
                self.breaker.failure()

    def _backoff(self, attempt: int, wait: float | None) -> float:
        """Full jitter (0..base*2^n); a Retry-After from the service is waited out, capped."""
        if wait is not None:
            return min(wait, _BACKOFF_CAP) * (0.5 + self._jitter() / 2)
        return self._jitter() * min(_BACKOFF_CAP, self.config.retry_base * 2 ** (attempt - 1))

    @staticmethod
    def _json(response: httpx.Response) -> Mapping[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CatalogUnavailable(
                f"The catalog service answered {response.status_code} without a JSON object."
            )
        return data


def _problem(response: httpx.Response) -> Mapping[str, Any]:
    if response.is_success:
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _domain_error(response: httpx.Response, problem: Mapping[str, Any]) -> Exception:
    """A 4xx answer as the exception the local code would have raised."""
    code = str(problem.get("code", ""))
    detail = str(problem.get("detail") or problem.get("title") or "")
    error = _ERRORS.get(code)
    if error is not None:
        extra = {key: problem[key] for key in _EXTRA if key in problem}
        return error(detail, **extra)
    if code == "validation_error":
        # The local functions raise ValueError for arguments they refuse (empty lines,
        # quantities below 1): the caller's bug, not the customer's.
        return ValueError(f"the catalog service refused the arguments: {detail}")
    # 401/403 (a wrong SHOP_CATALOG_SERVICE_TOKEN), 404 with no problem (a wrong URL)...:
    # the monolith is misconfigured. Still a 503 for the customer, never a 500.
    return CatalogUnavailable(
        f"The catalog service refused the call: HTTP {response.status_code} {code}".rstrip(),
        retry_after=30,
    )


def _reservation(data: Mapping[str, Any]) -> ReservationView:
    try:
        return ReservationView(
            id=uuid.UUID(str(data["id"])),
            owner_ref=str(data["owner_ref"]),
            status=str(data["status"]),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
            lines=tuple(
                ReservationLineView(sku=str(line["sku"]), quantity=int(line["quantity"]))
                for line in sorted(data["lines"], key=lambda line: str(line["sku"]))
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogUnavailable(
            f"The catalog service sent a malformed reservation: {exc!r}"
        ) from exc


def _variant(item: object) -> VariantView:
    """``VariantView`` from one entry of the service's ``variants`` answer."""
    if not isinstance(item, dict):
        raise CatalogUnavailable(f"The catalog service sent a malformed SKU: {item!r}")
    try:
        return VariantView(
            sku=str(item["sku"]),
            product_slug=str(item["product_slug"]),
            product_name=str(item["product_name"]),
            variant_name=str(item["variant_name"]),
            price=Decimal(str(item["price"])),
            currency=str(item["currency"]),
            available=int(item["available"]),
            is_active=bool(item["is_active"]),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise CatalogUnavailable(f"The catalog service sent a malformed SKU: {exc!r}") from exc


# --- the process's client -----------------------------------------------------------------

_client: CatalogClient | None = None
_client_lock = threading.Lock()


def get_client() -> CatalogClient:
    """The process's client, made on first use (after gunicorn forks, so no shared sockets)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = CatalogClient(ClientConfig.from_settings())
        return _client


def set_client(client: CatalogClient | None) -> CatalogClient | None:
    """Replace the process's client (tests; a settings change). Returns the previous one."""
    global _client
    with _client_lock:
        previous, _client = _client, client
        return previous


def stock_reserve(
    *, lines: Sequence[tuple[str, int]], owner_ref: str, ttl_seconds: int
) -> ReservationView:
    return get_client().stock_reserve(lines=lines, owner_ref=owner_ref, ttl_seconds=ttl_seconds)


def reservation_get(*, reservation_id: uuid.UUID) -> ReservationView | None:
    return get_client().reservation_get(reservation_id=reservation_id)


def reservation_commit(*, reservation_id: uuid.UUID) -> ReservationView:
    return get_client().reservation_commit(reservation_id=reservation_id)


def reservation_release(*, reservation_id: uuid.UUID, reason: str) -> ReservationView:
    return get_client().reservation_release(reservation_id=reservation_id, reason=reason)


def stock_restock(*, lines: Sequence[tuple[str, int]], reason: str, reference: str) -> None:
    get_client().stock_restock(lines=lines, reason=reason, reference=reference)


def variant_get(*, sku: str) -> VariantView | None:
    return get_client().variant_get(sku=sku)


def variants_get(*, skus: Sequence[str]) -> dict[str, VariantView | None]:
    return get_client().variants_get(skus=skus)
