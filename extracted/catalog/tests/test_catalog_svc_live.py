"""The catalog service for real: gunicorn next to a real monolith, both relays and consumers on
one broker, catalog owned by the service on both sides (the state after the flip), and the
strangler proxy routing /api/catalog/ to the service. The behaviour suite's catalog tests run
through the proxy unchanged, including one that creates a product through the service and
puts it in a cart at once (the monolith's copy arrives by event milliseconds later: its cart
asks the service before it calls a SKU unknown). The checkout path is proven here too once the
monolith's copy has caught up (the monolith reserves through the service's internal API and
follows the service's events to know the products)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

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

pytestmark = [pytest.mark.catalog, pytest.mark.slow]

ROUTES = """\
upstreams:
  monolith: {{url: "{monolith}"}}
  catalog: {{url: "{catalog}"}}
default: monolith
routes:
  catalog: {{prefixes: [/api/catalog/], mode: service}}
"""


@dataclass
class Live:
    proxy: str
    monolith: str
    service: str
    token: str


def _wait(what: str, check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g}s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    base = tmp_path_factory.mktemp("catalog-live")
    broker = f"filesystem://{base / 'broker'}"
    token = secrets.token_urlsafe(24)
    mono = MonolithConfig(var_dir=base / "monolith", workers=1, threads=8)
    cfg = ServiceConfig(
        "catalog",
        base / "catalog",
        broker_url=broker,
        jwks_url=f"{mono.base_url}/api/users/jwks.json",
        monolith_url=mono.base_url,
        workers=1,
        # This test process runs with settings_test's CATALOG_* defaults in its environment;
        # the children inherit it, so name the ones ServiceConfig leaves out when empty.
        extra_env={"CATALOG_SERVICE_TOKEN": token, "CATALOG_EVENTBUS_PREFIX": ""},
    )
    mono.extra_env.update(
        {
            "SHOP_BROKER_URL": broker,
            "SHOP_CATALOG_URL": cfg.base_url,
            "SHOP_CATALOG_SERVICE_TOKEN": token,
            "SHOP_PAYMENTS_SLOW_SECONDS": "0.3",
        }
    )
    monolith_prepare(mono)
    service_prepare(cfg)
    # After the flip: the service writes catalog, the monolith follows (on both sides' rows).
    service_manage(cfg, "ownership", "set", "catalog", "service", "--why", "live test")
    manage(mono, "ownership", "set", "catalog", "service", "--why", "live test")

    logs = base / "logs"
    py = sys.executable
    helpers = [
        background(
            "catalog-consumer",
            [py, str(cfg.directory / "manage.py"), "consume", "catalog"],
            env=cfg.env(),
            cwd=cfg.directory,
            log_path=logs / "catalog-consumer.log",
        ),
        background(
            "monolith-consumer",
            [py, "-m", "eventbus", "consume", "--service", "monolith"],
            env={**mono.env(), "DJANGO_SETTINGS_MODULE": "config.settings.base"},
            cwd=MONOLITH_DIR,
            log_path=logs / "monolith-consumer.log",
        ),
    ]
    servers = []
    try:
        for service in ("catalog", "monolith"):
            _wait(f"{service} queue", lambda s=service: queue_exists(broker, "", s))
        helpers += [
            background(
                "catalog-relay",
                [py, str(cfg.directory / "manage.py"), "relay"],
                env=cfg.env(),
                cwd=cfg.directory,
                log_path=logs / "catalog-relay.log",
            ),
            background(
                "monolith-relay",
                [py, "-m", "eventbus", "relay"],
                env={**mono.env(), "DJANGO_SETTINGS_MODULE": "config.settings.base"},
                cwd=MONOLITH_DIR,
                log_path=logs / "monolith-relay.log",
            ),
        ]
        servers.append(monolith_start(mono))
        servers.append(service_start(cfg))
        routes = base / "routes.yaml"
        routes.write_text(ROUTES.format(monolith=mono.base_url, catalog=cfg.base_url))
        with ProxyProcess(base / "proxy", "--routes", str(routes), "--workers", "1") as proxy:
            yield Live(proxy.url, mono.base_url, cfg.base_url, token)
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


def test_the_service_serves_health_metrics_schema_and_its_internal_api(live: Live) -> None:
    with httpx.Client(base_url=live.service, timeout=10) as client:
        assert client.get("/health/ready").status_code == 200
        assert client.get("/api/catalog/categories").json() == []
        schema = client.get("/api/schema", params={"format": "json"}).json()
        assert "/api/catalog/products/{slug}" in schema["paths"]
        assert "http_requests_total" in client.get("/metrics").text
        path = "/internal/catalog/reservations/00000000-0000-0000-0000-000000000000"
        refused = client.get(path)
        assert (refused.status_code, refused.json()["code"]) == (401, "not_authenticated")
        ok = client.get(path, headers={"Authorization": f"Bearer {live.token}"})
        assert (ok.status_code, ok.json()["code"]) == (404, "not_found")


def test_the_behaviour_suite_catalog_tests_pass_through_the_proxy(live: Live) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/behaviour/test_catalog.py",
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
    assert "19 passed" in result.stdout, result.stdout[-2000:]


def _staff(client: httpx.Client) -> dict[str, str]:
    login = client.post(
        "/api/users/login", json={"email": DEFAULT_STAFF_EMAIL, "password": DEFAULT_STAFF_PASSWORD}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _product(client: httpx.Client, staff: dict[str, str], on_hand: int, price: str) -> str:
    sku = f"LIVE-{secrets.token_hex(4).upper()}"
    created = client.post(
        "/api/catalog/products",
        headers=staff,
        json={
            "slug": sku.lower(),
            "name": "Live tee",
            "variants": [
                {"sku": sku, "name": "M", "price": price, "currency": "USD", "on_hand": on_hand}
            ],
        },
    )
    assert created.status_code == 201, created.text
    return sku


def _monolith_knows(live: Live, sku: str, price: str) -> None:
    with httpx.Client(base_url=live.monolith, timeout=10) as monolith:

        def followed() -> bool:
            answer = monolith.get(f"/api/catalog/skus/{sku}")
            return answer.status_code == 200 and answer.json()["price"] == price

        _wait(f"the monolith's copy of {sku} at {price}", followed)


def test_checkout_holds_stock_in_the_service_through_its_internal_api(live: Live) -> None:
    """The reserved-units scenario of the behaviour suite, once the monolith's copy has the
    product: the monolith's checkout holds the stock in the service."""
    from tests.behaviour.api_client import ApiClient
    from tests.behaviour.steps import pending_order

    with httpx.Client(base_url=live.proxy, timeout=10) as proxy:
        staff = _staff(proxy)
        sku = _product(proxy, staff, on_hand=5, price="10.00")
    _monolith_knows(live, sku, "10.00")

    with (
        ApiClient(live.proxy) as customer,
        ApiClient(live.proxy, staff["Authorization"].split()[1]) as staff_client,
    ):
        email, password = f"live-{secrets.token_hex(4)}@example.com", f"pw-{secrets.token_hex(8)}"
        assert customer.register(email, password, name="Live").status_code == 201
        customer.token = customer.login(email, password).json()["access_token"]
        pending_order(customer, sku, 3)  # the monolith's checkout reserves in the service

        refused = staff_client.adjust_stock(sku, -3, reason="broken")
        assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
        stock = staff_client.stock(sku).json()
        assert stock == {"sku": sku, "on_hand": 5, "reserved": 3, "available": 2}


def test_a_write_through_the_proxy_reaches_the_monolith_copy(live: Live) -> None:
    with httpx.Client(base_url=live.proxy, timeout=10) as proxy:
        staff = _staff(proxy)
        sku = _product(proxy, staff, on_hand=3, price="10.00")
        changed = proxy.patch(f"/api/catalog/skus/{sku}", headers=staff, json={"price": "7.50"})
        assert changed.status_code == 200, changed.text
    _monolith_knows(live, sku, "7.50")
    with httpx.Client(base_url=live.monolith, timeout=10) as monolith:
        # ... and the monolith, a follower now, refuses catalog writes of its own.
        refused = monolith.patch(f"/api/catalog/skus/{sku}", headers=staff, json={"price": "1.00"})
        assert (refused.status_code, refused.headers.get("Retry-After")) == (503, "1")
        assert refused.json()["code"] == "not_the_writer"
