"""Issue 6's proof on the real servers (PostgreSQL + RabbitMQ): every stage through the proxy.

One walk, in order, because each step starts from the previous one's state:

stage 0   the behaviour suite passes through the proxy (all routes to the monolith)
stage 1   apply notifications; parity; suite
stage 2   apply catalog *under a write load* (price and stock changes through the proxy);
          parity; suite; the load's writes all landed exactly once
rollback  stage 2 back to stage 1 under the same load, after writes made on the service:
          parity, suite, nothing lost, nothing applied twice
re-apply  stage 2 again: parity, suite
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest

from stages.localstack import LocalStack, start_stack
from stages.plan import load_plan
from stages.runner import StageRunner

pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq, pytest.mark.slow]

SUITE_ARGS = ("-n", "2")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from eventbus.tests.harness import need

    need("postgres", "rabbitmq")
    running = start_stack(tmp_path_factory.mktemp("stages") / "kit", db="postgres", products=200)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class WriteLoad:
    """Staff writes through the proxy: +1 stock adjustments and price changes on a few SKUs.

    A write answered 2xx happened; 503 (a handover froze the writer) did not and is retried. So
    the expected stock is the start plus the number of 2xx adjustments, and the expected price
    is the last 2xx price: anything else is a lost or a doubled write."""

    proxy_url: str
    token: str
    skus: list[str]
    adjusted: dict[str, int] = field(default_factory=dict)
    last_price: dict[str, Decimal] = field(default_factory=dict)
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(60)

    def _run(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.proxy_url, headers=auth, timeout=30) as client:
            n = 0
            while not self._stop.is_set():
                sku = self.skus[n % len(self.skus)]
                n += 1
                if n % 3:
                    self._write(
                        client,
                        "POST",
                        f"/api/catalog/skus/{sku}/stock-adjustments",
                        {"delta": 1, "reason": "load"},
                        sku,
                        None,
                    )
                else:
                    price = Decimal(f"{10 + n % 90}.{n % 100:02d}")
                    self._write(
                        client,
                        "PATCH",
                        f"/api/catalog/skus/{sku}",
                        {"price": str(price)},
                        sku,
                        price,
                    )
                time.sleep(0.02)  # bounded: about 40 writes a second

    def _write(
        self,
        client: httpx.Client,
        method: str,
        path: str,
        body: dict[str, object],
        sku: str,
        price: Decimal | None,
    ) -> None:
        for _ in range(100):
            try:
                response = client.request(method, path, json=body)
            except httpx.HTTPError as exc:  # an unknown outcome: the check would be unsound
                self.errors.append(f"{method} {path}: {exc!r}")
                return
            if response.status_code == 503:
                self.refused += 1
                time.sleep(float(response.headers.get("retry-after", "1")) / 10)
                continue
            if response.status_code >= 300:
                self.errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
                return
            if price is None:
                self.adjusted[sku] = self.adjusted.get(sku, 0) + 1
            else:
                self.last_price[sku] = price
            return
        self.errors.append(f"{method} {path}: still refused after 100 tries")


def _stock_and_price(url: str, sku: str, token: str) -> tuple[int, Decimal]:
    detail = httpx.get(f"{url}/api/catalog/skus/{sku}", timeout=30)
    stock = httpx.get(
        f"{url}/api/catalog/skus/{sku}/stock",
        headers={"Authorization": f"Bearer {token}"},  # stock levels are staff-only
        timeout=30,
    )
    assert (detail.status_code, stock.status_code) == (200, 200), (url, detail.text, stock.text)
    return int(stock.json()["on_hand"]), Decimal(detail.json()["price"])


def _check_load(stack: LocalStack, load: WriteLoad, start: dict[str, int]) -> None:
    assert load.errors == []
    for sku in load.skus:
        for side in (
            stack.info.proxy_url,
            stack.info.monolith.url,
            stack.info.services["catalog"].url,
        ):
            on_hand, price = _stock_and_price(side, sku, load.token)
            assert on_hand == start[sku] + load.adjusted.get(sku, 0), (side, sku)
            if sku in load.last_price:
                assert price == load.last_price[sku], (side, sku)


def _assert_verified(runner: StageRunner, number: int) -> None:
    result = runner.verify(number, suite=True, suite_args=SUITE_ARGS)
    assert result.parity_ok, result.report.render() if result.report else result.parity
    assert result.suite_ok, result.suite


def test_every_stage_applies_verifies_rolls_back_and_reapplies(stack: LocalStack) -> None:
    runner = StageRunner(stack.info, load_plan())
    _assert_verified(runner, 0)

    runner.apply(1)
    _assert_verified(runner, 1)

    token = runner.staff_token()
    products = httpx.get(stack.info.proxy_url + "/api/catalog/products?page_size=4").json()
    skus = [p["variants"][0]["sku"] for p in products["results"]]
    start = {sku: _stock_and_price(stack.info.proxy_url, sku, token)[0] for sku in skus}
    load = WriteLoad(stack.info.proxy_url, token, skus)

    load.start()
    try:
        applied = runner.apply(2)
    finally:
        load.stop()
    assert set(applied.gates) == {"shadow", "outbox lag", "dlq", "verify"}
    _assert_verified(runner, 2)
    _check_load(stack, load, start)
    assert sum(load.adjusted.values()) > 0

    slug = f"after-flip-{uuid.uuid4().hex[:8]}"
    created = httpx.post(
        stack.info.proxy_url + "/api/catalog/products",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "slug": slug,
            "name": "written on the service",
            "variants": [
                {
                    "sku": slug.upper(),
                    "name": "one",
                    "price": "3.00",
                    "currency": "EUR",
                    "on_hand": 2,
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    load.start()
    try:
        runner.rollback(2)
    finally:
        load.stop()
    assert [s.applied for s in runner.status()] == [True, True, False]
    _assert_verified(runner, 2)
    _check_load(stack, load, start)
    seen = httpx.get(f"{stack.info.monolith.url}/api/catalog/products/{slug}")
    assert seen.status_code == 200  # the write made on the service came back

    runner.apply(2)
    _assert_verified(runner, 2)
    assert [s.applied for s in runner.status()] == [True, True, True]
