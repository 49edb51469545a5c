"""Checks of the containerised stack, run from the host (the kit's virtualenv) by .ci/containers.

    ready       URL...           every URL answers 200 (bounded wait with backoff)
    order-write BASE STATE       a customer buys one item through the proxy; STATE keeps it
    order-read  BASE STATE       the same customer reads that order back: identical
    prometheus  PROM JOB...      each job's targets are up and have been scraped with samples
    dashboards  PROM DIR         every Grafana panel query in DIR runs on the live Prometheus:
                                 valid PromQL, every metric it names exported by a scraped
                                 target, and data behind every panel but those that count
                                 rare events (errors, retries, fallbacks, 5xx)
    trace       BASE QUERY       one checkout through the proxy with a known trace id; the trace
                                 backend (Jaeger's query API) holds it with spans of the proxy
                                 and the monolith, and of every --service NAME (an extracted
                                 service the checkout calls) and --consumer NAME (a relay or
                                 consumer its events pass through): OTEL_SERVICE_NAMEs

Every wait is bounded (--timeout); every failure says what was expected and what came back.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

APPROVED_CARD = "4242424242424242"


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"[stack-check] {message}", flush=True)


def wait_until(what: str, probe: Any, timeout: float) -> Any:
    """Call ``probe()`` until it returns a true value; CheckFailed after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay, last = 0.25, "no answer yet"
    while True:
        try:
            result = probe()
            if result:
                return result
        except (httpx.HTTPError, CheckFailed, KeyError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise CheckFailed(f"{what}: not true after {timeout:.0f} s ({last})")
        time.sleep(delay)
        delay = min(delay * 1.5, 3.0)


def ready(urls: list[str], timeout: float) -> None:
    for url in urls:
        started = time.monotonic()

        def probe(url: str = url) -> bool:
            response = httpx.get(url, timeout=3.0)
            if response.status_code != 200:
                raise CheckFailed(f"HTTP {response.status_code} {response.text[:200]}")
            return True

        wait_until(f"{url} ready", probe, timeout)
        say(f"ready: {url} ({time.monotonic() - started:.1f} s)")


def _customer(client: httpx.Client, email: str, password: str, *, register: bool) -> None:
    if register:
        answer = client.post("/api/users/register", json={"email": email, "password": password})
        if answer.status_code != 201:
            raise CheckFailed(f"register: {answer.status_code} {answer.text[:300]}")
    answer = client.post("/api/users/login", json={"email": email, "password": password})
    if answer.status_code != 200:
        raise CheckFailed(f"login: {answer.status_code} {answer.text[:300]}")
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def _buy_one(client: httpx.Client, headers: dict[str, str] | None = None) -> dict[str, Any]:
    products = client.get("/api/catalog/products", params={"page_size": 20})
    if products.status_code != 200:
        raise CheckFailed(f"products: {products.status_code} {products.text[:300]}")
    skus = [v["sku"] for p in products.json()["results"] for v in p.get("variants", [])]
    if not skus:
        raise CheckFailed("the catalogue is empty: was the monolith seeded (KIT_SEED_PRODUCTS)?")
    for sku in skus:
        added = client.post("/api/cart/items", json={"sku": sku, "quantity": 1})
        if added.status_code == 201:
            break
    else:
        raise CheckFailed(
            f"no SKU could be put in the cart: {added.status_code} {added.text[:200]}"
        )
    order = client.post(
        "/api/orders/checkout",
        json={"payment": {"card_number": APPROVED_CARD}},
        headers={"Idempotency-Key": str(uuid.uuid4()), **(headers or {})},
    )
    if order.status_code != 201 or order.json().get("status") != "paid":
        raise CheckFailed(f"checkout: {order.status_code} {order.text[:300]}")
    return dict(order.json())


def order_write(base: str, state: Path) -> None:
    email = f"ci-{uuid.uuid4().hex[:12]}@shop.test"
    password = secrets.token_urlsafe(12)
    with httpx.Client(base_url=base, timeout=30.0) as client:
        _customer(client, email, password, register=True)
        order = _buy_one(client)
    state.write_text(json.dumps({"email": email, "password": password, "order": order}))
    say(f"order written: {order['id']} ({order['status']}, {order['total']} {order['currency']})")


def order_read(base: str, state: Path) -> None:
    saved = json.loads(state.read_text())
    order = saved["order"]
    with httpx.Client(base_url=base, timeout=30.0) as client:
        _customer(client, saved["email"], saved["password"], register=False)
        answer = client.get(f"/api/orders/{order['id']}")
    if answer.status_code != 200:
        raise CheckFailed(
            f"order {order['id']} after the restart: {answer.status_code} {answer.text[:300]}"
        )
    read = answer.json()
    for key in ("id", "status", "total", "currency", "lines"):
        if read.get(key) != order.get(key):
            raise CheckFailed(
                f"order {order['id']}: {key} was {order.get(key)!r}, now {read.get(key)!r}"
            )
    say(
        f"order read back after the restart: {read['id']} ({read['status']}, {read['total']} {read['currency']})"
    )


def prometheus(url: str, jobs: list[str], timeout: float) -> None:
    def query(expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5.0)
        answer.raise_for_status()
        return list(answer.json()["data"]["result"])

    for job in jobs:
        # up == 1 and samples scraped: the target answered in Prometheus's text format.
        expr = f'up{{job="{job}"}} == 1 and scrape_samples_scraped{{job="{job}"}} > 0'
        found = wait_until(
            f"Prometheus has scraped job {job}", lambda expr=expr: query(expr), timeout
        )
        samples = query(f'scrape_samples_scraped{{job="{job}"}}')
        say(
            f"prometheus scraped {job}: {len(found)} target(s) up, {samples[0]['value'][1]} samples"
        )


# A metric a dashboard names: the kit's families, RabbitMQ's, and Prometheus's own `up`.
_METRIC = re.compile(r"\b(up|(?:strangler|eventbus|http|rabbitmq)_[a-z0-9_]+)\b")
# Panels that count what a healthy run may never do: empty is fine, an unknown metric is not.
_RARE = re.compile(r'errors|failures|retries|fallbacks|mismatch|transitions|status=~"5')


def _panel_queries(folder: Path) -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expression) of every target in every dashboard in ``folder``."""
    found = []
    for path in sorted(folder.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board.get("panels", []):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append((path.stem, str(panel.get("title", "")), str(target["expr"])))
    if not found:
        raise CheckFailed(f"no panel queries in {folder}")
    return found


def dashboards(url: str, folder: Path, timeout: float) -> None:
    def api(path: str, **params: str) -> Any:
        answer = httpx.get(f"{url}/api/v1/{path}", params=params, timeout=5.0)
        body = answer.json()
        if body.get("status") != "success":
            raise CheckFailed(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def exported(metric: str) -> bool:
        # Prometheus scrapes OpenMetrics where offered: a family is named without the
        # _total / _bucket / _count / _sum its samples carry.
        family = re.sub(r"_(total|bucket|count|sum)$", "", metric)
        if metric == "up" or api("metadata", metric=metric) or api("metadata", metric=family):
            return True  # a scraped target declares it (even a counter never incremented)
        return bool(api("query", query=f"count({metric})")["result"])

    queries = _panel_queries(folder)

    def problems() -> list[str]:
        found = []
        for board, title, expr in queries:
            unknown = [m for m in sorted(set(_METRIC.findall(expr))) if not exported(m)]
            if unknown:
                found.append(f"{board} / {title}: no target exports {unknown} ({expr})")
            elif not api("query", query=expr)["result"] and not _RARE.search(expr):
                found.append(f"{board} / {title}: no data ({expr})")
        return found

    deadline = time.monotonic() + timeout
    while left := problems():  # scrapes every 5 s: a rate needs two of them
        if time.monotonic() >= deadline:
            raise CheckFailed(f"{len(left)} of {len(queries)} panels:\n  " + "\n  ".join(left))
        time.sleep(3.0)
    say(f"dashboards: {len(queries)} panel queries run on Prometheus, every metric exported")


def trace(
    base: str,
    query_url: str,
    consumers: list[str],
    timeout: float,
    services: list[str] | None = None,
) -> None:
    trace_id = secrets.token_hex(16)
    parent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    email = f"trace-{uuid.uuid4().hex[:12]}@shop.test"
    with httpx.Client(base_url=base, timeout=30.0) as client:
        _customer(client, email, secrets.token_urlsafe(12), register=True)
        order = _buy_one(client, headers={"traceparent": parent})
    say(f"checkout {order['id']} sent with trace id {trace_id}")
    needed = {"strangler-proxy", "monolith", *(services or []), *consumers}

    def spans() -> dict[str, list[str]]:
        answer = httpx.get(f"{query_url}/api/traces/{trace_id}", timeout=5.0)
        if answer.status_code == 404:
            raise CheckFailed("trace not found yet")
        answer.raise_for_status()
        data = answer.json()["data"][0]
        names = {pid: p["serviceName"] for pid, p in data["processes"].items()}
        by_service: dict[str, list[str]] = {}
        for span in data["spans"]:
            by_service.setdefault(names[span["processID"]], []).append(span["operationName"])
        missing = needed - set(by_service)
        if missing:
            raise CheckFailed(f"spans so far from {sorted(by_service)}; missing {sorted(missing)}")
        return by_service

    by_service = wait_until(f"trace {trace_id} in the trace backend", spans, timeout)
    for service, operations in sorted(by_service.items()):
        say(f"trace {trace_id}: {service}: {', '.join(sorted(set(operations)))}")
    if not consumers:
        say("no consumer checked: at this stage no process consumes the checkout's events")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="stack_check.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--timeout", type=float, default=180.0)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ready").add_argument("urls", nargs="+")
    for name in ("order-write", "order-read"):
        p = sub.add_parser(name)
        p.add_argument("base")
        p.add_argument("state", type=Path)
    p = sub.add_parser("prometheus")
    p.add_argument("url")
    p.add_argument("jobs", nargs="+")
    p = sub.add_parser("dashboards")
    p.add_argument("url")
    p.add_argument("folder", type=Path)
    p = sub.add_parser("trace")
    p.add_argument("base")
    p.add_argument("query")
    p.add_argument("--consumer", action="append", default=[], help="a consumer's service name")
    p.add_argument("--service", action="append", default=[], help="an extracted service's name")
    args = parser.parse_args(argv)
    try:
        if args.command == "ready":
            ready(args.urls, args.timeout)
        elif args.command == "order-write":
            order_write(args.base, args.state)
        elif args.command == "order-read":
            order_read(args.base, args.state)
        elif args.command == "prometheus":
            prometheus(args.url, args.jobs, args.timeout)
        elif args.command == "dashboards":
            dashboards(args.url, args.folder, args.timeout)
        else:
            trace(args.base, args.query, args.consumer, args.timeout, args.service)
    except CheckFailed as exc:
        print(f"[stack-check] FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
