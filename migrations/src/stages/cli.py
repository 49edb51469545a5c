"""``strangler``: the kit's one command-line tool.

    strangler demo    the walkthrough: start everything, then every stage planned, applied,
                      verified (parity + behaviour suite), rolled back and re-applied; one table
    strangler up      run every process (monolith, services, relays, consumers, proxy) until Ctrl+C
    strangler stage   status | plan N | apply N | verify N | rollback N

Every failure prints what went wrong and what to do next.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .cli_data import backfill_command, reconcile_command, verify_command
from .cli_events import consume_command, events_app, relay_command
from .cli_routes import proxy_command, routes_app
from .cli_stage import ERRORS as STAGE_ERRORS
from .cli_stage import stage_app
from .compare import compare_command
from .journey import Step, StepFailed
from .localstack import LocalStack, start_stack, stop_detached
from .localstack import detach as detach_stack
from .plan import load_plan
from .processes import REPO_DIR, ProcessFailed, free_port
from .walkthrough import Walkthrough

app = typer.Typer(
    help="The strangler kit: run the monolith, and (stage by stage) take it apart.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

VarDir = Annotated[
    Path, typer.Option(envvar="KIT_VAR_DIR", help="where databases, keys and logs live")
]
Port = Annotated[
    int, typer.Option(envvar="KIT_PORT", help="port for the monolith (0: any free port)")
]


def _port(requested: int) -> int:
    if requested == 0:
        return free_port()
    try:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", requested))
    except OSError:
        chosen = free_port()
        console.print(f"[yellow]port {requested} is busy; using {chosen}[/yellow]")
        return chosen
    return requested


def _start_stack(var_dir: Path, port: int, products: int, db: str) -> LocalStack:
    if var_dir.exists():
        shutil.rmtree(var_dir)  # every run starts from empty databases and queues
    with console.status(
        f"starting the kit in {var_dir}: monolith ({products} products), services, relays, "
        "consumers, proxy"
    ):
        started = time.perf_counter()
        stack = start_stack(var_dir, db=db, products=products, proxy_port=_port(port))
    console.print(f"started in {time.perf_counter() - started:.1f}s")
    return stack


def _serve_until_interrupted(stack: LocalStack) -> None:
    console.print("[bold]Ctrl+C stops everything.[/bold]")
    stop = False

    def _handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    while not stop:
        try:
            stack.check()
        except ProcessFailed as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        time.sleep(0.5)


def _print_urls(stack: LocalStack) -> None:
    info = stack.info
    url = info.proxy_url
    console.print(f"\nThe shop answers through the strangler proxy on [bold]{url}[/bold]")
    console.print(f"  products:  curl '{url}/api/catalog/products?page_size=3'")
    console.print(f"  routes:    strangler routes list --admin-url {info.admin_url}")
    console.print(f"  stages:    strangler stage status --stack {stack.stack_file}")
    console.print(f"  monolith:  {info.monolith.url}   (schema: {info.monolith.url}/api/schema/)")
    for name, side in info.services.items():
        console.print(f"  {name + ':':<10} {side.url}   (metrics: {side.url}/metrics)")
    console.print(f"  staff:     {info.staff_email} / {info.staff_password}")
    console.print(f"  logs:      {stack.var_dir / 'logs'} and each side's folder\n")


def _print_journey(steps: list[Step]) -> None:
    table = Table(title="A customer's journey through the proxy")
    for column in ("step", "status", "ms", "what came back"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.name, str(step.status), f"{step.millis:.0f}", step.note)
    console.print(table)


DB = Annotated[
    str, typer.Option(envvar="KIT_DB", help="sqlite (embedded) or postgres (+ RabbitMQ)")
]


@app.command()
def demo(
    var_dir: VarDir = REPO_DIR / ".kit" / "demo",
    port: Port = 8000,
    products: Annotated[int, typer.Option(help="demo products to seed")] = 2000,
    db: DB = "sqlite",
    suite: Annotated[
        bool, typer.Option(help="run the behaviour suite through the proxy at every verify")
    ] = True,
    until: Annotated[
        int | None, typer.Option(help="last stage to walk through (default: every stage)")
    ] = None,
    keep: Annotated[bool, typer.Option(help="keep everything running afterwards")] = False,
) -> None:
    """The walkthrough: every stage planned, applied, verified, rolled back and re-applied."""
    try:
        stack = _start_stack(var_dir, port, products, db)
    except ProcessFailed as exc:
        console.print(f"[red]could not start the kit:[/red] {exc}")
        raise typer.Exit(1) from exc
    try:
        plan = [s for s in load_plan() if until is None or s.number <= until]
        walk = Walkthrough(stack, plan, say=console.print, suite=suite)
        try:
            rows = walk.run(on_journey=_print_journey)
        except (StepFailed, ProcessFailed, *STAGE_ERRORS) as exc:
            console.print(f"[red]the walkthrough stopped:[/red] {exc}")
            console.print(f"logs: {stack.var_dir / 'logs'}")
            raise typer.Exit(1) from exc
        table = Table(title="The migration, rehearsed")
        table.add_column("stage", no_wrap=True)
        table.add_column("step", no_wrap=True)
        for column in ("gates", "parity", "behaviour suite", "s"):
            table.add_column(column)
        for row in rows:
            mark = "" if row.ok else "[red]FAILED[/red] "
            table.add_row(
                row.stage, mark + row.step, row.gates, row.parity, row.suite, f"{row.seconds:.1f}"
            )
        console.print(table)
        _print_urls(stack)
        if not walk.ok:
            raise typer.Exit(1)
        if keep:
            _serve_until_interrupted(stack)
    finally:
        stack.stop()


@app.command()
def up(
    var_dir: VarDir = REPO_DIR / ".kit" / "demo",
    port: Port = 8000,
    products: Annotated[int, typer.Option(help="demo products to seed")] = 2000,
    db: DB = "sqlite",
    detach: Annotated[
        bool, typer.Option(help="leave it running; `strangler down` stops it")
    ] = False,
) -> None:
    """Run every process (stage 0: the monolith writes everything) until Ctrl+C; then explore
    with `strangler stage ...` and `strangler routes ...` from another terminal."""
    if (var_dir / "pids.json").exists() and stop_detached(var_dir):
        console.print("stopped the kit that was still running there")
    try:
        stack = _start_stack(var_dir, port, products, db)
    except ProcessFailed as exc:
        console.print(f"[red]could not start the kit:[/red] {exc}")
        raise typer.Exit(1) from exc
    _print_urls(stack)
    if detach:
        detach_stack(stack)
        console.print("running in the background; `strangler down` stops it")
        return
    try:
        _serve_until_interrupted(stack)
    finally:
        stack.stop()


@app.command()
def down(var_dir: VarDir = REPO_DIR / ".kit" / "demo") -> None:
    """Stop what `strangler up --detach` started."""
    stopped = stop_detached(var_dir)
    if stopped is None:
        console.print("nothing is running")
        return
    console.print(f"stopped the kit ({stopped} processes)")


# Each concern's verbs live in its own module; this file only assembles them.
app.command("compare")(compare_command)
app.add_typer(routes_app, name="routes")
app.add_typer(stage_app, name="stage")
app.command("proxy")(proxy_command)
app.add_typer(events_app)
app.command("relay")(relay_command)
app.command("consume")(consume_command)
app.command("backfill")(backfill_command)
app.command("verify")(verify_command)
app.command("reconcile")(reconcile_command)


if __name__ == "__main__":
    app()
