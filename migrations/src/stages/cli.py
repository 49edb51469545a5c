"""``strangler``: the kit's one command-line tool.

    strangler demo    set up the monolith with demo data, serve it, walk a customer through it
    strangler up      serve the monolith (and, as the kit grows, every process) until Ctrl+C

Every failure prints what went wrong and what to do next.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .cli_events import consume_command, events_app, relay_command
from .cli_routes import proxy_command, routes_app
from .compare import compare_command
from .journey import Journey, StepFailed
from .processes import (
    REPO_DIR,
    MonolithConfig,
    ProcessFailed,
    Server,
    free_port,
    monolith_prepare,
    monolith_start,
)

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


def _start(var_dir: Path, port: int, products: int, fresh: bool) -> tuple[MonolithConfig, Server]:
    if fresh and var_dir.exists():
        shutil.rmtree(var_dir)
    cfg = MonolithConfig(var_dir=var_dir, port=_port(port))
    with console.status(
        f"preparing the monolith in {var_dir} (migrate, keys, {products} products)"
    ):
        started = time.perf_counter()
        monolith_prepare(cfg, seed_products=products)
        console.print(f"prepared in {time.perf_counter() - started:.1f}s")
    with console.status("starting the monolith (gunicorn, threaded workers)"):
        server = monolith_start(cfg)
    return cfg, server


def _serve_until_interrupted(server: Server) -> None:
    console.print("[bold]Ctrl+C stops it.[/bold]")
    stop = False

    def _handler(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    while not stop and server.process.poll() is None:
        time.sleep(0.2)
    if server.process.poll() is not None:
        console.print(f"[red]the monolith exited; its log: {server.log_path}[/red]")
        console.print(server.log_tail())
        raise typer.Exit(1)


def _print_urls(cfg: MonolithConfig) -> None:
    url = cfg.base_url
    console.print(f"\nThe monolith answers on [bold]{url}[/bold]")
    console.print(f"  products:  curl '{url}/api/catalog/products?page_size=3'")
    console.print(f"  schema:    {url}/api/schema/")
    console.print(f"  health:    {url}/health/ready")
    console.print(f"  staff:     {cfg.staff_email} / {cfg.staff_password}")
    console.print(f"  logs:      {cfg.var_dir / 'monolith.log'}\n")


@app.command()
def demo(
    var_dir: VarDir = REPO_DIR / ".kit" / "demo",
    port: Port = 8000,
    products: Annotated[int, typer.Option(help="demo products to seed")] = 2000,
    fresh: Annotated[bool, typer.Option(help="start from empty databases")] = False,
    once: Annotated[bool, typer.Option(help="stop after the journey instead of serving")] = False,
) -> None:
    """Set up the monolith with demo data, walk a customer through it, then keep serving."""
    try:
        cfg, server = _start(var_dir, port, products, fresh)
    except ProcessFailed as exc:
        console.print(f"[red]could not start the monolith:[/red] {exc}")
        console.print("Try `strangler demo --fresh`, or read the log named above.")
        raise typer.Exit(1) from exc
    try:
        try:
            steps = Journey(cfg.base_url).run()
        except StepFailed as exc:
            console.print(f"[red]journey failed:[/red] {exc}")
            console.print(f"The monolith's log: {server.log_path}")
            raise typer.Exit(1) from exc
        table = Table(title="A customer's journey through the monolith")
        for column in ("step", "status", "ms", "what came back"):
            table.add_column(column)
        for step in steps:
            table.add_row(step.name, str(step.status), f"{step.millis:.0f}", step.note)
        console.print(table)
        _print_urls(cfg)
        if not once:
            _serve_until_interrupted(server)
    finally:
        server.stop()


@app.command()
def up(
    var_dir: VarDir = REPO_DIR / ".kit" / "demo",
    port: Port = 8000,
    products: Annotated[int, typer.Option(help="demo products to seed")] = 2000,
    detach: Annotated[
        bool, typer.Option(help="leave it running; `strangler down` stops it")
    ] = False,
) -> None:
    """Serve the monolith with demo data until Ctrl+C (or, with --detach, until `down`)."""
    pid_file = var_dir / "monolith.pid"
    if detach and _running_pid(pid_file):
        console.print(
            f"[red]already running (pid {_running_pid(pid_file)}); `strangler down` first[/red]"
        )
        raise typer.Exit(1)
    try:
        cfg, server = _start(var_dir, port, products, fresh=False)
    except ProcessFailed as exc:
        console.print(f"[red]could not start the monolith:[/red] {exc}")
        raise typer.Exit(1) from exc
    _print_urls(cfg)
    if detach:
        pid_file.write_text(str(server.process.pid))
        console.print(
            f"running in the background (pid {server.process.pid}); `strangler down` stops it"
        )
        return
    try:
        _serve_until_interrupted(server)
    finally:
        server.stop()


def _running_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


@app.command()
def down(var_dir: VarDir = REPO_DIR / ".kit" / "demo") -> None:
    """Stop what `strangler up --detach` started."""
    pid_file = var_dir / "monolith.pid"
    pid = _running_pid(pid_file)
    if pid is None:
        console.print("nothing is running")
        pid_file.unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if _running_pid(pid_file) is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    console.print(f"stopped the monolith (pid {pid})")


# Each concern's verbs live in its own module; this file only assembles them.
app.command("compare")(compare_command)
app.add_typer(routes_app, name="routes")
app.command("proxy")(proxy_command)
app.add_typer(events_app)
app.command("relay")(relay_command)
app.command("consume")(consume_command)


if __name__ == "__main__":
    app()
