"""``strangler compare`` against two small fake shops (threads in this process, real HTTP).

The live-monolith checks (mutants, 250 requests against itself) are in tests/test_mutants.py.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer
from typer.testing import CliRunner

from stages.compare import (
    Catalog,
    CompareFailed,
    CompareSettings,
    ReplayRequest,
    compare_command,
    generate_requests,
    load_requests,
    run_compare,
)

Mutate = Callable[[str, Any], Any]

CATEGORIES = ["books", "home", "toys"]


def _product(n: int) -> dict[str, Any]:
    slug = f"seed-{n:06d}"
    price = Decimal(10 + n) + Decimal("0.99")
    return {
        "id": n + 1,
        "slug": slug,
        "name": f"Sturdy {['Oak', 'Steel', 'Wool'][n % 3]} Lamp {n}",
        "category": CATEGORIES[n % 3],
        "price_from": f"{price:.2f}",
        "currency": "USD",
        "variants": [
            {"sku": f"SEED-{n:06d}-{j}", "product": slug, "price": f"{price + j - 1:.2f}"}
            for j in (1, 2)
        ],
        "created_at": "2024-05-01T10:00:00Z",
    }


PRODUCTS = [_product(n) for n in range(40)]


class FakeShop:
    """Just enough of the shop's read API, with a hook to change what it answers."""

    def __init__(self, mutate: Mutate | None = None) -> None:
        self.mutate = mutate or (lambda path, body: body)
        self.calls: list[tuple[str, str]] = []
        self.users: dict[str, int] = {}
        self.ids = itertools.count(100 + random.randrange(100))
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                shop.handle(self, "GET")

            def do_POST(self) -> None:
                shop.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeShop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.calls.append((method, request.path))
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length)) if length else None
        user = request.headers.get("Authorization", "").removeprefix("Bearer ")
        status, answer = self.route(method, path, query, body, user)
        if status < 400:
            answer = self.mutate(path, answer)
        data = json.dumps(answer).encode()
        request.send_response(status)
        kind = "application/json" if status < 400 else "application/problem+json"
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def route(
        self, method: str, path: str, query: dict[str, str], body: Any, user: str
    ) -> tuple[int, Any]:
        missing = (404, {"status": 404, "code": "not_found"})
        if path == "/health/live":
            return 200, {"status": "ok"}
        if method == "POST" and path == "/api/users/register":
            self.users[body["email"]] = next(self.ids)
            return 201, {"id": self.users[body["email"]], "email": body["email"]}
        if method == "POST" and path == "/api/users/login":
            if body["email"] == "staff@shop.test" or body["email"] in self.users:
                return 200, {"access_token": body["email"]}
            return 401, {"status": 401, "code": "invalid_credentials"}
        if method == "POST" and path == "/api/echo":
            return 201, {"echo": body}
        if path == "/api/users/me":
            if user not in self.users:
                return 401, {"status": 401, "code": "not_authenticated"}
            return 200, {"id": self.users[user], "email": user, "name": "Compare Customer"}
        if path == "/api/catalog/categories":
            return 200, [{"slug": slug} for slug in reversed(CATEGORIES)]
        if path == "/api/catalog/products":
            if query.get("ordering", "name") not in (
                "name",
                "-name",
                "price",
                "-price",
                "created",
                "-created",
            ):
                return 400, {"status": 400, "code": "validation_error"}
            chosen = [p for p in PRODUCTS if query.get("category") in (None, p["category"])]
            size, page = int(query.get("page_size", 20)), int(query.get("page", 1))
            results = chosen[(page - 1) * size : page * size]
            following = f"{self.url}{path}?page={page + 1}&page_size={size}"
            return 200, {
                "count": len(chosen),
                "next": following if page * size < len(chosen) else None,
                "results": results,
            }
        if path.startswith("/api/catalog/products/"):
            slug = path.rsplit("/", 1)[1]
            found = [p for p in PRODUCTS if p["slug"] == slug]
            return (200, found[0]) if found else missing
        if path.startswith("/api/catalog/skus/"):
            sku = path.split("/")[4]
            variants = [v for p in PRODUCTS for v in p["variants"] if v["sku"] == sku]
            if not variants:
                return missing
            if path.endswith("/stock"):
                if user != "staff@shop.test":
                    return 403, {"status": 403, "code": "permission_denied"}
                return 200, {"sku": sku, "on_hand": 5, "reserved": 0, "available": 5}
            return 200, variants[0]
        if path in ("/api/cart", "/api/orders", "/api/payments", "/api/notifications"):
            if user not in self.users:
                return 401, {"status": 401, "code": "not_authenticated"}
            return 200, {"count": 0, "next": None, "results": []}
        return missing


@pytest.fixture
def shops() -> Iterator[Callable[..., FakeShop]]:
    started: list[FakeShop] = []

    def start(mutate: Mutate | None = None) -> FakeShop:
        shop = FakeShop(mutate).__enter__()
        started.append(shop)
        return shop

    yield start
    for shop in started:
        shop.__exit__()


