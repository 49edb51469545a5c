"""One data-plane worker process: uvicorn (uvloop + httptools) serving :class:`ProxyApp` on the
listening socket its supervisor passed down. Started by server.py, never by hand::

    KIT_PROXY_SETTINGS_JSON=... KIT_PROXY_FD=3 python -m strangler_proxy.worker

uvicorn's own ``Date`` and ``Server`` headers are off: upstream answers carry theirs, and the
proxy's own answers add a Date (two Date headers would be a protocol error).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn

from .accesslog import AccessLog, event
from .app import ProxyApp
from .asgiserver import Server, corked_http_protocol, run
from .config import ProxySettings
from .diff import RuleBook, default_rulebook
from .store import Store, open_store
from .table import RouteTable


def _heartbeat(var_dir: Path) -> Callable[[RouteTable], None]:
    path = var_dir / "workers" / f"{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(table: RouteTable) -> None:
        data = {"pid": os.getpid(), "generation": table.generation, "at": time.time()}
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)

    return write


def _tracer_provider(kind: str) -> object | None:
    if kind in ("", "off"):
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    return provider


def build_app(settings: ProxySettings) -> ProxyApp:
    rules: RuleBook = (
        RuleBook.load(settings.compare_rules) if settings.compare_rules else default_rulebook()
    )

    def make_store() -> Store:
        return open_store(
            settings.store,
            var_dir=settings.var_dir,
            routes_file=settings.routes_path,
            upstream_urls=settings.upstreams,
        )

    return ProxyApp(
        settings,
        store=make_store,
        access_log=AccessLog.open(settings.access_log_target),
        tracer_provider=_tracer_provider(settings.tracing),
        rules=rules,
        samples_path=settings.var_dir / "shadow" / f"{os.getpid()}.json",
        on_swap=_heartbeat(settings.var_dir),
        metrics_dir=settings.var_dir / "metrics",
    )


async def _orphan_guard(server: Server) -> None:
    parent = os.getppid()
    while not server.should_exit:
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            event("supervisor gone; worker exits", level="warning")
            server.should_exit = True


async def _serve(settings: ProxySettings, sock: socket.socket) -> None:
    app = build_app(settings)
    config = uvicorn.Config(
        app,
        loop="none",
        proxy_headers=False,  # the proxy is the edge: it sets X-Forwarded-* itself
        http=corked_http_protocol(),
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        log_level="warning",
        timeout_keep_alive=75,
        backlog=2048,
    )
    server = Server(config)
    guard = asyncio.create_task(_orphan_guard(server))
    # Everything imported so far lives as long as the process: keep it out of the collector's
    # way, and collect the young generation less often (the hot path allocates a lot, keeps
    # little).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        await server.serve(sockets=[sock])
    finally:
        guard.cancel()
        heartbeat = settings.var_dir / "workers" / f"{os.getpid()}.json"
        heartbeat.unlink(missing_ok=True)


def main() -> None:
    settings = ProxySettings.from_json(os.environ["KIT_PROXY_SETTINGS_JSON"])
    sock = socket.socket(fileno=int(os.environ["KIT_PROXY_FD"]))
    run(_serve(settings, sock))


if __name__ == "__main__":
    main()
