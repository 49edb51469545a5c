"""Helpers of the proxy's unit tests: tables as data, and the whole proxy in memory.

``Harness`` runs :class:`ProxyApp` with a :class:`MemoryNetwork` for its upstreams (ASGI apps
answering real HTTP/1.1 bytes, no sockets) and an httpx client on an ``ASGITransport``.
Tests are synchronous and drive their own event loop with ``asyncio.run``.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from strangler_proxy.app import ProxyApp
from strangler_proxy.config import ProxySettings
from strangler_proxy.metrics import Metrics
from strangler_proxy.table import RouteTable, parse_data
from strangler_proxy.testing import ASGIApp, MemoryNetwork

BASE_TABLE: dict[str, Any] = {
    "upstreams": {
        "monolith": {"url": "http://monolith", "health": None},
        "catalog": {"url": "http://catalog", "health": None},
        "cart": {"url": "http://cart", "health": None},
    },
    "default": "monolith",
    "defaults": {"timeout": 2, "retry": {"attempts": 2, "backoff": 0.001}},
    "routes": {
        "users": {"prefixes": ["/api/users/", "/.well-known/jwks.json"]},
        "catalog": {"prefixes": ["/api/catalog/"], "fallback": "monolith"},
        "cart": {"prefixes": ["/api/cart"]},
    },
}


def table_data(**route_changes: dict[str, Any]) -> dict[str, Any]:
    """BASE_TABLE with some routes' fields changed: ``table_data(catalog={"mode": "shadow"})``."""
    data = copy.deepcopy(BASE_TABLE)
    for key, fields in route_changes.items():
        data["routes"].setdefault(key, {}).update(fields)
    return data


def make_table(data: dict[str, Any] | None = None, generation: int = 1) -> RouteTable:
    return parse_data(data or table_data()).with_generation(generation)


class Harness:
    def __init__(
        self,
        apps: dict[str, ASGIApp],
        data: dict[str, Any] | None = None,
        *,
        tracer_provider: Any | None = None,
        health_checks: bool = False,
        **settings: Any,
    ) -> None:
        self.network = MemoryNetwork(apps)
        self.metrics = Metrics(CollectorRegistry())
        self.table = make_table(data)
        self.app = ProxyApp(
            ProxySettings(**settings),
            table=self.table,
            metrics=self.metrics,
            connector=self.network.connector,
            health_checks=health_checks,
            tracer_provider=tracer_provider,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=("10.0.0.7", 5555)),
            base_url="http://shop.test",
        )

    async def __aenter__(self) -> Harness:
        await self.app.startup()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.app.shutdown()

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0
