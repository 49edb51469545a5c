"""Prometheus metrics of the event backbone.

    eventbus_outbox_unpublished              rows waiting for the relay (gauge, by the relay)
    eventbus_outbox_oldest_age_seconds       age of the oldest unpublished row: the lag
    eventbus_relay_published_total           messages published and confirmed
    eventbus_relay_publish_failures_total    batches the broker did not confirm (retried)
    eventbus_relay_batch_seconds             claim + publish + confirm + mark, per batch
    eventbus_consumer_messages_total         by service and outcome (applied, duplicate,
                                             stale, ignored, dead_lettered)
    eventbus_consumer_errors_total           handler failures (each attempt), by service, event
    eventbus_consumer_lag_seconds            occurred_at -> applied, by service
    eventbus_dlq_depth                       messages in a service's dead-letter queue

``serve(port)`` exposes them on http://0.0.0.0:<port>/metrics (relay and consumer take
``--metrics-port``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

OUTBOX_UNPUBLISHED = Gauge("eventbus_outbox_unpublished", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "eventbus_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row"
)
RELAY_PUBLISHED = Counter("eventbus_relay_published", "Messages published and confirmed")
RELAY_FAILURES = Counter(
    "eventbus_relay_publish_failures", "Relay batches not confirmed by the broker (retried)"
)
RELAY_BATCH_SECONDS = Histogram(
    "eventbus_relay_batch_seconds",
    "Claim, publish, confirm and mark one batch",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_MESSAGES = Counter(
    "eventbus_consumer_messages", "Messages a consumer finished", ["service", "outcome"]
)
CONSUMER_ERRORS = Counter(
    "eventbus_consumer_errors", "Handler failures (each attempt)", ["service", "event"]
)
CONSUMER_LAG = Histogram(
    "eventbus_consumer_lag_seconds",
    "From occurred_at to the effect committed",
    ["service"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DLQ_DEPTH = Gauge("eventbus_dlq_depth", "Messages in a dead-letter queue", ["service"])


def serve(port: int) -> None:
    start_http_server(port)
