"""The strangler proxy as a real process (supervisor + 2 workers) in front of a live monolith
and second upstreams: pass-through, flips under load, rollback, shadow diffs, dry-run writes,
a hanging candidate, metrics, and 50 MB streamed both ways."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stages.processes import MonolithConfig, monolith_prepare, monolith_start
from strangler_proxy.testing import (
    Blob,
    FieldChanger,
    Hanging,
    ProxyProcess,
    SideEffects,
    ThreadServer,
)

BLOB_SIZE = 50 * 1024 * 1024


def _rename_first_product(data: Any) -> None:
    if isinstance(data, dict) and data.get("results"):
        data["results"][0]["name"] = "Renamed by the candidate"


ROUTES = """\
upstreams:
  monolith: {{url: "{monolith}"}}
  catalog: {{url: "{changer}", health: null}}
  orders: {{url: "{hanger}", health: null}}
  ledger: {{url: "{ledger}", health: null}}
  ledger_v2: {{url: "{ledger_v2}", health: null}}
  blob: {{url: "{blob}", health: null}}
default: monolith
defaults:
  timeout: 30
routes:
  users: {{prefixes: [/api/users/, /.well-known/jwks.json]}}
  catalog: {{prefixes: [/api/catalog/], fallback: monolith}}
  cart: {{prefixes: [/api/cart]}}
  orders: {{prefixes: [/api/orders], shadow: {{timeout: 5}}}}
  payments: {{prefixes: [/api/payments]}}
  notifications: {{prefixes: [/api/notifications]}}
  ledger: {{prefixes: [/ledger], monolith: ledger, service: ledger_v2, shadow: {{writes: dry-run}}}}
  blob: {{prefixes: [/blob], monolith: blob}}
