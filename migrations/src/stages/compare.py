"""``strangler compare``: replay the same requests against two systems and diff the answers.

    requests ── recorded (JSON lines) or generated from the primary's own catalog
       │
       ├─> primary    ──┐
       ├─> secondary  ──┤  (the primary asked again, or --secondary: noise, safe methods only)
       └─> candidate  ──┴─> strangler_proxy.diff: compare + NoiseFilter, per route rules
                               │
                               └─> a table per route, the first mismatches, a JSON report;
                                   exit 1 when any difference is above noise

Authenticated reads use a customer the command registers on EACH side (and the staff account,
when it can log in): ids, emails and join dates of those two customers differ legitimately,
and the default rules (strangler_proxy/diff/default_rules.yaml) say so.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from strangler_proxy.diff import (
    NoiseFilter,
    Response,
    RuleBook,
    Verdict,
    default_rulebook,
    response_from_httpx,
)

from .processes import DEFAULT_STAFF_EMAIL, DEFAULT_STAFF_PASSWORD

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AUTH_KINDS = ("customer", "staff")
ORDERINGS = ("name", "-name", "price", "-price", "created", "-created")
PAGE_SIZES = (1, 2, 5, 10, 20, 50, 100)
NO_ANSWER = 0  # the status recorded when a side did not answer at all
_HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te"}
)


class CompareFailed(RuntimeError):
    """The comparison could not run (a target does not answer, a file is unusable...)."""


# --- requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayRequest:
    """One request to send to every side. ``auth`` names a per-side identity, not a token."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    auth: str | None = None  # "customer" | "staff" | None

    @property
    def safe(self) -> bool:
        return self.method in SAFE_METHODS

    @property
    def key(self) -> tuple[str, str, str | None, bytes | None, tuple[tuple[str, str], ...]]:
        return (self.method, self.path, self.auth, self.body, self.headers)

    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" (as {self.auth})" if self.auth else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.body is not None:
            try:
                out["body"] = json.loads(self.body)
            except ValueError:
                out["body"] = self.body.decode("utf-8", "replace")
        if self.auth:
            out["auth"] = self.auth
        return out


def _request_from(data: Any, where: str) -> ReplayRequest:
    if not isinstance(data, dict):
        raise CompareFailed(f"{where}: a request must be a JSON object, not {data!r}")
    method, path = data.get("method", "GET"), data.get("path")
    if not isinstance(method, str) or not method.isalpha():
        raise CompareFailed(f"{where}: method: {method!r} is not an HTTP method")
    if not isinstance(path, str) or not path.startswith("/"):
        raise CompareFailed(f"{where}: path: must be a string starting with '/', not {path!r}")
    headers = data.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise CompareFailed(f"{where}: headers: must be an object of strings")
    auth = data.get("auth")
    if auth is not None and auth not in AUTH_KINDS:
        raise CompareFailed(f"{where}: auth: must be one of {', '.join(AUTH_KINDS)}, not {auth!r}")
    body: bytes | None = None
    if "body" in data and data["body"] is not None:
        raw = data["body"]
        body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
        if not isinstance(raw, str) and not any(k.lower() == "content-type" for k in headers):
            headers = {**headers, "Content-Type": "application/json"}
    kept = tuple(sorted((k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP))
    return ReplayRequest(method.upper(), path, kept, body, auth)


def load_requests(path: Path) -> list[ReplayRequest]:
    """Recorded requests: JSON lines of ``{"method", "path", "headers"?, "body"?, "auth"?}``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CompareFailed(f"cannot read {path}: {exc}") from None
    requests: list[ReplayRequest] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise CompareFailed(f"{path}:{number}: not JSON: {exc}") from None
        requests.append(_request_from(data, f"{path}:{number}"))
    if not requests:
        raise CompareFailed(f"{path}: no requests in it")
    return requests


def save_requests(path: Path, requests: Iterable[ReplayRequest]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in requests), encoding="utf-8")


# --- generated requests ----------------------------------------------------------------------


@dataclass
class Catalog:
    """What the generator learned from the primary's own catalog."""

    categories: list[str] = field(default_factory=list)
    slugs: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)


