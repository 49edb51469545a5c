"""The service for real, started the way the stage verbs start it (stages.processes): gunicorn
with extracted/notifications/gunicorn.conf.py, its consumer and relay as ``manage.py consume
notifications`` / ``manage.py relay``, beside a real monolith (its JWKS verifies the tokens; its
relay publishes the user and order events; its consumer follows this service's
NotificationSent), and the strangler proxy routing /api/notifications to the service: the state
after stage 1's flip. The behaviour suite's notification tests run through the proxy unchanged.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stages.handover import queue_exists
from stages.processes import (
    DEFAULT_STAFF_EMAIL,
    DEFAULT_STAFF_PASSWORD,
    MONOLITH_DIR,
    REPO_DIR,
    MonolithConfig,
    ServiceConfig,
    background,
    manage,
    monolith_prepare,
    monolith_start,
    service_manage,
    service_prepare,
    service_start,
)
from strangler_proxy.testing import ProxyProcess

pytestmark = [pytest.mark.notifications, pytest.mark.slow]

ROUTES = """\
upstreams:
  monolith: {{url: "{monolith}"}}
  notifications: {{url: "{service}"}}
default: monolith
routes:
  notifications: {{prefixes: [/api/notifications], mode: service}}
"""
# The behaviour tests that read notifications (the journey, the orders' messages, isolation).
BEHAVIOUR = ["tests/behaviour/test_journey.py", "tests/behaviour/test_orders.py"]
SECURITY = "tests/behaviour/test_security.py"


@dataclass
class Live:
    proxy: str
    monolith: str
    service: str
    sink: Path
    monolith_db: str


def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll until ``check()`` is truthy (events cross processes); fail saying what we waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"waited {timeout:.0f}s for {what}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("notifications-live")
    broker = f"filesystem://{base / 'broker'}"
    sink = base / "sink"
    mono = MonolithConfig(
        var_dir=base / "monolith",
        workers=1,
        threads=8,
        extra_env={
            "SHOP_BROKER_URL": broker,
            "SHOP_NOTIFICATIONS_SINK": f"dir:{sink}",  # one sink, de-duplicated by id
            "SHOP_PAYMENTS_SLOW_SECONDS": "0.3",
        },
    )
    svc = ServiceConfig(
        "notifications",
        base / "service",
        broker_url=broker,
        jwks_url=f"{mono.base_url}/api/users/jwks.json",
        monolith_url=mono.base_url,
        workers=2,
        threads=4,
        # This process runs with test_settings' NOTIFICATIONS_* in its environment and the
        # children inherit it: name every one ServiceConfig leaves out when empty.
        extra_env={
            "NOTIFICATIONS_SINK": str(sink),
            "NOTIFICATIONS_EVENTBUS_PREFIX": "",
            "NOTIFICATIONS_DATABASE_URL": f"sqlite:///{base / 'service' / 'n.sqlite3'}",
        },
    )
    monolith_prepare(mono)
    service_prepare(svc)
    # After the flip: the service writes notifications, the monolith follows.
    service_manage(svc, "ownership", "set", "notifications", "service", "--why", "live test")
    manage(mono, "ownership", "set", "notifications", "service", "--why", "live test")

    py = sys.executable
    mono_env = {**mono.env(), "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    logs = base / "logs"
    helpers = [
        background(
            "notifications-consumer",
            [py, str(svc.directory / "manage.py"), "consume", "notifications"],
            env=svc.env(),
            cwd=svc.directory,
            log_path=logs / "notifications-consumer.log",
        ),
        background(
            "monolith-consumer",
            [py, "-m", "eventbus", "consume", "--service", "monolith"],
            env=mono_env,
            cwd=MONOLITH_DIR,
            log_path=logs / "monolith-consumer.log",
        ),
    ]
    servers = []
    try:
        for side in ("notifications", "monolith"):  # queues exist before anything publishes
            eventually(lambda s=side: queue_exists(broker, "", s), f"the {side} queue")
        helpers += [
            background(
                "notifications-relay",
                [py, str(svc.directory / "manage.py"), "relay"],
                env=svc.env(),
                cwd=svc.directory,
                log_path=logs / "notifications-relay.log",
            ),
            background(
                "monolith-relay",
                [py, "-m", "eventbus", "relay"],
                env=mono_env,
                cwd=MONOLITH_DIR,
                log_path=logs / "monolith-relay.log",
            ),
        ]
        servers.append(monolith_start(mono))
        servers.append(service_start(svc))
        routes = base / "routes.yaml"
        routes.write_text(ROUTES.format(monolith=mono.base_url, service=svc.base_url))
        with ProxyProcess(base / "proxy", "--routes", str(routes), "--workers", "1") as proxy:
            yield Live(proxy.url, mono.base_url, svc.base_url, sink, mono.database_url)
    finally:
        for server in reversed(servers):
            server.stop()
        for process in helpers:
            process.terminate()
        for process in helpers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_service_notifies_an_order_placed_at_the_monolith(live: Live) -> None:
    with (
        httpx.Client(base_url=live.proxy, timeout=30) as proxy,
        httpx.Client(base_url=live.service, timeout=30) as service,
    ):
        notification_id = journey(proxy, service, live.sink)

    # ... and the monolith's copy follows (the service's NotificationSent, its consumer)
    path = live.monolith_db.removeprefix("sqlite:///")

    def copied() -> list[tuple[str, str]]:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(
                "SELECT kind, status FROM notifications_notification WHERE replace(id, '-', '') = ?",
                [notification_id.replace("-", "")],
            ).fetchall()

    assert eventually(copied, "the monolith to follow the service") == [
        ("order_placed", "delivered")
    ]


def journey(proxy: httpx.Client, service: httpx.Client, sink: Path) -> str:
    """Returns the id of the notification the service made."""
    assert service.get("/health/ready").json()["checks"] == {"database": "ok", "broker": "ok"}

    # a customer registers at the monolith; the service verifies its token through the JWKS
    email = f"live-{uuid.uuid4().hex[:8]}@shop.test"
    password = "a-long-pass-123"
    registered = proxy.post(
        "/api/users/register", json={"email": email, "password": password, "name": "Lee"}
    )
    assert registered.status_code == 201, registered.text
    login = proxy.post("/api/users/login", json={"email": email, "password": password})
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    empty = service.get("/api/notifications", headers=auth)
    assert empty.status_code == 200, empty.text
    assert empty.json()["count"] == 0
    forged = {"Authorization": auth["Authorization"] + "x"}
    bad = service.get("/api/notifications", headers=forged)
    assert (bad.status_code, bad.headers["content-type"]) == (401, "application/problem+json")

    # staff stocks a product; the customer checks out without paying: OrderPlaced
    staff_login = proxy.post(
        "/api/users/login", json={"email": DEFAULT_STAFF_EMAIL, "password": DEFAULT_STAFF_PASSWORD}
    )
    staff = {"Authorization": f"Bearer {staff_login.json()['access_token']}"}
    sku = f"LIVE-{uuid.uuid4().hex[:6].upper()}"
    variant = {"sku": sku, "name": "M", "price": "12.50", "currency": "EUR", "on_hand": 5}
    product = {"slug": sku.lower(), "name": "Live", "description": "live", "variants": [variant]}
    created = proxy.post("/api/catalog/products", headers=staff, json=product)
    assert created.status_code == 201, created.text
    added = proxy.post("/api/cart/items", headers=auth, json={"sku": sku, "quantity": 1})
    assert added.status_code == 201, added.text
    order = proxy.post("/api/orders/checkout", headers=auth, json={})
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]

    def notified() -> list[dict[str, Any]]:
        rows = proxy.get("/api/notifications", headers=auth).json()["results"]
        return [r for r in rows if r["reference"] == order_id]

    rows = eventually(notified, "the service to notify the order placed at the monolith")
    assert [(r["kind"], r["status"]) for r in rows] == [("order_placed", "delivered")]
    assert rows[0]["body"].startswith("Hello Lee,") and "of 12.50 EUR" in rows[0]["body"]
    assert (sink / f"{rows[0]['id']}.json").exists()

    metrics = service.get("/metrics").text
    assert 'route="/api/notifications",status="200"' in metrics
    return str(rows[0]["id"])


@pytest.mark.parametrize("path", [*BEHAVIOUR, SECURITY])
def test_the_behaviour_suite_passes_through_the_proxy(live: Live, path: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            path,
            "--target",
            live.proxy,
            "--staff-email",
            DEFAULT_STAFF_EMAIL,
            "--staff-password",
            DEFAULT_STAFF_PASSWORD,
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=REPO_DIR,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