def cli() -> typer.Typer:
    app = typer.Typer(add_completion=False)

    @app.callback()
    def main() -> None:
        """The kit."""

    app.command("compare")(compare_command)
    return app


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli(), ["compare", *args], env={"COLUMNS": "200"})


def drop_price_from(path: str, body: Any) -> Any:
    body = json.loads(json.dumps(body))
    if path.startswith("/api/catalog/products"):
        for product in body.get("results", [body]):
            product.pop("price_from", None)
    return body


# --- generated requests ----------------------------------------------------------------------


def catalog() -> Catalog:
    return Catalog(
        categories=list(CATEGORIES),
        slugs=[p["slug"] for p in PRODUCTS],
        skus=[v["sku"] for p in PRODUCTS for v in p["variants"]],
        words=["sturdy", "oak", "steel", "wool", "lamp"],
        prices=[Decimal(p["price_from"]) for p in PRODUCTS],
    )


def test_generates_at_least_200_distinct_reads_of_every_kind() -> None:
    requests = generate_requests(catalog(), 250, seed=3)
    assert len(requests) == 250
    assert len({r.key for r in requests}) == 250
    assert {r.method for r in requests} == {"GET"}
    paths = [r.path for r in requests]
    assert sum(p.startswith("/api/catalog/products?") for p in paths) >= 40
    assert sum(p.startswith("/api/catalog/products/seed-") for p in paths) >= 40
    assert sum(p.startswith("/api/catalog/skus/") and not p.endswith("/stock") for p in paths) >= 40
    mine = {r.path for r in requests if r.auth == "customer"}
    assert {
        "/api/users/me",
        "/api/cart",
        "/api/orders",
        "/api/notifications",
        "/api/payments",
    } <= mine
    assert any(r.auth == "staff" and r.path.endswith("/stock") for r in requests)
    assert "/api/catalog/products?ordering=bogus" in paths


def test_generation_is_deterministic_per_seed_and_can_leave_out_staff() -> None:
    assert generate_requests(catalog(), 220, seed=5) == generate_requests(catalog(), 220, seed=5)
    assert generate_requests(catalog(), 220, seed=5) != generate_requests(catalog(), 220, seed=6)
    assert not any(r.auth == "staff" for r in generate_requests(catalog(), 220, staff=False))


def test_a_small_catalog_gives_what_it_can() -> None:
    small = Catalog(categories=["a"], slugs=["p"], skus=["P-1"], words=[], prices=[Decimal("1")])
    requests = generate_requests(small, 500)
    assert 20 < len(requests) < 500
    assert len({r.key for r in requests}) == len(requests)


# --- recorded requests -----------------------------------------------------------------------


def test_recorded_requests_load_from_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text(
        '{"method": "get", "path": "/api/catalog/products?page=2"}\n'
        "# a comment, and an empty line\n\n"
        '{"method": "POST", "path": "/api/cart/items", "body": {"sku": "A", "quantity": 1}, "auth": "customer", "headers": {"Host": "x", "X-Trace": "1"}}\n'
    )
    first, second = load_requests(path)
    assert first == ReplayRequest("GET", "/api/catalog/products?page=2")
    assert second.method == "POST"
    assert second.auth == "customer"
    assert json.loads(second.body or b"") == {"sku": "A", "quantity": 1}
    assert dict(second.headers) == {"Content-Type": "application/json", "X-Trace": "1"}
    assert not second.safe


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"requests.jsonl:2: not JSON"),
        ('{"path": "api/x"}', r"requests.jsonl:2: path: must be a string starting with '/'"),
        (
            '{"method": "G T", "path": "/x"}',
            r"requests.jsonl:2: method: 'G T' is not an HTTP method",
        ),
        (
            '{"path": "/x", "auth": "root"}',
            r"requests.jsonl:2: auth: must be one of customer, staff",
        ),
        (
            '{"path": "/x", "headers": {"a": 1}}',
            r"requests.jsonl:2: headers: must be an object of strings",
        ),
    ],
)
def test_bad_recorded_requests_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"path": "/ok"}\n' + line + "\n")
    with pytest.raises(CompareFailed, match=message):
        load_requests(path)


# --- the command -----------------------------------------------------------------------------