def read_catalog(client: httpx.Client, *, max_products: int = 300) -> Catalog:
    """Categories and up to ``max_products`` products of the target, through its public API."""
    catalog = Catalog()
    categories = client.get("/api/catalog/categories")
    if categories.status_code != 200:
        raise CompareFailed(
            f"GET /api/catalog/categories answered {categories.status_code}: {categories.text[:200]}"
        )
    listed = categories.json()
    items = listed.get("results", []) if isinstance(listed, dict) else listed
    catalog.categories = [c["slug"] for c in items if isinstance(c, dict) and "slug" in c]
    words: dict[str, None] = {}
    page = 1
    while len(catalog.slugs) < max_products:
        answer = client.get("/api/catalog/products", params={"page_size": 100, "page": page})
        if answer.status_code != 200:
            if page == 1:
                raise CompareFailed(
                    f"GET /api/catalog/products answered {answer.status_code}: {answer.text[:200]}"
                )
            break
        body = answer.json()
        for product in body.get("results", []):
            catalog.slugs.append(product["slug"])
            catalog.skus.extend(v["sku"] for v in product.get("variants", []) if "sku" in v)
            for word in str(product.get("name", "")).lower().split():
                if len(word) >= 3 and word.isalnum():
                    words.setdefault(word, None)
            with contextlib.suppress(InvalidOperation, ValueError):
                catalog.prices.append(Decimal(str(product.get("price_from"))))
        if not body.get("next"):
            break
        page += 1
    catalog.words = list(words)
    return catalog


def _get(path: str, params: dict[str, Any] | None = None, auth: str | None = None) -> ReplayRequest:
    query = f"?{urlencode(params)}" if params else ""
    return ReplayRequest("GET", path + query, auth=auth)


def _price_marks(prices: Sequence[Decimal]) -> list[str]:
    if not prices:
        return ["10.00", "50.00"]
    ordered = sorted(prices)
    marks = {ordered[int(len(ordered) * q) if q < 1 else -1] for q in (0.1, 0.25, 0.5, 0.75, 0.9)}
    return [f"{m:.2f}" for m in sorted(marks)]


def _list_variants(catalog: Catalog, rng: random.Random) -> list[ReplayRequest]:
    lists = "/api/catalog/products"
    out = [_get(lists)]
    for size in PAGE_SIZES:
        for page in (1, 2, 3):
            out.append(_get(lists, {"page": page, "page_size": size}))
        for ordering in ORDERINGS:
            out.append(_get(lists, {"ordering": ordering, "page_size": size}))
    for ordering in ORDERINGS:
        out.append(_get(lists, {"ordering": ordering, "in_stock": "true"}))
    for slug in catalog.categories:
        out.append(_get(lists, {"category": slug}))
        out.append(_get(lists, {"category": slug, "ordering": rng.choice(ORDERINGS)}))
        out.append(_get(lists, {"category": slug, "page_size": 5, "page": 2}))
    marks = _price_marks(catalog.prices)
    for mark in marks:
        out.append(_get(lists, {"min_price": mark}))
        out.append(_get(lists, {"max_price": mark, "ordering": "-price"}))
    for low, high in itertools.pairwise(marks):
        out.append(_get(lists, {"min_price": low, "max_price": high, "ordering": "price"}))
    for word in catalog.words[:30]:
        out.append(_get(lists, {"q": word}))
        if catalog.categories:
            out.append(_get(lists, {"q": word, "category": rng.choice(catalog.categories)}))
    return out


