"""``strangler routes ...`` and ``strangler proxy``: run the strangler proxy, flip its routes.

    strangler proxy                         run a proxy replica (data + admin port, N workers)
    strangler routes list                   the table in force, and each worker's generation
    strangler routes set catalog shadow --why "compare before the flip"
    strangler routes set cart canary --percent 10
    strangler routes history                every change: generation, who, when, from, to, why
    strangler routes rollback [GENERATION]  restore a generation (default: the one before)

The ``routes`` verbs talk to the admin API: ``--admin-url``/``--token``, or the environment
(``KIT_PROXY_ADMIN_URL``, ``KIT_PROXY_ADMIN_TOKEN``), or else the local proxy's own files in
``--var-dir`` (``proxy.json``, ``admin-token``). Wired into the kit's CLI as
``app.add_typer(routes_app, name="routes")`` and ``app.command("proxy")(proxy_command)``.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from .processes import REPO_DIR
from .stack import StackInfo, StackMissing

DEFAULT_VAR_DIR = REPO_DIR / ".kit" / "proxy"

routes_app = typer.Typer(
    help="Show, flip and roll back the strangler proxy's routes (through its admin API).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

AdminUrl = Annotated[
    str,
    typer.Option(
        "--admin-url", envvar="KIT_PROXY_ADMIN_URL", help="the proxy's admin API (default: local)"
    ),
]
Token = Annotated[
    str, typer.Option("--token", envvar="KIT_PROXY_ADMIN_TOKEN", help="the admin token")
]
VarDir = Annotated[Path, typer.Option(help="the local proxy's folder (proxy.json, admin-token)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


class AdminFailed(Exception):
    """What went wrong talking to the admin API, and what to do about it."""


def default_who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


def resolve_admin(admin_url: str, token: str, var_dir: Path) -> tuple[str, str]:
    """The admin URL and token: given, from the environment (typer), the kit's (a stack.json
    written by `strangler up` in ``var_dir`` or in ``KIT_VAR_DIR``), or the local proxy's."""
    kit_home = Path(os.environ.get("KIT_VAR_DIR", str(REPO_DIR / ".kit" / "demo")))
    candidates = [var_dir / "stack.json"]
    if not (var_dir / "proxy.json").exists():  # a proxy of its own in var_dir comes first
        candidates.append(kit_home / "stack.json")
    for stack_file in candidates:
        if (admin_url and token) or not stack_file.exists():
            continue
        try:  # a kit started by `strangler up`: its stack.json names the proxy
            stack = StackInfo.load(stack_file)
        except (OSError, ValueError, KeyError, TypeError, StackMissing):
            continue
        admin_url = admin_url or stack.admin_url
        token = token or stack.admin_token
    if not admin_url:
        try:
            info = json.loads((var_dir / "proxy.json").read_text())
            admin_url = str(info["admin_url"])
        except (OSError, ValueError, KeyError):
            raise AdminFailed(
                f"no running proxy found in {var_dir} (no proxy.json): start one with "
                "`strangler proxy`, or pass --admin-url / set KIT_PROXY_ADMIN_URL"
            ) from None
    if not token:
        try:
            token = (var_dir / "admin-token").read_text().strip()
        except OSError:
            raise AdminFailed(
                "no admin token: pass --token or set KIT_PROXY_ADMIN_TOKEN "
                f"(a local proxy keeps it in {var_dir / 'admin-token'})"
            ) from None
    return admin_url.rstrip("/"), token


