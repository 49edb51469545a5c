"""The whole proxy, in memory: forwarding, atomic swaps, retries, breaker and fallback,
problem answers, headers as the upstream sees them, and the spans it records."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from proxy_fixtures import Harness, make_table, table_data

from strangler_proxy.testing import Hanging, json_app

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _echo(name: str) -> Any:
    def payload(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
        return {
            "served_by": name,
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
            "body": body.decode(),
        }

    return json_app(payload)


def test_requests_are_forwarded_with_path_query_body_and_host() -> None:
    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith"), "catalog": _echo("catalog")}) as h:
            response = await h.client.post(
                "/api/cart/items?x=1&y=%20z", json={"sku": "A", "quantity": 2}
            )

            assert response.status_code == 200
            data = response.json()
            assert (data["served_by"], data["method"], data["path"]) == (
                "monolith",
                "POST",
                "/api/cart/items",
            )
            assert data["query"] == "x=1&y=%20z"
            assert json.loads(data["body"]) == {"sku": "A", "quantity": 2}
            assert data["headers"]["host"] == "shop.test"
            assert response.headers["x-strangler-generation"] == "1"
            assert (
                h.metric(
                    "strangler_requests_total",
                    route="cart",
                    upstream="monolith",
                    mode="monolith",
                    status="200",
                )
                == 1.0
            )

    asyncio.run(scenario())


def test_the_upstream_sees_clean_forwarding_and_trace_headers() -> None:
    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith")}) as h:
            response = await h.client.get(
                "/api/users/me",
                headers={
                    "x-strangler-shadow": "1",
                    "x-user-id": "1",
                    "x-forwarded-for": "6.6.6.6",
                    "connection": "x-hop",
                    "x-hop": "1",
                    "x-request-id": "req-42",
                    "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01",
                },
            )

            seen = response.json()["headers"]
            assert "x-strangler-shadow" not in seen
            assert "x-user-id" not in seen
            assert "x-hop" not in seen
            assert seen["x-forwarded-for"] == "10.0.0.7"
            assert seen["x-forwarded-proto"] == "http"
            assert seen["x-forwarded-host"] == "shop.test"
            assert seen["x-request-id"] == "req-42"
            version, trace_id, parent, flags = seen["traceparent"].split("-")
            assert (version, trace_id, flags) == ("00", TRACE, "01")
            assert parent != "00f067aa0ba902b7"  # the proxy's own span is the parent now
            assert response.headers["x-request-id"] == "req-42"

    asyncio.run(scenario())


def test_keep_alive_connections_are_reused() -> None:
    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith")}) as h:
            for _ in range(20):
                assert (await h.client.get("/health/live")).status_code == 200

            assert h.network.connections["monolith"] == 1

    asyncio.run(scenario())


def test_a_swap_is_atomic_for_requests_in_flight() -> None:
    gate = asyncio.Event()

    async def slow_monolith(scope: Any, receive: Any, send: Any) -> None:
        await gate.wait()
        await json_app({"served_by": "monolith"})(scope, receive, send)

    async def scenario() -> None:
        async with Harness({"monolith": slow_monolith, "catalog": _echo("catalog")}) as h:
            before = asyncio.create_task(h.client.get("/api/catalog/products"))
            await asyncio.sleep(0.05)  # routed by generation 1, waiting on the monolith

            h.app.swap(make_table(table_data(catalog={"mode": "service"}), generation=2))
            after = await h.client.get("/api/catalog/products")
            gate.set()
            first = await before

            assert (first.json()["served_by"], first.headers["x-strangler-generation"]) == (
                "monolith",
                "1",
            )
            assert (after.json()["served_by"], after.headers["x-strangler-generation"]) == (
                "catalog",
                "2",
            )
            h.app.swap(make_table(table_data(), generation=1))  # a late, older generation
            assert (await h.client.get("/x")).headers["x-strangler-generation"] == "2"

    asyncio.run(scenario())


def test_idempotent_requests_are_retried_and_writes_are_not() -> None:
    calls = {"n": 0}

    def flaky(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
        calls["n"] += 1
        return {"n": calls["n"]}

    async def scenario() -> None:
        async with Harness({"monolith": json_app(flaky, status=503)}) as h:
            get = await h.client.get("/api/orders")
            gets = calls["n"]
            post = await h.client.post("/api/orders/checkout", json={})
            posts = calls["n"] - gets

            assert get.status_code == 503  # both tries failed: the upstream's own answer
            assert gets == 2  # retried once (attempts: 2)
            assert post.status_code == 503
            assert posts == 1  # never retried
            assert h.metric("strangler_retries_total", upstream="monolith", reason="503") == 1.0

    asyncio.run(scenario())


def test_a_transient_failure_is_hidden_by_a_retry() -> None:
    calls = {"n": 0}

    async def once_broken(scope: Any, receive: Any, send: Any) -> None:
        calls["n"] += 1
        status = 502 if calls["n"] == 1 else 200
        await json_app({"try": calls["n"]}, status=status)(scope, receive, send)

    async def scenario() -> None:
        async with Harness({"monolith": once_broken}) as h:
            response = await h.client.get("/api/orders/1")

            assert (response.status_code, response.json()) == (200, {"try": 2})

    asyncio.run(scenario())


def test_unreachable_upstream_is_a_502_problem() -> None:
    async def scenario() -> None:
        async with Harness({}) as h:
            response = await h.client.get("/api/cart", headers={"x-request-id": "r-1"})

            assert response.status_code == 502
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["code"] == "bad_gateway"
            assert problem["upstream"] == "monolith"
            assert problem["instance"] == "/api/cart"
            assert problem["request_id"] == "r-1"
            assert "cannot connect to monolith" in problem["detail"]
            assert len(response.headers.get_list("date")) == 1
            assert h.metric("strangler_proxy_errors_total", route="cart", code="bad_gateway") == 1

    asyncio.run(scenario())


def test_a_slow_upstream_is_a_504_problem() -> None:
    data = table_data(cart={"timeout": 0.1, "retry": {"attempts": 1}})

    async def scenario() -> None:
        async with Harness({"monolith": Hanging()}, data) as h:
            response = await h.client.get("/api/cart")

            assert response.status_code == 504
            assert response.json()["code"] == "gateway_timeout"

    asyncio.run(scenario())


def test_an_open_breaker_answers_503_at_once_and_reads_fall_back() -> None:
    once = {"attempts": 1}
    data = table_data(
        catalog={"mode": "service", "retry": once}, cart={"mode": "service", "retry": once}
    )
    data["upstreams"]["catalog"]["breaker"] = {"failures": 2, "open_seconds": 60}
    data["upstreams"]["cart"]["breaker"] = {"failures": 2, "open_seconds": 60}
    apps = {"monolith": _echo("monolith")}  # catalog and cart are down

    async def scenario() -> None:
        async with Harness(apps, data) as h:
            for _ in range(2):
                fallen = await h.client.get("/api/catalog/products")
                assert fallen.json()["served_by"] == "monolith"
            for _ in range(2):
                assert (await h.client.get("/api/cart")).status_code == 502
            refused_before = h.network.connections.get("cart", 0)

            refused = await h.client.get("/api/cart")
            write = await h.client.post("/api/catalog/products", json={})
            read = await h.client.get("/api/catalog/products")

            assert refused.status_code == 503
            assert refused.json()["code"] == "service_unavailable"
            assert int(refused.headers["retry-after"]) >= 59
            assert h.network.connections.get("cart", 0) == refused_before  # not even tried
            assert write.status_code == 503  # writes never fall back to the monolith
            assert read.json()["served_by"] == "monolith"
            assert h.metric("strangler_breaker_state", upstream="catalog") == 2
            assert h.metric("strangler_fallbacks_total", route="catalog", upstream="monolith") == 3

    asyncio.run(scenario())


def test_canary_users_stick_to_their_side() -> None:
    data = table_data(catalog={"mode": "canary", "percent": 50})

    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith"), "catalog": _echo("catalog")}, data) as h:
            first = await h.client.get("/api/catalog/products")
            cookie = first.headers["set-cookie"]
            assert cookie.startswith("strangler_canary=")
            value = cookie.split(";")[0].split("=", 1)[1]
            sides = set()
            assert h.client.cookies["strangler_canary"] == value  # kept like a browser would
            for _ in range(10):
                again = await h.client.get("/api/catalog/products")
                assert "set-cookie" not in again.headers
                sides.add(again.json()["served_by"])

            assert sides == {first.json()["served_by"]}

    asyncio.run(scenario())


def test_spans_record_the_proxy_and_its_upstream_call() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith")}, tracer_provider=provider) as h:
            response = await h.client.get(
                "/api/cart", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
            )
            sent = response.json()["headers"]["traceparent"]

            spans = {s.name: s for s in exporter.get_finished_spans()}
            server, client = spans["proxy GET cart"], spans["upstream monolith"]
            assert server.kind is SpanKind.SERVER
            assert client.kind is SpanKind.CLIENT
            assert f"{server.context.trace_id:032x}" == TRACE
            assert server.parent is not None
            assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"
            assert client.parent is not None
            assert client.parent.span_id == server.context.span_id
            assert sent.split("-")[2] == f"{client.context.span_id:016x}"
            assert server.attributes is not None
            assert server.attributes["http.response.status_code"] == 200

    asyncio.run(scenario())


def test_a_trace_the_proxy_starts_has_one_id_for_the_request_and_the_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def scenario() -> None:
        async with Harness({"monolith": _echo("monolith")}, tracer_provider=provider) as h:
            response = await h.client.get("/api/cart")  # no traceparent, no request id
            seen = response.json()["headers"]
            named = await h.client.get("/api/cart", headers={"x-request-id": "req-7"})

            [first, second] = [
                s for s in exporter.get_finished_spans() if s.name == "proxy GET cart"
            ]
            trace_id = f"{first.context.trace_id:032x}"
            assert first.parent is None  # a root span, not a phantom parent
            assert seen["x-request-id"] == trace_id == response.headers["x-request-id"]
            assert seen["traceparent"].split("-")[1] == trace_id
            # an id the caller chose is kept
            assert named.headers["x-request-id"] == "req-7"
            assert f"{second.context.trace_id:032x}" != "req-7"

    asyncio.run(scenario())


def test_active_health_checks_open_the_breaker_and_reads_fall_back() -> None:
    health = {"ok": False}
    calls = {"api": 0}

    async def catalog(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/health/ready":
            status = 200 if health["ok"] else 503
            await json_app({"status": "ok" if health["ok"] else "down"}, status=status)(
                scope, receive, send
            )
            return
        calls["api"] += 1
        await json_app({"served_by": "catalog"})(scope, receive, send)

    data = table_data(catalog={"mode": "service"})
    data["upstreams"]["catalog"].update(
        {"health": "/health/ready", "health_interval": 0.05, "breaker": {"failures": 2}}
    )

    async def scenario() -> None:
        apps = {"monolith": _echo("monolith"), "catalog": catalog}
        async with Harness(apps, data, health_checks=True) as h:
            await asyncio.sleep(0.4)  # a few failed health checks
            down = await h.client.get("/api/catalog/products")

            assert down.json()["served_by"] == "monolith"
            assert calls["api"] == 0  # the open circuit kept requests away
            assert h.metric("strangler_breaker_state", upstream="catalog") == 2

            health["ok"] = True
            await asyncio.sleep(0.3)  # a passing check lets the next request probe
            up = [await h.client.get("/api/catalog/products") for _ in range(3)]

            assert [r.json()["served_by"] for r in up] == ["catalog"] * 3
            assert h.metric("strangler_breaker_state", upstream="catalog") == 0

    asyncio.run(scenario())


def test_one_keep_alive_connection_carries_many_answers_without_stalling() -> None:
    """Regression: bodies taken whole were not subtracted from the read-ahead count, so
    after 256 KiB of small answers a pooled connection paused reading for good."""
    from strangler_proxy.testing import ThreadServer

    payload = {"pad": "x" * 1000}
    with ThreadServer(json_app(payload)) as upstream:
        data = table_data(cart={"timeout": 2, "retry": {"attempts": 1}})
        data["upstreams"]["monolith"]["url"] = upstream.url

        async def scenario() -> None:
            h = Harness({}, data)
            h.app._connector = None  # a real socket: the behaviour under test is the wire
            async with h:
                started = time.monotonic()
                for _ in range(400):  # 400 KB through one pooled connection
                    response = await h.client.get("/api/cart")
                    assert response.status_code == 200
                took = time.monotonic() - started
                pool = h.app.state.upstreams["monolith"].pool

                assert pool.connects == 1
                assert took < 20  # no request waited for the 2 s timeout

        asyncio.run(scenario())