def generate_requests(
    catalog: Catalog, count: int, *, seed: int = 1, staff: bool = True
) -> list[ReplayRequest]:
    """At least ``count`` distinct read requests (fewer only if the catalog is too small).

    Always: the fixed reads (categories, error answers) and the customer's own reads (me, cart,
    orders, payments, notifications, someone else's order: 404); then product lists, product
    details and SKUs in turn, each pool shuffled with ``seed``.
    """
    rng = random.Random(seed)
    missing = uuid.UUID(int=seed)
    fixed = [
        _get("/health/live"),
        _get("/api/catalog/categories"),
        _get("/api/catalog/products", {"ordering": "bogus"}),
        _get("/api/catalog/products", {"min_price": "cheap"}),
        _get("/api/catalog/products", {"page": 10_000}),
        _get(f"/api/catalog/products/no-such-product-{seed}"),
        _get(f"/api/catalog/skus/NO-SUCH-SKU-{seed}"),
        _get("/api/cart"),  # anonymous: 401
        _get("/api/users/me"),
        _get("/api/no-such-route"),
    ]
    mine = [
        _get("/api/users/me", auth="customer"),
        _get("/api/cart", auth="customer"),
        _get("/api/orders", auth="customer"),
        _get("/api/orders", {"page_size": 5}, auth="customer"),
        _get(f"/api/orders/{missing}", auth="customer"),
        _get("/api/payments", auth="customer"),
        _get("/api/payments", {"order_id": str(missing)}, auth="customer"),
        _get(f"/api/payments/{missing}", auth="customer"),
        _get("/api/notifications", auth="customer"),
        _get("/api/notifications", {"page_size": 5}, auth="customer"),
        _get(f"/api/catalog/skus/{quote(catalog.skus[0])}/stock", auth="customer")
        if catalog.skus
        else _get("/api/catalog/skus/X/stock", auth="customer"),  # a customer: 403
    ]
    pools = [
        _list_variants(catalog, rng),
        [_get(f"/api/catalog/products/{quote(slug)}") for slug in catalog.slugs],
        [_get(f"/api/catalog/skus/{quote(sku)}") for sku in catalog.skus],
    ]
    if staff:
        pools.append(
            [_get(f"/api/catalog/skus/{quote(sku)}/stock", auth="staff") for sku in catalog.skus]
        )
    for pool in pools:
        rng.shuffle(pool)
    chosen: dict[Any, ReplayRequest] = {}
    for request in fixed + mine:
        chosen.setdefault(request.key, request)
    cursors = [0] * len(pools)
    while len(chosen) < count and any(c < len(p) for c, p in zip(cursors, pools, strict=True)):
        for i, pool in enumerate(pools):
            if cursors[i] < len(pool) and len(chosen) < count:
                request = pool[cursors[i]]
                cursors[i] += 1
                chosen.setdefault(request.key, request)
    return list(chosen.values())


# --- the sides -------------------------------------------------------------------------------


class Side:
    """One system under comparison: its base URL, a client, and its per-side identities."""

    def __init__(self, name: str, base_url: str, *, timeout: float) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"Accept-Encoding": "identity", "User-Agent": "strangler-compare"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
        )
        self.tokens: dict[str, str] = {}

    def close(self) -> None:
        self.client.close()

    def send(self, request: ReplayRequest, tokens: dict[str, str] | None = None) -> Response:
        headers = dict(request.headers)
        token = (tokens if tokens is not None else self.tokens).get(request.auth or "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            answer = self.client.request(
                request.method, request.path, headers=headers, content=request.body
            )
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            return Response(NO_ANSWER, {"content-type": "text/plain"}, message.encode())
        return response_from_httpx(answer)

    def check(self) -> None:
        try:
            answer = self.client.get("/health/live")
        except httpx.HTTPError as exc:
            raise CompareFailed(f"{self.name} ({self.base_url}) does not answer: {exc}") from None
        if answer.status_code != 200:
            raise CompareFailed(
                f"{self.name} ({self.base_url}) /health/live answered {answer.status_code}"
            )

    def register_customer(self, tag: str) -> None:
        email = f"compare-{tag}-{uuid.uuid4().hex[:10]}@example.com"
        password = f"pw-{uuid.uuid4().hex}"
        body = {"email": email, "password": password, "name": "Compare Customer"}
        registered = self.client.post("/api/users/register", json=body)
        if registered.status_code != 201:
            raise CompareFailed(
                f"{self.name}: registering {email} answered {registered.status_code}: "
                f"{registered.text[:300]}"
            )
        self.tokens["customer"] = self._login(email, password, what="the new customer")

    def log_in_staff(self, email: str, password: str) -> bool:
        try:
            self.tokens["staff"] = self._login(email, password, what=f"staff {email}")
        except CompareFailed:
            return False
        return True

    def _login(self, email: str, password: str, *, what: str) -> str:
        answer = self.client.post("/api/users/login", json={"email": email, "password": password})
        if answer.status_code != 200:
            raise CompareFailed(
                f"{self.name}: logging in {what} answered {answer.status_code}: {answer.text[:300]}"
            )
        return str(answer.json()["access_token"])


