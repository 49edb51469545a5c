"""The admin API: token-protected changes, history, rollback, problem answers."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
from proxy_fixtures import table_data

from strangler_proxy.admin import AdminApp
from strangler_proxy.metrics import Metrics
from strangler_proxy.store import FileStore

TOKEN = "t0ken"


def _call(
    tmp_path: Path, *requests: tuple[str, str, dict[str, Any]], workers: int = 0
) -> list[httpx.Response]:
    store = FileStore(tmp_path, tmp_path / "routes.yaml")
    store.init(table_data(), who="test")
    metrics = Metrics()
    metrics.request("cart", "monolith", "monolith", 200, 0.002)
    app = AdminApp(
        store=store, token=TOKEN, render_metrics=metrics.render, var_dir=tmp_path, workers=workers
    )

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
            return [await client.request(m, p, **kw) for m, p, kw in requests]

    return asyncio.run(scenario())


AUTH = {"headers": {"Authorization": f"Bearer {TOKEN}"}}


def test_changes_need_the_token(tmp_path: Path) -> None:
    missing, wrong, right = _call(
        tmp_path,
        ("GET", "/admin/routes", {}),
        ("GET", "/admin/routes", {"headers": {"Authorization": "Bearer nope"}}),
        ("GET", "/admin/routes", AUTH),
    )

    assert (missing.status_code, missing.json()["code"]) == (401, "not_authenticated")
    assert missing.headers["content-type"] == "application/problem+json"
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_token")
    assert right.status_code == 200
    routes = {r["route"]: r for r in right.json()["routes"]}
    assert routes["catalog"]["mode"] == "monolith"
    assert routes["catalog"]["service"] == "catalog"
    assert right.json()["generation"] == 1


def test_set_history_and_rollback(tmp_path: Path) -> None:
    flip, same, history, rollback, routes = _call(
        tmp_path,
        (
            "PUT",
            "/admin/routes/cart",
            {**AUTH, "json": {"mode": "canary", "percent": 5, "why": "try", "who": "ana"}},
        ),
        ("PUT", "/admin/routes/cart", {**AUTH, "json": {"mode": "canary", "percent": 5}}),
        ("GET", "/admin/history?limit=5", AUTH),
        ("POST", "/admin/rollback", {**AUTH, "headers": {**AUTH["headers"], "X-Actor": "bob"}}),
        ("GET", "/admin/routes", AUTH),
    )

    assert flip.status_code == 200
    assert flip.json() == {
        "changed": True,
        "change": {
            "generation": 2,
            "at": flip.json()["change"]["at"],
            "who": "ana",
            "action": "set",
            "route": "cart",
            "from": {"mode": "monolith"},
            "to": {"mode": "canary", "percent": 5.0},
            "why": "try",
        },
    }
    assert same.json()["changed"] is False
    assert [c["generation"] for c in history.json()["changes"]] == [2, 1]
    assert rollback.json()["change"]["who"] == "bob"
    assert rollback.json()["change"]["to"] == {"cart": {"mode": "monolith"}, "restored": 1}
    assert routes.json()["generation"] == 3


def test_bad_requests_are_problems(tmp_path: Path) -> None:
    bad_mode, unknown, not_json, no_mode, bad_table, wrong_method, nowhere = _call(
        tmp_path,
        ("PUT", "/admin/routes/cart", {**AUTH, "json": {"mode": "everywhere"}}),
        ("PUT", "/admin/routes/basket", {**AUTH, "json": {"mode": "service"}}),
        ("PUT", "/admin/routes/cart", {**AUTH, "content": b"{nope"}),
        ("PUT", "/admin/routes/cart", {**AUTH, "json": {"percent": 3}}),
        (
            "PUT",
            "/admin/table",
            {
                **AUTH,
                "content": b"upstreams:\n  monolith: {url: http://m}\nroutes:\n  x: {prefix: nope}\n",
            },
        ),
        ("DELETE", "/admin/routes", AUTH),
        ("GET", "/admin/nothing", AUTH),
    )

    assert (bad_mode.status_code, bad_mode.json()["code"]) == (400, "validation_error")
    assert (
        "'everywhere' is not one of monolith, shadow, canary, service" in bad_mode.json()["detail"]
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (not_json.status_code, not_json.json()["code"]) == (400, "malformed_body")
    assert (no_mode.status_code, no_mode.json()["code"]) == (400, "validation_error")
    assert bad_table.status_code == 400
    assert "line 4: routes.x.prefixes: 'nope' must start with '/'" in bad_table.json()["detail"]
    assert wrong_method.status_code == 405
    assert nowhere.status_code == 404


def test_the_whole_table_can_be_read_and_replaced(tmp_path: Path) -> None:
    new = table_data(cart={"mode": "service"})
    get, put, after = _call(
        tmp_path,
        ("GET", "/admin/table", AUTH),
        ("PUT", "/admin/table?why=bulk", {**AUTH, "content": json.dumps(new).encode()}),
        ("GET", "/admin/table", AUTH),
    )

    assert get.json()["generation"] == 1
    assert get.json()["table"]["routes"]["cart"] == {"prefixes": ["/api/cart"]}
    assert put.json()["change"]["to"] == {"cart": {"mode": "service"}}
    assert put.json()["change"]["why"] == "bulk"
    assert after.json()["table"]["routes"]["cart"]["mode"] == "service"


def test_metrics_and_health_are_open(tmp_path: Path) -> None:
    metrics, live, ready = _call(
        tmp_path,
        ("GET", "/metrics", {}),
        ("GET", "/health/live", {}),
        ("GET", "/health/ready", {}),
        workers=1,
    )

    assert metrics.status_code == 200
    assert (
        'strangler_requests_total{mode="monolith",route="cart",status="200",upstream="monolith"} 1.0'
        in metrics.text
    )
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 503  # no worker has reported the table yet
    assert ready.json()["workers_on_latest"] == 0


def test_ready_once_every_worker_runs_the_latest_generation(tmp_path: Path) -> None:
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / f"{os.getpid()}.json").write_text(
        json.dumps({"pid": os.getpid(), "generation": 1})
    )
    (tmp_path / "workers" / "999999.json").write_text(json.dumps({"pid": 999999, "generation": 1}))

    [ready] = _call(tmp_path, ("GET", "/health/ready", {}), workers=1)

    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "generation": 1, "workers": 1, "workers_on_latest": 1}