"""


@dataclass
class Stack:
    monolith: str
    proxy: ProxyProcess
    changer: FieldChanger
    hanger: Hanging
    ledger: SideEffects
    ledger_v2: SideEffects
    blob: Blob

    def set(self, route: str, mode: str, **extra: Any) -> dict[str, Any]:
        response = self.proxy.admin("PUT", f"/admin/routes/{route}", json={"mode": mode, **extra})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for_generation(self, generation: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            workers = self.proxy.admin("GET", "/admin/routes").json()["workers"]
            if workers and all(w["generation"] >= generation for w in workers):
                return
            time.sleep(0.02)
        raise AssertionError(f"workers did not reach generation {generation}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("proxy-live")
    cfg = MonolithConfig(var_dir=base / "monolith", workers=2, threads=8)
    monolith_prepare(cfg, seed_products=30)
    server = monolith_start(cfg)
    changer = FieldChanger(server.base_url, _rename_first_product)
    hanger, ledger, ledger_v2, blob = Hanging(), SideEffects(), SideEffects(), Blob(BLOB_SIZE)
    try:
        with (
            ThreadServer(changer) as changer_server,
            ThreadServer(hanger) as hanger_server,
            ThreadServer(ledger) as ledger_server,
            ThreadServer(ledger_v2) as ledger_v2_server,
            ThreadServer(blob) as blob_server,
        ):
            routes = base / "routes.yaml"
            routes.write_text(
                ROUTES.format(
                    monolith=server.base_url,
                    changer=changer_server.url,
                    hanger=hanger_server.url,
                    ledger=ledger_server.url,
                    ledger_v2=ledger_v2_server.url,
                    blob=blob_server.url,
                )
            )
            proxy = ProxyProcess(base / "proxy", "--routes", str(routes), "--workers", "2")
            with proxy:
                yield Stack(server.base_url, proxy, changer, hanger, ledger, ledger_v2, blob)
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _all_routes_to_their_monolith(stack: Stack) -> Iterator[None]:
    yield
    for route in ("catalog", "orders", "ledger"):
        stack.set(route, "monolith", why="test cleanup")


def test_requests_pass_through_with_the_same_answers(stack: Stack) -> None:
    with (
        httpx.Client(base_url=stack.monolith) as direct,
        httpx.Client(base_url=stack.proxy.url) as proxied,
    ):
        for path in (
            "/health/live",
            "/api/catalog/products?page_size=3",
            "/api/catalog/categories",
        ):
            a, b = direct.get(path), proxied.get(path)
            assert (a.status_code, a.headers["content-type"]) == (
                b.status_code,
                b.headers["content-type"],
            )
            body_a, body_b = a.json(), b.json()
            if isinstance(body_a, dict) and "next" in body_a:  # links name the host asked
                body_a["next"] = body_b["next"] = None
            assert body_a == body_b
        login = {"email": "nobody@example.com", "password": "wrong-password"}
        a = direct.post("/api/users/login", json=login)
        b = proxied.post("/api/users/login", json=login, headers={"X-Request-Id": "trace-me-1"})

        assert (b.status_code, b.json()) == (a.status_code, a.json()) == (401, a.json())
        assert b.headers["content-type"] == "application/problem+json"
        assert b.headers["x-request-id"] == "trace-me-1"  # the monolith kept the proxy's id
        assert len(b.headers.get_list("date")) == 1
        assert len(b.headers.get_list("server")) == 1
        assert int(b.headers["x-strangler-generation"]) >= 1


def test_flipping_a_route_under_load_loses_nothing_and_mixes_no_generations(stack: Stack) -> None:
    results: list[tuple[int, int, str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=stack.proxy.url, timeout=30) as client:
            for _ in range(2000):  # bounded; stops when the flips are done
                if stop.is_set():
                    return
                try:
                    response = client.get("/api/catalog/products?page_size=1")
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                    continue
                results.append(
                    (
                        response.status_code,
                        int(response.headers["x-strangler-generation"]),
                        response.headers.get("x-served-by", "monolith"),
                    )
                )

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    flips = []
    for mode in ("service", "monolith", "service", "monolith", "service", "monolith"):
        flipped = stack.set("catalog", mode, why="flip under load")
        assert flipped["changed"], f"flip to {mode} was a no-op: {flipped['change']}"
        flips.append(flipped["change"])
        generation = flipped["change"]["generation"]
        # The next flip waits until the load has been served by this one (bounded).
        _eventually(lambda g=generation: any(seen == g for _, seen, _ in list(results)))
    stop.set()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) > 50
    assert {status for status, _, _ in results} == {200}
    mode_of = {c["generation"]: c["to"]["mode"] for c in flips}
    first = flips[0]["generation"]
    generations = {generation for _, generation, _ in results}
    assert set(mode_of) <= generations  # the load saw every flip
    for _, generation, served_by in results:
        mode = mode_of.get(generation, "monolith") if generation >= first else "monolith"
        expected = "candidate" if mode == "service" else "monolith"
        assert served_by == expected, f"generation {generation} ({mode}) served by {served_by}"


def test_rollback_restores_the_previous_generation(stack: Stack) -> None:
    before = stack.set("catalog", "service", why="go")["change"]["generation"]
    stack.wait_for_generation(before)
    served = httpx.get(stack.proxy.url + "/api/catalog/products?page_size=1")
    assert served.headers["x-served-by"] == "candidate"

    rolled = stack.proxy.admin("POST", "/admin/rollback", json={"why": "candidate misbehaves"})
    change = rolled.json()["change"]
    stack.wait_for_generation(change["generation"])
    after = httpx.get(stack.proxy.url + "/api/catalog/products?page_size=1")
    routes = {r["route"]: r for r in stack.proxy.admin("GET", "/admin/routes").json()["routes"]}

    assert change["generation"] == before + 1
    assert change["to"] == {"catalog": {"mode": "monolith"}, "restored": before - 1}
    assert routes["catalog"]["mode"] == "monolith"
    assert "x-served-by" not in after.headers
    assert after.headers["x-strangler-generation"] == str(before + 1)
    history = stack.proxy.admin("GET", "/admin/history?limit=1").json()["changes"][0]
    assert (history["action"], history["why"]) == ("rollback", "candidate misbehaves")


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_shadow_reports_the_field_the_candidate_gets_wrong(stack: Stack) -> None:
    stack.wait_for_generation(stack.set("catalog", "shadow")["change"]["generation"])
    with httpx.Client(base_url=stack.proxy.url) as client:
        for _ in range(4):
            answer = client.get("/api/catalog/products?page_size=2")
            assert answer.status_code == 200
            assert answer.json()["results"][0]["name"] != "Renamed by the candidate"

    def reported() -> bool:
        catalog = stack.proxy.admin("GET", "/admin/shadow").json()["routes"].get("catalog", {})
        return int(catalog.get("mismatches", 0)) >= 4

    _eventually(reported)
    report = stack.proxy.admin("GET", "/admin/shadow").json()
    assert set(report["routes"]["catalog"]["fields"]) == {"/results/*/name"}
    sample = [s for s in report["samples"] if s["route"] == "catalog"][-1]
    assert [d["path"] for d in sample["differences"]] == ["/results/0/name"]
    assert sample["differences"][0]["candidate"] == "[redacted]"  # a "name" may be personal
    _eventually(
        lambda: (
            'strangler_shadow_mismatch_fields_total{field="/results/*/name",route="catalog"}'
            in stack.proxy.admin("GET", "/metrics").text
        )
    )


def _p50(client: httpx.Client, path: str, n: int = 40) -> tuple[float, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        assert client.get(path).status_code == 401
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def test_a_hanging_candidate_does_not_slow_the_user(stack: Stack) -> None:
    with httpx.Client(base_url=stack.proxy.url, timeout=30) as client:
        _p50(client, "/api/orders", 10)  # warm up
        off, _ = _p50(client, "/api/orders")
        stack.wait_for_generation(stack.set("orders", "shadow")["change"]["generation"])
        on, slowest = _p50(client, "/api/orders")

    assert stack.hanger.calls >= 8  # mirrors reached it (8 at a time per worker) and hang there
    assert slowest < 1.0  # nobody waited for the candidate's 5 s timeout
    assert on < off * 1.5 + 0.002, (
        f"p50 {on * 1000:.2f} ms with shadow, {off * 1000:.2f} ms without"
    )


def test_a_mirrored_post_causes_no_second_side_effect(stack: Stack) -> None:
    stack.wait_for_generation(stack.set("ledger", "shadow")["change"]["generation"])
    before_primary, before_candidate = stack.ledger.effects, stack.ledger_v2.dry_runs

    with httpx.Client(base_url=stack.proxy.url) as client:
        for i in range(5):
            assert client.post("/ledger/entries", json={"amount": i}).status_code == 201

    _eventually(lambda: stack.ledger_v2.dry_runs - before_candidate == 5)
    assert stack.ledger.effects - before_primary == 5
    assert stack.ledger_v2.effects == 0
    assert stack.ledger_v2.shadow_marked >= 5


def test_metrics_count_requests_by_route_upstream_mode_and_status(stack: Stack) -> None:
    httpx.get(stack.proxy.url + "/api/cart")
    counted = (
        'strangler_requests_total{mode="monolith",route="cart",status="401",upstream="monolith"}'
    )
    # Workers publish their counts twice a second: wait for this one, bounded.
    _eventually(lambda: counted in stack.proxy.admin("GET", "/metrics").text)

    text = stack.proxy.admin("GET", "/metrics").text
    assert "strangler_request_duration_seconds_bucket" in text
    assert "strangler_route_table_generation" in text
    assert 'strangler_breaker_state{upstream="monolith"} 0.0' in text


def _rss(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


@pytest.mark.slow
def test_50_mb_streams_through_without_being_held_in_memory(stack: Stack) -> None:
    workers = stack.proxy.worker_pids()
    before = {pid: _rss(pid)["VmRSS"] for pid in workers}

    with httpx.Client(base_url=stack.proxy.url, timeout=60) as client:
        size = 0
        with client.stream("GET", "/blob") as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes():
                size += len(chunk)

        def upload() -> Iterator[bytes]:
            block = b"u" * (256 * 1024)
            for _ in range(BLOB_SIZE // len(block)):
                yield block

        uploaded = client.put("/blob", content=upload())

    assert size == BLOB_SIZE
    assert uploaded.json() == {"received": BLOB_SIZE}
    growth = max(_rss(pid)["VmHWM"] - before[pid] for pid in workers)
    assert growth < 20 * 1024 * 1024, f"a worker's peak RSS grew by {growth / 2**20:.1f} MiB"
