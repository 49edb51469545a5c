"""The catalog HTTP client against a real (fake) HTTP service: timeouts, retries only where
safe, the circuit breaker, and the service's problems turned back into the monolith's errors."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shop.catalog.breaker import State
from shop.catalog.client import CatalogClient, ClientConfig
from shop.catalog.errors import CatalogUnavailable, OutOfStock, ReservationExpired
from shop.common.errors import NotFound
from shop.common.fake_service import Answer, FakeService, running

pytestmark = [pytest.mark.catalog]

TOKEN = "s3rvice-token"
RID = uuid.UUID("00000000-0000-4000-8000-000000000001")
RESERVATION = {
    "id": str(RID),
    "owner_ref": "order:1",
    "status": "active",
    "expires_at": "2030-01-01T12:00:00+00:00",
    "lines": [{"sku": "TEE-M", "quantity": 2}, {"sku": "CAP", "quantity": 1}],
}
NOT_WRITER = Answer(503, {"code": "not_the_writer", "status": 503}, headers={"Retry-After": "1"})
BUG = Answer(500, {"code": "internal_error", "status": 500})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service() -> Iterator[FakeService]:
    yield from running()


MakeClient = Callable[..., CatalogClient]


@pytest.fixture
def make_client(service: FakeService) -> Iterator[MakeClient]:
    made: list[CatalogClient] = []

    def make(url: str = "", clock: Clock | None = None, **config: Any) -> CatalogClient:
        options: dict[str, Any] = {"retries": 3, "timeout": 0.3, "connect_timeout": 0.5}
        options.update(config)
        client = CatalogClient(
            ClientConfig(base_url=url or service.url, token=TOKEN, **options),
            clock=clock or Clock(),
            sleep=lambda seconds: None,  # backoff is computed, not waited
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # nobody listens once closed


def test_reserve_sends_the_call_with_the_token_and_returns_the_view(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(Answer(201, RESERVATION))

    view = make_client().stock_reserve(
        lines=[("TEE-M", 2), ("CAP", 1)], owner_ref="order:1", ttl_seconds=60
    )

    assert view.id == RID
    assert [(line.sku, line.quantity) for line in view.lines] == [("CAP", 1), ("TEE-M", 2)]
    [seen] = service.seen
    assert (seen.method, seen.path) == ("POST", "/internal/catalog/reservations")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.body["lines"] == [{"sku": "TEE-M", "quantity": 2}, {"sku": "CAP", "quantity": 1}]
    assert (seen.body["owner_ref"], seen.body["ttl_seconds"]) == ("order:1", 60)
    assert seen.body["idempotency_key"]


def test_reserve_is_retried_with_the_same_idempotency_key(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(BUG, BUG, Answer(201, RESERVATION))

    view = make_client().stock_reserve(lines=[("TEE-M", 2)], owner_ref="order:1", ttl_seconds=60)

    assert view.id == RID
    keys = {seen.body["idempotency_key"] for seen in service.seen}
    assert len(service.seen) == 3 and len(keys) == 1
    # Two separate calls are two reservations: two keys.
    service.answer(Answer(201, RESERVATION))
    make_client().stock_reserve(lines=[("TEE-M", 2)], owner_ref="order:1", ttl_seconds=60)
    assert service.seen[-1].body["idempotency_key"] not in keys


def test_restock_is_retried_after_an_error_the_service_keys_it(
    service: FakeService, make_client: MakeClient
) -> None:
    # Safe: the service puts a (reason, reference) back once (catalog_service's stock_restock).
    service.answer(BUG, Answer(204))

    make_client().stock_restock(lines=[("TEE-M", 1)], reason="refund", reference="order:1")

    assert len(service.seen) == 2
    assert {(s.body["reason"], s.body["reference"]) for s in service.seen} == {
        ("refund", "order:1")
    }


def test_a_read_timeout_is_retried_for_a_get_and_for_a_restock(
    service: FakeService, make_client: MakeClient
) -> None:
    slow = Answer(200, RESERVATION, delay=1.5)
    service.answer(slow, Answer(200, RESERVATION))
    assert make_client(timeout=0.2).reservation_get(reservation_id=RID) is not None
    assert len(service.seen) == 2

    service.answer(Answer(204, delay=1.5), Answer(204))
    make_client(timeout=0.2).stock_restock(lines=[("A", 1)], reason="r", reference="x")
    assert len(service.seen) == 4


def test_a_restock_that_keeps_failing_ends_in_catalog_unavailable(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(BUG, BUG, BUG)

    with pytest.raises(CatalogUnavailable) as failed:
        make_client(retries=3).stock_restock(lines=[("A", 1)], reason="r", reference="x")

    assert len(service.seen) == 3
    assert failed.value.status == 503 and failed.value.retry_after >= 1


def test_a_refused_connection_is_retried_even_for_a_restock(make_client: MakeClient) -> None:
    # Nothing was sent, so nothing can apply twice; it still fails after the attempts.
    client = make_client(url=_closed_port(), retries=3, breaker_failures=10)
    with pytest.raises(CatalogUnavailable, match=r"cannot connect.*attempt 3 of 3"):
        client.stock_restock(lines=[("A", 1)], reason="r", reference="x")


def test_not_the_writer_is_retried_for_any_call_and_keeps_the_breaker_closed(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(NOT_WRITER, NOT_WRITER, Answer(204))
    client = make_client(breaker_failures=1)

    client.stock_restock(lines=[("A", 1)], reason="r", reference="x")

    assert len(service.seen) == 3
    assert client.breaker.state is State.CLOSED


def test_the_breaker_opens_after_n_failures_then_fails_fast(
    service: FakeService, make_client: MakeClient
) -> None:
    clock = Clock()
    client = make_client(retries=1, breaker_failures=3, breaker_reset_seconds=10, clock=clock)
    service.answer(BUG, BUG, BUG)
    for _ in range(3):
        with pytest.raises(CatalogUnavailable):
            client.reservation_commit(reservation_id=RID)
    assert client.breaker.state is State.OPEN

    with pytest.raises(CatalogUnavailable, match="paused") as refused:
        client.reservation_commit(reservation_id=RID)
    assert len(service.seen) == 3  # the fourth call never left the monolith
    assert refused.value.retry_after == 10

    # Half-open after the reset period: one trial goes through and closes it.
    clock.now += 10
    service.answer(Answer(200, {**RESERVATION, "status": "committed"}))
    assert client.reservation_commit(reservation_id=RID).status == "committed"
    assert client.breaker.state is State.CLOSED
    assert len(service.seen) == 4


def test_a_failed_trial_opens_the_breaker_again(
    service: FakeService, make_client: MakeClient
) -> None:
    clock = Clock()
    client = make_client(retries=3, breaker_failures=1, breaker_reset_seconds=10, clock=clock)
    service.answer(BUG)
    with pytest.raises(CatalogUnavailable):
        client.reservation_get(reservation_id=RID)
    clock.now += 10
    service.answer(BUG)

    with pytest.raises(CatalogUnavailable):
        client.reservation_get(reservation_id=RID)

    # The trial failed: no retry went through the open breaker.
    assert len(service.seen) == 2
    assert client.breaker.state is State.OPEN


@pytest.mark.parametrize(
    ("answer", "error", "fields"),
    [
        (
            Answer(
                409,
                {
                    "code": "out_of_stock",
                    "detail": "SKU A: 1",
                    "sku": "A",
                    "available": 1,
                    "requested": 3,
                },
            ),
            OutOfStock,
            {"sku": "A", "available": 1, "requested": 3},
        ),
        (
            Answer(409, {"code": "reservation_expired", "reservation_id": str(RID)}),
            ReservationExpired,
            {"reservation_id": str(RID)},
        ),
        (Answer(404, {"code": "not_found", "detail": "No reservation"}), NotFound, {}),
    ],
)
def test_problems_come_back_as_the_monolith_s_own_errors(
    service: FakeService,
    make_client: MakeClient,
    answer: Answer,
    error: type[Exception],
    fields: dict[str, Any],
) -> None:
    service.answer(answer)
    client = make_client(breaker_failures=1)

    with pytest.raises(error) as raised:
        client.reservation_commit(reservation_id=RID)

    assert getattr(raised.value, "extra", {}) == fields
    assert len(service.seen) == 1  # a business answer is final
    assert client.breaker.state is State.CLOSED  # and proves the service is up


def test_an_unknown_reservation_reads_as_none(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(Answer(404, {"code": "not_found"}))
    assert make_client().reservation_get(reservation_id=RID) is None


def test_a_refused_token_is_a_503_not_a_500(service: FakeService, make_client: MakeClient) -> None:
    service.answer(Answer(401, {"code": "invalid_token"}))
    with pytest.raises(CatalogUnavailable, match="401 invalid_token"):
        make_client().reservation_get(reservation_id=RID)


def test_a_validation_problem_is_the_caller_s_value_error(
    service: FakeService, make_client: MakeClient
) -> None:
    service.answer(Answer(400, {"code": "validation_error", "detail": "Invalid input: lines."}))
    with pytest.raises(ValueError, match="lines"):
        make_client().stock_reserve(lines=[], owner_ref="o", ttl_seconds=5)


def test_a_malformed_answer_is_unavailable(service: FakeService, make_client: MakeClient) -> None:
    service.answer(Answer(200, {"id": "not-a-uuid"}))
    with pytest.raises(CatalogUnavailable, match="malformed"):
        make_client().reservation_get(reservation_id=RID)