# --- the run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareSettings:
    primary: str
    candidate: str
    secondary: str | None = None
    requests: Path | None = None
    generate: int = 250
    rules: Path | None = None
    report: Path | None = None
    staff_email: str = DEFAULT_STAFF_EMAIL
    staff_password: str = DEFAULT_STAFF_PASSWORD
    margin: float = 0.1
    min_samples: int = 10
    concurrency: int = 4
    seed: int = 1
    show: int = 5
    timeout: float = 30.0
    save_requests: Path | None = None


@dataclass(frozen=True)
class Outcome:
    index: int
    request: ReplayRequest
    route: str
    verdict: Verdict


@dataclass
class CompareResult:
    outcomes: list[Outcome]
    noise_report: dict[str, Any]
    notes: list[str]

    @property
    def mismatches(self) -> list[Outcome]:
        """Requests with a difference above noise, in request order."""
        return [o for o in self.outcomes if not o.verdict.ok]

    @property
    def exit_code(self) -> int:
        return 1 if self.mismatches else 0

    def routes(self) -> dict[str, dict[str, int]]:
        """Per route (in order of first request): requests, matches, mismatches, noise_only."""
        out: dict[str, dict[str, int]] = {}
        for o in self.outcomes:
            row = out.setdefault(
                o.route, {"requests": 0, "matches": 0, "mismatches": 0, "noise_only": 0}
            )
            row["requests"] += 1
            verdict = o.verdict
            key = "matches" if verdict.matched else "noise_only" if verdict.ok else "mismatches"
            row[key] += 1
        return dict(sorted(out.items()))

    def totals(self) -> dict[str, int]:
        keys = ("requests", "matches", "mismatches", "noise_only")
        routes = self.routes().values()
        return {key: sum(row[key] for row in routes) for key in keys}

    def fields_by_route(self) -> dict[str, set[tuple[str, str]]]:
        """route -> {(field, kind)} of the regressions."""
        out: dict[str, set[tuple[str, str]]] = {}
        for outcome in self.mismatches:
            for d in outcome.verdict.regressions:
                out.setdefault(outcome.route, set()).add((d.field, d.kind))
        return out

    def to_dict(self, settings: CompareSettings) -> dict[str, Any]:
        return {
            "primary": settings.primary,
            "candidate": settings.candidate,
            "secondary": settings.secondary or f"{settings.primary} (asked twice)",
            "rules": str(settings.rules) if settings.rules else "default",
            "requests": len(self.outcomes),
            "distinct_requests": len({o.request.key for o in self.outcomes}),
            "mismatches": len(self.mismatches),
            "exit_code": self.exit_code,
            "notes": self.notes,
            "totals": self.totals(),
            "routes": self.routes(),
            "noise": self.noise_report,
            "first_mismatches": [
                {"request": o.request.to_dict(), **o.verdict.to_dict()}
                for o in self.mismatches[:50]
            ],
        }


def route_name(rules_name: str, request: ReplayRequest) -> str:
    """The table's row: the rules' route name, or method and path for unmatched requests."""
    if rules_name != "default":
        return rules_name
    return f"{request.method} {request.path.split('?', 1)[0]}"


