"""Shadow mode: off the user's path, bounded, sampled, capped, timed out on its own; diffs
name the differing field; writes are mirrored only as declared dry runs; samples are redacted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from proxy_fixtures import Harness, table_data

from strangler_proxy.shadow import redact_difference, redact_target, redact_value
from strangler_proxy.testing import Hanging, SideEffects, json_app

PRODUCT = {"id": 1, "slug": "tee", "price": "12.50", "currency": "EUR", "email": "a@b.test"}


def _shadow(**shadow: Any) -> dict[str, Any]:
    return table_data(catalog={"mode": "shadow", "shadow": shadow})


async def _settle(h: Harness, mirrors: int, timeout: float = 5.0) -> None:
    assert h.app.shadow is not None
    deadline = time.monotonic() + timeout
    while h.app.shadow.done < mirrors:
        assert time.monotonic() < deadline, f"{h.app.shadow.done} of {mirrors} mirrors done"
        await asyncio.sleep(0.01)


def test_a_candidate_that_differs_in_one_field_is_reported_with_that_field() -> None:
    apps = {"monolith": json_app(PRODUCT), "catalog": json_app({**PRODUCT, "price": "12.60"})}

    async def scenario() -> None:
        async with Harness(apps, _shadow()) as h:
            response = await h.client.get(
                "/api/catalog/products/tee?email=a@b.test",
                headers={"authorization": "Bearer secret-token"},
            )
            await _settle(h, 1)

            assert response.json() == PRODUCT  # the user gets the primary's answer
            assert h.metric("strangler_shadow_total", route="catalog", outcome="mismatch") == 1
            assert (
                h.metric("strangler_shadow_mismatch_fields_total", route="catalog", field="/price")
                == 1
            )
            assert (
                h.metric("strangler_shadow_mismatch_fields_total", route="catalog", field="/id")
                == 0
            )
            [sample] = list(h.app.shadow.samples.samples)  # type: ignore[union-attr]
            assert sample["outcome"] == "mismatch"
            assert [d["path"] for d in sample["differences"]] == ["/price"]
            assert sample["differences"][0]["primary"] == "12.50"
            assert sample["differences"][0]["candidate"] == "12.60"
            assert sample["request_headers"]["authorization"] == "[redacted]"
            assert sample["target"] == "/api/catalog/products/tee?email=[redacted]"

    asyncio.run(scenario())


def test_identical_answers_match_and_mirrors_carry_the_marker() -> None:
    apps = {"monolith": json_app(PRODUCT), "catalog": SideEffects()}
    apps["catalog"] = json_app(PRODUCT)
    seen: list[dict[bytes, bytes]] = []

    async def candidate(scope: Any, receive: Any, send: Any) -> None:
        seen.append(dict(scope["headers"]))
        await json_app(PRODUCT)(scope, receive, send)

    apps["catalog"] = candidate

    async def scenario() -> None:
        async with Harness(apps, _shadow()) as h:
            for _ in range(3):
                await h.client.get("/api/catalog/products/tee", headers={"x-strangler-shadow": "0"})
            await _settle(h, 3)

            assert h.metric("strangler_shadow_total", route="catalog", outcome="match") == 3
            assert all(headers[b"x-strangler-shadow"] == b"1" for headers in seen)
            assert all(b"x-strangler-dry-run" not in headers for headers in seen)
            primary_seen = h.network.seen("monolith")
            assert all(b"x-strangler-shadow" not in dict(h_) for _, _, h_, _ in primary_seen)

    asyncio.run(scenario())


def test_a_hanging_candidate_does_not_slow_the_user() -> None:
    hanging = Hanging()

    async def scenario() -> None:
        async with Harness(
            {"monolith": json_app(PRODUCT), "catalog": hanging}, _shadow(timeout=0.3)
        ) as h:
            started = time.perf_counter()
            for _ in range(5):
                response = await h.client.get("/api/catalog/products/tee")
                assert response.status_code == 200
            user_time = time.perf_counter() - started
            await _settle(h, 5)

            assert user_time < 0.3  # five answers sooner than one candidate timeout
            assert hanging.calls == 5
            assert h.metric("strangler_shadow_total", route="catalog", outcome="timeout") == 5

    asyncio.run(scenario())


def test_the_queue_is_bounded_and_overflow_is_dropped_and_counted() -> None:
    async def scenario() -> None:
        async with Harness(
            {"monolith": json_app(PRODUCT), "catalog": Hanging()},
            _shadow(timeout=30),
            shadow_queue=2,
            shadow_concurrency=1,
        ) as h:
            for _ in range(10):
                assert (await h.client.get("/api/catalog/products/tee")).status_code == 200
            await asyncio.sleep(0.05)

            assert h.app.shadow is not None
            assert h.app.shadow.in_flight == 1
            assert h.app.shadow.queue.qsize() == 2
            assert (
                h.metric("strangler_shadow_total", route="catalog", outcome="dropped_queue_full")
                == 7
            )
            assert h.metric("strangler_shadow_queue_depth") == 2

    asyncio.run(scenario())


def test_sampling_mirrors_only_a_share() -> None:
    async def scenario() -> None:
        async with Harness(
            {"monolith": json_app(PRODUCT), "catalog": json_app(PRODUCT)}, _shadow(sample=0.0)
        ) as h:
            for _ in range(5):
                await h.client.get("/api/catalog/products/tee")
            await asyncio.sleep(0.05)

            assert h.network.seen("catalog") == []
            assert (
                h.metric("strangler_shadow_total", route="catalog", outcome="skipped_sample") == 5
            )

    asyncio.run(scenario())


def test_bodies_above_the_cap_are_not_mirrored() -> None:
    big = {"items": ["x" * 100] * 50}

    async def scenario() -> None:
        async with Harness(
            {"monolith": json_app(big), "catalog": json_app(big)}, _shadow(body_cap=1000)
        ) as h:
            response = await h.client.get("/api/catalog/products")
            await asyncio.sleep(0.05)

            assert response.json() == big  # the user is not affected by the cap
            assert h.network.seen("catalog") == []
            assert (
                h.metric("strangler_shadow_total", route="catalog", outcome="skipped_body_cap") == 1
            )

    asyncio.run(scenario())


def test_writes_are_not_mirrored_unless_the_route_declares_dry_runs() -> None:
    async def scenario() -> None:
        candidate = SideEffects()
        async with Harness({"monolith": json_app({"ok": 1}), "catalog": candidate}, _shadow()) as h:
            await h.client.post("/api/catalog/products", json={"slug": "x"})
            await asyncio.sleep(0.05)

            assert (candidate.effects, candidate.dry_runs) == (0, 0)
            assert (
                h.metric("strangler_shadow_total", route="catalog", outcome="skipped_method") == 1
            )

    asyncio.run(scenario())


def test_a_mirrored_post_causes_no_second_side_effect() -> None:
    async def scenario() -> None:
        monolith, candidate = SideEffects(), SideEffects()
        async with Harness(
            {"monolith": monolith, "catalog": candidate}, _shadow(writes="dry-run")
        ) as h:
            response = await h.client.post(
                "/api/catalog/products",
                json={"slug": "x"},
                headers={"x-strangler-dry-run": "0"},  # a client cannot turn it off (or on)
            )
            await _settle(h, 1)

            assert response.status_code == 201
            assert (monolith.effects, monolith.dry_runs) == (1, 0)
            assert (candidate.effects, candidate.dry_runs, candidate.shadow_marked) == (0, 1, 1)
            [(_, _, headers, body)] = h.network.seen("catalog")
            assert dict(headers)[b"x-strangler-dry-run"] == b"1"
            assert body == b'{"slug":"x"}'

    asyncio.run(scenario())


def test_the_shadow_span_is_linked_to_the_primary_call() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def scenario() -> None:
        async with Harness(
            {"monolith": json_app(PRODUCT), "catalog": json_app(PRODUCT)},
            _shadow(),
            tracer_provider=provider,
        ) as h:
            await h.client.get("/api/catalog/products/tee")
            await _settle(h, 1)

            spans = {s.name: s for s in exporter.get_finished_spans()}
            server = spans["proxy GET catalog"]
            primary, shadow = spans["upstream monolith"], spans["shadow catalog"]
            assert shadow.parent is not None
            assert shadow.parent.span_id == server.context.span_id
            assert [link.context.span_id for link in shadow.links] == [primary.context.span_id]
            assert shadow.context.trace_id == primary.context.trace_id

    asyncio.run(scenario())


def test_redaction_of_samples() -> None:
    assert redact_target("/a?email=x@y.z&page=2") == "/a?email=[redacted]&page=2"
    assert redact_target("/a") == "/a"
    assert redact_value({"user": {"email": "x", "id": 1}, "items": [{"name": "n"}]}) == {
        "user": {"email": "[redacted]", "id": 1},
        "items": [{"name": "[redacted]"}],
    }
    difference = {"path": "/customer/email", "primary": "a@b", "candidate": "c@d"}
    assert redact_difference(difference)["primary"] == "[redacted]"
    assert redact_difference({"path": "/price", "primary": "1"})["primary"] == "1"


def test_a_follower_that_catches_up_on_the_second_look_is_lag_not_a_mismatch() -> None:
    # The candidate follows the primary's events: its first answer is one write behind.
    calls = {"n": 0}

    def behind_once(scope: Any, body: bytes) -> dict[str, Any]:
        calls["n"] += 1
        return {**PRODUCT, "price": "9.99"} if calls["n"] == 1 else PRODUCT

    apps = {"monolith": json_app(PRODUCT), "catalog": json_app(behind_once)}

    async def scenario() -> None:
        async with Harness(apps, _shadow(recheck=0.01)) as h:
            await h.client.get("/api/catalog/products/tee")
            await _settle(h, 1)

            assert h.metric("strangler_shadow_total", route="catalog", outcome="lag") == 1
            assert h.metric("strangler_shadow_total", route="catalog", outcome="mismatch") == 0
            assert calls["n"] == 2  # asked again once
            report = h.app.shadow.noise.report()  # type: ignore[union-attr]
            assert report["routes"]["catalog"]["mismatches"] == 0

    asyncio.run(scenario())


def test_a_difference_still_there_on_the_second_look_is_a_mismatch() -> None:
    apps = {"monolith": json_app(PRODUCT), "catalog": json_app({**PRODUCT, "price": "12.60"})}

    async def scenario() -> None:
        async with Harness(apps, _shadow(recheck=0.01)) as h:
            await h.client.get("/api/catalog/products/tee")
            await _settle(h, 1)

            assert h.metric("strangler_shadow_total", route="catalog", outcome="mismatch") == 1
            assert h.metric("strangler_shadow_total", route="catalog", outcome="lag") == 0

    asyncio.run(scenario())
