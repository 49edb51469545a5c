"""Two proxy replicas (each a supervisor with two workers) sharing one PostgreSQL route store:
a flip made through either replica's admin API is in force in every worker of both within a
second, and a rollback through the other replica undoes it everywhere."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stages.databases import postgres_answers, postgres_create, postgres_drop
from strangler_proxy.testing import ProxyProcess, ThreadServer, json_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROUTES = """\
upstreams:
  monolith: {{url: "{monolith}", health: null}}
  catalog: {{url: "{catalog}", health: null}}
routes:
  catalog: {{prefixes: [/api/catalog/]}}
"""


@pytest.fixture
def store_url() -> Iterator[str]:
    reason = postgres_answers()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    url = postgres_create("kit_proxy_replicas")
    yield url
    postgres_drop(url)


@pytest.fixture
def replicas(store_url: str, tmp_path: Path) -> Iterator[tuple[ProxyProcess, ProxyProcess]]:
    monolith = ThreadServer(json_app({"served_by": "monolith"}))
    candidate = ThreadServer(json_app({"served_by": "catalog"}))
    with monolith, candidate:
        routes = tmp_path / "routes.yaml"
        routes.write_text(ROUTES.format(monolith=monolith.url, catalog=candidate.url))
        args = ("--store", store_url, "--routes", str(routes), "--workers", "2")
        a = ProxyProcess(tmp_path / "replica-a", *args)
        b = ProxyProcess(tmp_path / "replica-b", *args)
        with a, b:
            yield a, b


def _worker_generations(replica: ProxyProcess) -> list[int]:
    workers = replica.admin("GET", "/admin/routes").json()["workers"]
    return [int(w["generation"]) for w in workers]


def _until_everywhere(replicas: tuple[ProxyProcess, ...], generation: int) -> float:
    """Seconds until every worker of every replica runs ``generation``."""
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if all(
            len(gens) == 2 and min(gens) >= generation
            for gens in (_worker_generations(r) for r in replicas)
        ):
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(f"generation {generation} not everywhere after 10 s")


def _served_by(replica: ProxyProcess) -> set[tuple[str, str]]:
    seen = set()
    for _ in range(8):  # new connections: the kernel spreads them over the workers
        response = httpx.get(replica.url + "/api/catalog/products")
        seen.add((response.headers["x-strangler-generation"], response.json()["served_by"]))
    return seen


def test_replicas_switch_together_and_roll_back_together(
    replicas: tuple[ProxyProcess, ProxyProcess],
) -> None:
    a, b = replicas
    assert _worker_generations(a) == _worker_generations(b) == [1, 1]

    flip = a.admin("PUT", "/admin/routes/catalog", json={"mode": "service", "why": "replicas"})
    generation = flip.json()["change"]["generation"]
    took = _until_everywhere((a, b), generation)

    assert generation == 2
    assert took < 1.0, f"the replicas took {took:.2f}s to switch"
    assert _served_by(a) == _served_by(b) == {("2", "catalog")}

    rollback = b.admin("POST", "/admin/rollback", json={"why": "undo from the other replica"})
    took = _until_everywhere((a, b), 3)

    assert rollback.json()["change"]["to"] == {"catalog": {"mode": "monolith"}, "restored": 1}
    assert took < 1.0
    assert _served_by(a) == _served_by(b) == {("3", "monolith")}
    history_a = a.admin("GET", "/admin/history").json()["changes"]
    history_b = b.admin("GET", "/admin/history").json()["changes"]
    assert history_a == history_b
    assert [c["action"] for c in history_a] == ["rollback", "set", "init"]