def call(
    admin_url: str,
    token: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """One admin API call; raises AdminFailed with a message a person can act on."""
    try:
        with httpx.Client(
            base_url=admin_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
            transport=transport,
        ) as client:
            response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise AdminFailed(
            f"cannot reach the proxy's admin API at {admin_url} ({exc}); is the proxy running "
            "(`strangler proxy`)? Pass --admin-url or set KIT_PROXY_ADMIN_URL otherwise"
        ) from None
    if response.status_code == 401:
        raise AdminFailed(
            "the admin API refused the token: pass --token or set KIT_PROXY_ADMIN_TOKEN"
        )
    try:
        data = response.json()
    except ValueError:
        raise AdminFailed(
            f"{admin_url}{path} answered {response.status_code} without JSON: {response.text[:200]}"
        ) from None
    if response.status_code >= 400:
        detail = data.get("detail") or data.get("title") or response.reason_phrase
        raise AdminFailed(f"{detail} ({response.status_code} {data.get('code', '')})".strip())
    return dict(data)


def _fail(exc: AdminFailed) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def _state(state: Any) -> str:
    if not isinstance(state, dict):
        return "-" if state is None else str(state)
    if "mode" in state:
        return state["mode"] + (f" {state['percent']:g}%" if "percent" in state else "")
    parts = [f"{k}: {_state(v)}" for k, v in state.items() if k != "restored"]
    return ", ".join(parts) or "-"


@routes_app.command("list")
def routes_list(
    admin_url: AdminUrl = "",
    token: Token = "",
    var_dir: VarDir = DEFAULT_VAR_DIR,
    as_json: AsJson = False,
) -> None:
    """Show the route table in force."""
    try:
        url, tok = resolve_admin(admin_url, token, var_dir)
        data = call(url, tok, "GET", "/admin/routes")
    except AdminFailed as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(title=f"route table, generation {data['generation']}")
    for column in ("route", "prefixes", "mode", "serves", "service", "fallback"):
        table.add_column(column)
    for route in data["routes"]:
        mode = route["mode"] + (f" {route['percent']:g}%" if route["mode"] == "canary" else "")
        serves = {
            "monolith": route["monolith"],
            "shadow": f"{route['monolith']} (mirror to {route['service']})",
            "canary": f"{route['service']} / {route['monolith']}",
            "service": route["service"],
        }[route["mode"]]
        table.add_row(
            route["route"],
            " ".join(route["prefixes"]) or str(route.get("pattern") or ""),
            mode,
            serves,
            route["service"] or "-",
            route["fallback"] or "-",
        )
    table.add_row("default", "(anything else)", "monolith", data["default"], "-", "-")
    console.print(table)
    workers = data.get("workers") or []
    if workers:
        generations = ", ".join(str(w["generation"]) for w in workers)
        console.print(f"{len(workers)} worker(s), on generation(s) {generations}")


@routes_app.command("set")
def routes_set(
    route: Annotated[str, typer.Argument(help="route key: users, catalog, cart, orders, ...")],
    mode: Annotated[str, typer.Argument(help="monolith | shadow | canary | service")],
    percent: Annotated[
        float | None, typer.Option(help="canary share of users, 0..100 (sticky per user)")
    ] = None,
    why: Annotated[str, typer.Option(help="why (recorded in the history)")] = "",
    who: Annotated[str, typer.Option(help="who (default: user@host)")] = "",
    admin_url: AdminUrl = "",
    token: Token = "",
    var_dir: VarDir = DEFAULT_VAR_DIR,
) -> None:
    """Change one route's mode (atomic: every worker and replica switches within a second)."""
    if mode == "canary" and percent is None:
        console.print("[red]error:[/red] canary needs --percent N (0..100)")
        raise typer.Exit(2)
    body: dict[str, Any] = {"mode": mode, "why": why, "who": who or default_who()}
    if percent is not None:
        body["percent"] = percent
    try:
        url, tok = resolve_admin(admin_url, token, var_dir)
        data = call(url, tok, "PUT", f"/admin/routes/{route}", body)
    except AdminFailed as exc:
        raise _fail(exc) from None
    change = data["change"]
    if not data["changed"]:
        asked = {"mode": mode, **({"percent": percent} if percent is not None else {})}
        console.print(f"{route} is already {_state(asked)}; nothing to do")
        return
    console.print(
        f"generation {change['generation']}: {route} "
        f"{_state(change['from'])} -> {_state(change['to'])}"
    )


@routes_app.command("history")
def routes_history(
    limit: Annotated[int, typer.Option(help="how many changes (newest first)")] = 20,
    admin_url: AdminUrl = "",
    token: Token = "",
    var_dir: VarDir = DEFAULT_VAR_DIR,
    as_json: AsJson = False,
) -> None:
    """Every change of the route table: generation, when, who, from, to, why."""
    try:
        url, tok = resolve_admin(admin_url, token, var_dir)
        data = call(url, tok, "GET", f"/admin/history?limit={limit}")
    except AdminFailed as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(title="route table history")
    for column in ("gen", "at", "who", "action", "route", "from", "to", "why"):
        table.add_column(column)
    for change in data["changes"]:
        to = change["to"] or {}
        action = change["action"]
        if isinstance(to, dict) and "restored" in to:
            action += f" to {to['restored']}"
        table.add_row(
            str(change["generation"]),
            change["at"],
            change["who"],
            action,
            change["route"],
            _state(change["from"]),
            _state(change["to"]),
            change["why"],
        )
    console.print(table)


@routes_app.command("rollback")
def routes_rollback(
    generation: Annotated[
        int | None, typer.Argument(help="generation to restore (default: the one before)")
    ] = None,
    why: Annotated[str, typer.Option(help="why (recorded in the history)")] = "",
    who: Annotated[str, typer.Option(help="who (default: user@host)")] = "",
    admin_url: AdminUrl = "",
    token: Token = "",
    var_dir: VarDir = DEFAULT_VAR_DIR,
) -> None:
    """Restore an earlier generation's table (recorded as a new generation)."""
    body: dict[str, Any] = {"why": why, "who": who or default_who()}
    if generation is not None:
        body["generation"] = generation
    try:
        url, tok = resolve_admin(admin_url, token, var_dir)
        data = call(url, tok, "POST", "/admin/rollback", body)
    except AdminFailed as exc:
        raise _fail(exc) from None
    change = data["change"]
    restored = (change["to"] or {}).get("restored", generation)
    if not data["changed"]:
        console.print(f"generation {restored} is what is in force already; nothing to do")
        return
    console.print(
        f"generation {change['generation']}: restored generation {restored} "
        f"({_state(change['from'])} -> {_state(change['to'])})"
    )


def proxy_command(
    port: Annotated[int, typer.Option(help="data port: where clients connect (0: any)")] = 8080,
    admin_port: Annotated[int, typer.Option(help="admin API and /metrics port (0: any)")] = 8081,
    host: Annotated[str, typer.Option(help="data address")] = "127.0.0.1",
    admin_host: Annotated[str, typer.Option(help="admin address")] = "127.0.0.1",
    var_dir: VarDir = DEFAULT_VAR_DIR,
    routes: Annotated[
        Path | None, typer.Option(help="route table file (YAML/JSON); default VAR_DIR/routes.yaml")
    ] = None,
    monolith: Annotated[
        str, typer.Option(help="the monolith's URL (for the default route table)")
    ] = "http://127.0.0.1:8000",
    upstream: Annotated[
        list[str] | None, typer.Option(help="NAME=URL of an upstream (repeat), e.g. catalog=...")
    ] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    store: Annotated[
        str, typer.Option(envvar="KIT_PROXY_STORE", help="'file' or a postgres:// URL (replicas)")
    ] = "file",
    access_log: Annotated[str, typer.Option(help="off, - (stdout) or a path")] = "",
    token: Token = "",
) -> None:
    """Run the strangler proxy until Ctrl+C: every route to the monolith until you flip one."""
    from strangler_proxy.config import ProxySettings, parse_upstreams
    from strangler_proxy.server import StartupError, serve

    try:
        upstreams = parse_upstreams(upstream or [])
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    # KIT_PROXY_* variables (shadow queue, tracing, trusted forwarding...) fill in the rest.
    settings = ProxySettings.from_env(
        host=host,
        port=port,
        admin_host=admin_host,
        admin_port=admin_port,
        var_dir=var_dir,
        routes_file=routes,
        store=store,
        monolith_url=monolith,
        workers=workers,
        access_log=access_log,
        admin_token=token,
    )
    settings.upstreams.update(upstreams)
    console.print(
        f"starting the strangler proxy ({workers} worker(s), store: "
        f"{'file' if store == 'file' else 'postgres'}); its URLs are in {var_dir / 'proxy.json'}. "
        "Ctrl+C stops it."
    )
    try:
        code = serve(settings)
    except StartupError as exc:
        console.print(f"[red]could not start the proxy:[/red] {exc}")
        raise typer.Exit(1) from None
    if code:
        console.print(f"[red]the proxy stopped with errors; its log is above ({var_dir})[/red]")
        raise typer.Exit(code)