def run_compare(
    settings: CompareSettings,
    *,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CompareResult:
    """Replay and diff; raises CompareFailed when the comparison cannot be made.

    ``on_total(n)`` is called once the requests are known, ``on_progress(1)`` per request done.
    """
    book = _rulebook(settings.rules)
    notes: list[str] = []
    primary = Side("primary", settings.primary, timeout=settings.timeout)
    candidate = Side("candidate", settings.candidate, timeout=settings.timeout)
    secondary = (
        Side("secondary", settings.secondary, timeout=settings.timeout)
        if settings.secondary
        else None
    )
    sides = [s for s in (primary, candidate, secondary) if s is not None]
    try:
        for side in sides:
            side.check()
        if settings.requests is not None:
            requests = load_requests(settings.requests)
        else:
            if settings.generate < 1:
                raise CompareFailed("nothing to replay: give --requests FILE or --generate N > 0")
            catalog = read_catalog(primary.client)
            requests = generate_requests(catalog, settings.generate, seed=settings.seed)
            if len(requests) < settings.generate:
                notes.append(
                    f"the primary's catalog gives {len(requests)} distinct requests, "
                    f"fewer than the {settings.generate} asked for"
                )
        _identities(requests, primary, candidate, settings, notes)
        if not all(s.tokens.get("staff") for s in (primary, candidate)):
            dropped = [r for r in requests if r.auth == "staff"]
            if dropped:
                requests = [r for r in requests if r.auth != "staff"]
                notes.append(f"staff login failed on a side: {len(dropped)} staff reads skipped")
        if settings.save_requests is not None:
            save_requests(settings.save_requests, requests)
        noise = NoiseFilter(margin=settings.margin, min_samples=settings.min_samples)
        if on_total is not None:
            on_total(len(requests))
        lock = threading.Lock()

        def one(item: tuple[int, ReplayRequest]) -> Outcome:
            index, request = item
            first = primary.send(request)
            again: Response | None = None
            if request.safe:
                again = (
                    secondary.send(request, primary.tokens)
                    if secondary is not None
                    else primary.send(request)
                )
            other = candidate.send(request)
            rules = book.rules_for(request.method, request.path)
            route = route_name(rules.name, request)
            verdict = noise.observe(route, first, again, other, rules)
            if on_progress is not None:
                with lock:
                    on_progress(1)
            return Outcome(index, request, route, verdict)

        with ThreadPoolExecutor(max_workers=max(1, settings.concurrency)) as pool:
            observed = list(pool.map(one, enumerate(requests)))
    finally:
        for side in sides:
            side.close()
    # Every sample is in now: judge the early requests with the same counts as the late ones.
    outcomes = [replace(o, verdict=noise.rejudge(o.verdict)) for o in observed]
    return CompareResult(outcomes, noise.report(), notes)


def _rulebook(path: Path | None) -> RuleBook:
    if path is None:
        return default_rulebook()
    try:
        return RuleBook.load(path)
    except OSError as exc:
        raise CompareFailed(f"cannot read the rules {path}: {exc}") from None
    except ValueError as exc:
        raise CompareFailed(f"bad rules: {exc}") from None


def _identities(
    requests: Sequence[ReplayRequest],
    primary: Side,
    candidate: Side,
    settings: CompareSettings,
    notes: list[str],
) -> None:
    wanted = {r.auth for r in requests}
    if "customer" in wanted:
        tag = uuid.uuid4().hex[:6]
        primary.register_customer(tag)
        candidate.register_customer(tag)
    if "staff" in wanted:
        for side in (primary, candidate):
            if not side.log_in_staff(settings.staff_email, settings.staff_password):
                notes.append(f"{side.name}: staff {settings.staff_email} could not log in")


# --- output ------------------------------------------------------------------------------------


def render(result: CompareResult, settings: CompareSettings, console: Console) -> None:
    console.print(
        f"[bold]{escape(settings.primary)}[/bold] (primary) vs "
        f"[bold]{escape(settings.candidate)}[/bold] (candidate), "
        f"noise from {escape(settings.secondary or 'the primary asked twice')}",
        soft_wrap=True,
        highlight=False,
    )
    routes = result.routes()
    table = Table()
    for column in ("route", "requests", "matches", "mismatches", "noise"):
        table.add_column(column, justify="left" if column == "route" else "right")
    for name, stats in routes.items():
        style = "red" if stats["mismatches"] else None
        table.add_row(
            escape(name),
            str(stats["requests"]),
            str(stats["matches"]),
            str(stats["mismatches"]),
            str(stats["noise_only"]),
            style=style,
        )
    totals = result.totals()
    table.add_section()
    table.add_row(
        "total",
        str(totals["requests"]),
        str(totals["matches"]),
        str(totals["mismatches"]),
        str(totals["noise_only"]),
        style="bold",
    )
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {escape(note)}", soft_wrap=True)
    mismatches = result.mismatches
    if mismatches:
        console.print(f"\n[bold red]First mismatches[/bold red] (of {len(mismatches)}):")
        for outcome in mismatches[: settings.show]:
            console.print(
                f"  {escape(outcome.request.label())} {escape(f'[{outcome.route}]')}: "
                f"{escape(outcome.verdict.summary())}",
                soft_wrap=True,
                highlight=False,
            )
    distinct = len({o.request.key for o in result.outcomes})
    verdict = (
        f"[bold red]{len(mismatches)} of {len(result.outcomes)} requests differ above noise[/]"
        if mismatches
        else f"[bold green]no differences above noise in {len(result.outcomes)} requests[/]"
    )
    console.print(f"\n{verdict} ({distinct} distinct)", soft_wrap=True)


def compare_command(
    primary: Annotated[str, typer.Option(help="base URL of the system of record")],
    candidate: Annotated[
        str, typer.Option(help="base URL of the system that should answer the same")
    ],
    secondary: Annotated[
        str | None,
        typer.Option(
            help="a second instance of the primary, for noise (default: ask the primary twice)"
        ),
    ] = None,
    requests: Annotated[
        Path | None,
        typer.Option(help="recorded requests, JSON lines: method, path, headers?, body?, auth?"),
    ] = None,
    generate: Annotated[
        int, typer.Option(help="without --requests: generate this many distinct read requests")
    ] = 250,
    rules: Annotated[
        Path | None, typer.Option(help="comparison rules (YAML/JSON); default: the kit's own")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="write the full JSON report here")] = None,
    staff_email: Annotated[
        str, typer.Option(envvar="KIT_STAFF_EMAIL", help="staff account on both sides")
    ] = DEFAULT_STAFF_EMAIL,
    staff_password: Annotated[
        str, typer.Option(envvar="KIT_STAFF_PASSWORD", help="its password")
    ] = DEFAULT_STAFF_PASSWORD,
    margin: Annotated[
        float, typer.Option(help="a field is noise unless its rate exceeds its noise rate + this")
    ] = 0.1,
    min_samples: Annotated[
        int, typer.Option(help="noise samples per route before rates are trusted")
    ] = 10,
    concurrency: Annotated[int, typer.Option(help="requests replayed at once")] = 4,
    seed: Annotated[int, typer.Option(help="seed of the request generator")] = 1,
    show: Annotated[int, typer.Option(help="mismatches to print")] = 5,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 30.0,
    save_requests: Annotated[
        Path | None, typer.Option(help="write the replayed requests here (JSON lines)")
    ] = None,
) -> None:
    """Replay requests against a primary and a candidate and diff every answer.

    Exit code 0: no difference above noise; 1: differences above noise; 2: could not compare.
    """
    settings = CompareSettings(
        primary=primary,
        candidate=candidate,
        secondary=secondary,
        requests=requests,
        generate=generate,
        rules=rules,
        report=report,
        staff_email=staff_email,
        staff_password=staff_password,
        margin=margin,
        min_samples=min_samples,
        concurrency=concurrency,
        seed=seed,
        show=show,
        timeout=timeout,
        save_requests=save_requests,
    )
    console = Console()
    progress = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("replay", total=None)
    try:
        with progress:
            result = run_compare(
                settings,
                on_total=lambda n: progress.update(task, total=n),
                on_progress=lambda n: progress.advance(task, n),
            )
    except (CompareFailed, ValueError) as exc:
        console.print(f"[red]cannot compare:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    render(result, settings, console)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result.to_dict(settings), indent=2), encoding="utf-8")
        console.print(f"report: {report}", soft_wrap=True)
    raise typer.Exit(result.exit_code)
