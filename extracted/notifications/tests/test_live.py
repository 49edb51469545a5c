"""The service for real, started the way the stage verbs start it (stages.processes): gunicorn
with extracted/notifications/gunicorn.conf.py, its consumer as ``manage.py consume
notifications``, beside a real monolith whose JWKS verifies the tokens and whose relay
publishes the user and order events to the shared embedded broker."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from stages.processes import (
    DEFAULT_STAFF_EMAIL,
    DEFAULT_STAFF_PASSWORD,
    MonolithConfig,
    Server,
    ServiceConfig,
    background,
    monolith_prepare,
    monolith_start,
    service_manage,
    service_prepare,
    service_start,
)

pytestmark = [pytest.mark.notifications, pytest.mark.slow]
PATTERNS = ("orders.order.*", "notifications.notification.sent", "users.user.*")


def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until ``check()`` is truthy (events cross processes); fail saying what we waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"waited {timeout:.0f}s for {what}")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    broker = f"filesystem://{tmp_path / 'broker'}"
    prefix = f"live{uuid.uuid4().hex[:8]}."
    processes: list[Any] = []
    mono = MonolithConfig(
        var_dir=tmp_path / "monolith",
        workers=1,
        threads=4,
        extra_env={"SHOP_BROKER_URL": broker, "SHOP_EVENTBUS_PREFIX": prefix},
    )
    monolith_prepare(mono)
    monolith: Server = monolith_start(mono)
    processes.append(monolith)
    svc = ServiceConfig(
        "notifications",
        tmp_path / "service",
        broker_url=broker,
        eventbus_prefix=prefix,
        jwks_url=f"{monolith.base_url}/api/users/jwks.json",
        monolith_url=monolith.base_url,
        workers=2,
        threads=4,
        # (the test process's own NOTIFICATIONS_* settings must not leak into the service)
        extra_env={
            "NOTIFICATIONS_SINK": str(tmp_path / "sink"),
            "NOTIFICATIONS_DATABASE_URL": f"sqlite:///{tmp_path / 'service' / 'n.sqlite3'}",
        },
    )
    try:
        service_prepare(svc)
        service_manage(svc, "ownership", "set", "notifications", "service", "--why", "live test")
        # The service's queue exists before the monolith publishes (stage step 1 does this).
        service_manage(svc, "shell", "-c", _DECLARE)
        processes.append(service_start(svc))
        env = svc.env()
        processes.append(
            background(
                "consumer",
                [sys.executable, str(svc.directory / "manage.py"), "consume", "notifications"],
                env=env,
                cwd=svc.directory,
                log_path=tmp_path / "consumer.log",
            )
        )
        processes.append(
            background(
                "relay",
                [sys.executable, "-m", "eventbus", "relay"],
                env=mono.env(),
                cwd=mono.var_dir,
                log_path=tmp_path / "relay.log",
            )
        )
        yield {"monolith": monolith.base_url, "service": svc.base_url, "sink": tmp_path / "sink"}
    finally:
        for process in reversed(processes):
            if isinstance(process, Server):
                process.stop()
            else:
                process.terminate()
                process.wait(15)


_DECLARE = (
    "from eventbus.broker import connect; from eventbus.topology import Topology; "
    "c = connect(__import__('django.conf').conf.settings.BROKER_URL); "
    "Topology.from_settings().declare(c.channel(), ['notifications']); c.release()"
)


def test_the_service_serves_and_notifies_from_the_monoliths_events(
    stack: dict[str, Any],
) -> None:
    with (
        httpx.Client(base_url=stack["monolith"], timeout=30) as mono,
        httpx.Client(base_url=stack["service"], timeout=30) as service,
    ):
        journey(mono, service, stack["sink"])


def journey(mono: httpx.Client, service: httpx.Client, sink: Path) -> None:

    assert service.get("/health/ready").json()["checks"] == {"database": "ok", "broker": "ok"}

    # a customer registers at the monolith; its token is verified by the service via the JWKS
    email = f"live-{uuid.uuid4().hex[:8]}@shop.test"
    assert mono.post(
        "/api/users/register", json={"email": email, "password": "a-long-pass-123", "name": "Lee"}
    ).status_code in (200, 201)
    login = mono.post("/api/users/login", json={"email": email, "password": "a-long-pass-123"})
    token = login.json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    empty = service.get("/api/notifications", headers=auth)
    assert empty.status_code == 200, empty.text
    assert empty.json()["count"] == 0
    bad = service.get("/api/notifications", headers={"Authorization": f"Bearer {token}x"})
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"

    # staff stocks a product; the customer checks out without paying: OrderPlaced
    staff_login = mono.post(
        "/api/users/login", json={"email": DEFAULT_STAFF_EMAIL, "password": DEFAULT_STAFF_PASSWORD}
    )
    staff = {"Authorization": f"Bearer {staff_login.json()['access_token']}"}
    sku = f"LIVE-{uuid.uuid4().hex[:6].upper()}"
    created = mono.post(
        "/api/catalog/products",
        headers=staff,
        json={
            "slug": sku.lower(),
            "name": "Live",
            "description": "live test",
            "variants": [
                {"sku": sku, "name": "M", "price": "12.50", "currency": "EUR", "on_hand": 5}
            ],
        },
    )
    assert created.status_code == 201, created.text
    assert (
        mono.post("/api/cart/items", headers=auth, json={"sku": sku, "quantity": 1}).status_code
        == 201
    )
    order = mono.post("/api/orders/checkout", headers=auth, json={})
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]

    def notified() -> list[dict[str, Any]]:
        rows = service.get("/api/notifications", headers=auth).json()["results"]
        return [r for r in rows if r["reference"] == order_id]

    rows = eventually(notified, "the service to notify the order placed at the monolith")
    assert [(r["kind"], r["status"]) for r in rows] == [("order_placed", "delivered")]
    assert "of 12.50 EUR" in rows[0]["body"] and rows[0]["body"].startswith("Hello Lee,")
    delivered = list(sink.glob("*.json"))
    assert [p.stem for p in delivered] == [rows[0]["id"]]

    metrics = service.get("/metrics").text
    assert 'route="/api/notifications",status="200"' in metrics