def test_two_equal_shops_match(shops: Callable[..., FakeShop], tmp_path: Path) -> None:
    primary, candidate = shops(), shops()
    report = tmp_path / "report.json"
    result = invoke(
        "--primary",
        primary.url,
        "--candidate",
        candidate.url,
        "--generate",
        "220",
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output
    assert "no differences above noise in 220 requests (220 distinct)" in result.output
    assert "catalog.product " in result.output
    stored = json.loads(report.read_text())
    assert (stored["requests"], stored["distinct_requests"], stored["mismatches"]) == (220, 220, 0)
    assert stored["totals"] == {"requests": 220, "matches": 220, "mismatches": 0, "noise_only": 0}
    # the customer registered on each side has its own id and email: the rules expect that
    assert stored["routes"]["users.me"] == {
        "requests": 2,
        "matches": 2,
        "mismatches": 0,
        "noise_only": 0,
    }


def test_a_dropped_field_is_reported_with_its_path(
    shops: Callable[..., FakeShop], tmp_path: Path
) -> None:
    primary, candidate = shops(), shops(drop_price_from)
    report = tmp_path / "report.json"
    result = invoke(
        "--primary",
        primary.url,
        "--candidate",
        candidate.url,
        "--generate",
        "220",
        "--report",
        str(report),
        "--show",
        "50",
    )
    assert result.exit_code == 1, result.output
    assert "[catalog.product]: 1 field differs: /price_from (missing in candidate)" in result.output
    assert "/results/0/price_from (missing in candidate)" in result.output
    stored = json.loads(report.read_text())
    fields = {
        (m["route"], d["field"], d["kind"])
        for m in stored["first_mismatches"]
        for d in m["regressions"]
    }
    assert fields == {
        ("catalog.product", "/price_from", "missing"),
        ("catalog.products", "/results/*/price_from", "missing"),
    }
    routes = stored["routes"]
    assert routes["catalog.sku"]["mismatches"] == 0
    # every product detail but the one for an unknown slug (404 on both sides)
    assert routes["catalog.product"]["mismatches"] == routes["catalog.product"]["requests"] - 1


def test_a_field_the_primary_changes_itself_is_noise(
    shops: Callable[..., FakeShop], tmp_path: Path
) -> None:
    served = itertools.count()

    def jitter(path: str, body: Any) -> Any:
        # every answer of a SKU names the worker that served it: never the same twice
        if isinstance(body, dict) and path.startswith("/api/catalog/skus/"):
            return {**body, "served_by": f"worker-{next(served)}"}
        return body

    primary, candidate = shops(jitter), shops(jitter)
    report = tmp_path / "report.json"
    result = invoke(
        "--primary",
        primary.url,
        "--candidate",
        candidate.url,
        "--generate",
        "220",
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output
    stored = json.loads(report.read_text())
    sku = stored["routes"]["catalog.sku"]
    assert sku["mismatches"] == 0
    assert sku["noise_only"] > 0
    served_by = stored["noise"]["routes"]["catalog.sku"]["fields"]["/served_by"]
    assert served_by["noise"] > 0
    assert served_by["noisy"] is True


def test_a_separate_secondary_is_asked_instead_of_the_primary(
    shops: Callable[..., FakeShop],
) -> None:
    primary, secondary, candidate = shops(), shops(), shops()
    result = invoke(
        "--primary",
        primary.url,
        "--secondary",
        secondary.url,
        "--candidate",
        candidate.url,
        "--generate",
        "30",
    )
    assert result.exit_code == 0, result.output
    primary_reads = [c for c in primary.calls if c[0] == "GET" and "page_size=100" not in c[1]]
    secondary_reads = [c for c in secondary.calls if c[0] == "GET"]
    assert len(secondary_reads) == 31  # the 30 requests and one health check
    assert len(primary_reads) == 31


def test_recorded_writes_are_not_sent_twice_to_the_primary(
    shops: Callable[..., FakeShop], tmp_path: Path
) -> None:
    primary, candidate = shops(), shops()
    requests = tmp_path / "requests.jsonl"
    requests.write_text(
        '{"method": "POST", "path": "/api/echo", "body": {"a": 1}}\n{"path": "/api/catalog/categories"}\n'
    )
    result = invoke(
        "--primary", primary.url, "--candidate", candidate.url, "--requests", str(requests)
    )
    assert result.exit_code == 0, result.output
    assert primary.calls.count(("POST", "/api/echo")) == 1
    assert primary.calls.count(("GET", "/api/catalog/categories")) == 2
    assert candidate.calls.count(("POST", "/api/echo")) == 1


def test_generated_requests_can_be_saved_and_replayed(
    shops: Callable[..., FakeShop], tmp_path: Path
) -> None:
    primary, candidate = shops(), shops()
    saved = tmp_path / "saved.jsonl"
    first = run_compare(
        CompareSettings(
            primary=primary.url, candidate=candidate.url, generate=210, save_requests=saved
        )
    )
    again = run_compare(
        CompareSettings(primary=primary.url, candidate=candidate.url, requests=saved)
    )
    assert [o.request for o in again.outcomes] == [o.request for o in first.outcomes]
    assert again.exit_code == 0


def test_a_target_that_does_not_answer_is_exit_code_2(shops: Callable[..., FakeShop]) -> None:
    primary = shops()
    result = invoke(
        "--primary", primary.url, "--candidate", "http://127.0.0.1:9", "--generate", "10"
    )
    assert result.exit_code == 2
    assert "cannot compare: candidate (http://127.0.0.1:9) does not answer" in result.output


def test_bad_rules_are_exit_code_2_naming_the_entry(
    shops: Callable[..., FakeShop], tmp_path: Path
) -> None:
    primary = shops()
    rules = tmp_path / "rules.yaml"
    rules.write_text("routes:\n  - name: me\n    path: /api/users/me\n    ignore: id\n")
    result = invoke("--primary", primary.url, "--candidate", primary.url, "--rules", str(rules))
    assert result.exit_code == 2
    assert "bad rules:" in result.output
    assert "routes[0] 'me': ignore[0]: 'id' is not a path" in result.output
