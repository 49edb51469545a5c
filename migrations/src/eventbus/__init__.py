"""eventbus: the kit's event backbone. Nothing lost, nothing applied twice.

    business transaction                relay process                   consumer process
    ───────────────────                 ─────────────                   ────────────────
    write aggregate                     claim unpublished rows          kit.<service> queue
    outbox.publish(event) ──row──►      (SKIP LOCKED, in id order) ──►  (late ack, prefetch n)
    [NOTIFY at commit] ───wake-up──►    publish batch, wait confirms    handle_once: inbox +
                                        mark published                  version + effect, 1 tx
                                             │ kit.events (topic)       retries ─► kit.<svc>.dlx
                                                                                     ► .dlq

    outbox/      Django app: OutboxMessage, publish() (must run inside transaction.atomic)
    inbox/       Django app: InboxRecord, AggregateVersion, handle_once() and the gap rule
    topology.py  exchange, one durable queue per service, DLX + DLQ per queue
    broker.py    connections (amqp:// or filesystem:///folder) and the confirmed Publisher
    fstransport  the embedded broker: kombu's filesystem transport with real acks
    relay.py     outbox -> broker          consumer.py  broker -> handlers (registry)
    ops.py       outbox status, dlq list/show/redrive, replay    metrics.py  Prometheus
    tracing.py   W3C traceparent through outbox rows and message headers

Entry points: ``python -m eventbus relay`` and ``python -m eventbus consume --service NAME``
(Django settings from DJANGO_SETTINGS_MODULE), or ``strangler relay`` / ``strangler consume``.
"""
