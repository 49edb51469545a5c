"""The consumer in process, on the embedded broker: batches, retries, dead letters, tracing.

The handlers' effect is a real write (a follow-up event into the outbox), so "applied once"
is counted in the database.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.db import transaction
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY

from contracts.events import StockChanged
from eventbus import ops, tracing
from eventbus.broker import Outgoing, Publisher
from eventbus.consumer import EventConsumer, Handlers
from eventbus.inbox.services import Ordering
from eventbus.outbox import publish
from eventbus.outbox.models import OutboxMessage
from eventbus.relay import Relay
from eventbus.topology import Topology

SERVICE = "follower"


class Env:
    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology
        self.registry = Handlers()
        self.failing: set[str] = set()

        @self.registry.on(StockChanged, service=SERVICE, ordering=Ordering.NEWER)
        def follow(event: StockChanged) -> None:
            if event.sku in self.failing:
                raise RuntimeError(f"cannot follow {event.sku}")
            publish(
                StockChanged(
                    sku=f"follow-{event.sku}",
                    on_hand=event.on_hand,
                    reserved=0,
                    available=event.on_hand,
                    aggregate_version=event.aggregate_version,
                )
            )

    def relay(self) -> int:
        relay = Relay(url=self.url, topology=self.topology)
        try:
            return relay.drain()
        finally:
            relay.publisher.close()

    def consume(self, **options: object) -> dict[str, int]:
        consumer = EventConsumer(
            service=SERVICE,
            url=self.url,
            topology=self.topology,
            registry=self.registry,
            retries=3,
            retry_base=0.01,
            retry_max=0.02,
            **options,  # type: ignore[arg-type]
        )
        return dict(consumer.run_until_idle(idle_seconds=0.5, max_seconds=30))

    def effects(self) -> list[tuple[str, int]]:
        return list(
            OutboxMessage.objects.filter(aggregate_id__startswith="follow-")
            .order_by("id")
            .values_list("aggregate_id", "aggregate_version")
        )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    topology = Topology(
        prefix=f"t{uuid.uuid4().hex[:8]}.", subscriptions={SERVICE: ("catalog.inventory.*",)}
    )
    return Env(f"filesystem://{tmp_path / 'broker'}", topology)


def stock(sku: str, version: int) -> StockChanged:
    return StockChanged(
        sku=sku, on_hand=version * 10, reserved=0, available=version * 10, aggregate_version=version
    )


@pytest.mark.django_db
def test_a_batch_with_one_failing_event_applies_the_rest_once_and_parks_the_failure(
    env: Env,
) -> None:
    env.failing.add("B")
    with transaction.atomic():
        publish(*(stock(sku, v) for v in (1, 2, 3) for sku in ("A", "B", "C")))
    assert env.relay() == 9
    tally = env.consume(prefetch=50)
    assert tally == {"applied": 6, "dead_lettered": 3}
    assert sorted(env.effects()) == [(f"follow-{s}", v) for s in ("A", "C") for v in (1, 2, 3)]
    letters = ops.dlq_list(service=SERVICE, topology=env.topology, url=env.url)
    assert [(json.loads(v.body)["payload"]["sku"], v.attempts, v.error_type) for v in letters] == [
        ("B", 3, "RuntimeError")
    ] * 3
    assert letters[0].error == "cannot follow B"

    env.failing.clear()
    assert len(ops.dlq_redrive(service=SERVICE, topology=env.topology, url=env.url)) == 3
    assert env.consume() == {"applied": 3}
    assert sorted(env.effects())[3:6] == [("follow-B", 1), ("follow-B", 2), ("follow-B", 3)]
    assert ops.dlq_list(service=SERVICE, topology=env.topology, url=env.url) == []


@pytest.mark.django_db
def test_duplicates_and_late_versions_are_acknowledged_without_effect(env: Env) -> None:
    events = [stock("A", v) for v in (1, 2, 3)]
    with transaction.atomic():
        publish(*events)
    env.relay()
    with Publisher(env.url) as publisher:  # a redelivery storm, in the wrong order
        publisher.publish(
            [
                Outgoing(
                    body=e.to_json(),
                    routing_key=env.topology.queue_name(SERVICE),
                    message_id=str(e.event_id),
                    exchange="",
                )
                for e in (events[2], events[0], events[1], events[2])
            ],
            exchange="",
        )
    assert env.consume() == {"applied": 3, "duplicate": 4}
    assert env.effects() == [("follow-A", 1), ("follow-A", 2), ("follow-A", 3)]


@pytest.mark.django_db
def test_undecodable_and_unknown_messages(env: Env) -> None:
    queue = env.topology.queue_name(SERVICE)
    unknown = json.loads(stock("A", 1).to_json())
    unknown["name"] = "catalog.inventory.counted"
    bad_payload = json.loads(stock("Z", 1).to_json())
    bad_payload["payload"]["on_hand"] = "many"
    with Publisher(env.url) as publisher:
        env.topology.declare(publisher.channel)
        publisher.publish(
            [
                Outgoing(body=b"{not json", routing_key=queue, message_id="x1", exchange=""),
                Outgoing(
                    body=json.dumps(unknown).encode(),
                    routing_key=queue,
                    message_id="x2",
                    exchange="",
                ),
                Outgoing(
                    body=json.dumps(bad_payload).encode(),
                    routing_key=queue,
                    message_id="x3",
                    exchange="",
                ),
            ],
            exchange="",
        )
    assert env.consume() == {"dead_lettered": 2, "ignored": 1}
    letters = ops.dlq_list(service=SERVICE, topology=env.topology, url=env.url)
    assert [(v.error_type, v.attempts) for v in letters] == [("EventError", 0), ("EventError", 0)]
    assert "not JSON" in letters[0].error
    assert "'many' is not an integer" in letters[1].error
    assert (
        ops.dlq_show(
            service=SERVICE, event_id=letters[1].event_id, topology=env.topology, url=env.url
        )
        == letters[1]
    )
    assert ops.dlq_depth(service=SERVICE, topology=env.topology, url=env.url) == 2


@pytest.mark.django_db
def test_one_trace_from_the_request_through_outbox_relay_and_consumer(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("eventbus"))
    http = provider.get_tracer("http")
    with (
        http.start_as_current_span("POST /api/catalog/stock", kind=SpanKind.SERVER) as request,
        transaction.atomic(),
    ):
        publish(stock("A", 1))
    trace_id = request.get_span_context().trace_id
    row = OutboxMessage.objects.get(aggregate_id="A")
    assert row.headers["traceparent"].split("-")[1] == f"{trace_id:032x}"

    env.relay()
    assert env.consume() == {"applied": 1}
    spans = {span.name: span for span in exporter.get_finished_spans()}
    producer = spans["catalog.inventory.stock_changed publish"]
    consumer = spans["catalog.inventory.stock_changed process"]
    assert producer.kind is SpanKind.PRODUCER
    assert consumer.kind is SpanKind.CONSUMER
    assert {span.context.trace_id for span in spans.values()} == {trace_id}
    assert producer.parent.span_id == request.get_span_context().span_id
    assert consumer.parent.span_id == producer.context.span_id
    # The consumer's own follow-up event continues the same trace.
    follow = OutboxMessage.objects.get(aggregate_id="follow-A")
    assert follow.headers["traceparent"].split("-")[1:3] == [
        f"{trace_id:032x}",
        f"{consumer.context.span_id:016x}",
    ]


@pytest.mark.django_db
def test_metrics_count_what_happened(env: Env) -> None:
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        value("eventbus_relay_published_total"),
        value("eventbus_consumer_messages_total", service=SERVICE, outcome="applied"),
        value(
            "eventbus_consumer_errors_total",
            service=SERVICE,
            event="catalog.inventory.stock_changed",
        ),
    )
    env.failing.add("B")
    with transaction.atomic():
        publish(stock("A", 1), stock("B", 1))
    env.relay()
    env.consume()
    after = (
        value("eventbus_relay_published_total"),
        value("eventbus_consumer_messages_total", service=SERVICE, outcome="applied"),
        value(
            "eventbus_consumer_errors_total",
            service=SERVICE,
            event="catalog.inventory.stock_changed",
        ),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 1.0, 3.0]
    assert value("eventbus_consumer_lag_seconds_count", service=SERVICE) >= 1
