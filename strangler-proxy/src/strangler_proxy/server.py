"""The supervisor: one process per proxy replica.

    serve(settings)
      ├─ store: seed it (routes file, or the kit's default table) on first start
      ├─ data socket (bound here, inherited by every worker: one port, N processes)
      ├─ workers: ``python -m strangler_proxy.worker`` x N, restarted when one dies
      ├─ RoutesFileSync thread: edits of the routes file -> generations, and back
      └─ admin API (uvicorn, its own port): routes, history, rollback, /metrics (all workers)

Writes ``<var_dir>/proxy.json`` (URLs and pid) once started, so the CLI and tests find it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from .accesslog import event
from .admin import AdminApp
from .asgiserver import Server, run
from .config import ProxySettings
from .metrics import render_snapshots
from .store import FileStore, Store, open_store, write_routes_file
from .table import TableError, kit_default_data, load_text, parse_data
from .watch import RoutesFileSync

RESTART_WINDOW = 5.0  # a worker dying sooner than this after its start counts as a crash loop
MAX_QUICK_RESTARTS = 5


class StartupError(RuntimeError):
    """The proxy cannot start; the message says why and what to do."""


def seed_store(store: Store, settings: ProxySettings) -> None:
    """First start: the routes file (or the kit's default table) becomes generation 1. Later
    starts: a routes file edited while the proxy was stopped becomes a generation (file store);
    with a shared store, the store wins and the file is rewritten."""
    path = settings.routes_path
    if store.latest_generation() == 0:
        if path.exists():
            data = load_text(path.read_text(encoding="utf-8"), source=str(path))
            why = f"first start, from {path}"
        else:
            data = kit_default_data(settings.monolith_url, settings.upstreams)
            why = "first start, the kit's default table (every route to the monolith)"
        store.init(data, who="startup", why=why)
    elif isinstance(store, FileStore) and path.exists():
        try:
            data = load_text(path.read_text(encoding="utf-8"), source=str(path))
            parse_data(data, source=str(path), upstream_urls=settings.upstreams)
        except TableError as exc:
            event("routes file refused; the stored table stays", level="error", error=str(exc))
        else:
            store.replace(
                data, who="file", why=f"{path} changed while the proxy was stopped", action="edit"
            )
    table = store.current()
    if table is not None:
        write_routes_file(path, table)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc} (choose another port)") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    started: float


class Supervisor:
    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.var_dir = settings.var_dir
        self.metrics_dir = self.var_dir / "metrics"
        self.workers: list[Worker] = []
        self.stopping = False
        self.quick_restarts = 0
        self.data_sock: socket.socket | None = None
        self.admin_sock: socket.socket | None = None

    def prepare(self) -> Store:
        s = self.settings
        self.var_dir.mkdir(parents=True, exist_ok=True)
        s.ensure_token()
        for sub in ("metrics", "workers", "shadow"):
            shutil.rmtree(self.var_dir / sub, ignore_errors=True)
            (self.var_dir / sub).mkdir(parents=True)
        try:
            store = open_store(
                s.store, var_dir=s.var_dir, routes_file=s.routes_path, upstream_urls=s.upstreams
            )
        except Exception as exc:
            raise StartupError(f"cannot open the route store {s.store!r}: {exc}") from exc
        try:
            seed_store(store, s)
        except TableError as exc:
            store.close()
            raise StartupError(f"the route table is not valid: {exc}") from exc
        return store

    def spawn(self) -> Worker:
        assert self.data_sock is not None
        fd = self.data_sock.fileno()
        env = dict(
            os.environ,
            KIT_PROXY_SETTINGS_JSON=self.settings.to_json(),
            KIT_PROXY_FD=str(fd),
            PYTHONUNBUFFERED="1",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "strangler_proxy.worker"], env=env, pass_fds=(fd,)
        )
        return Worker(process, time.monotonic())

    async def supervise(self, server: Server) -> None:
        while not self.stopping:
            await asyncio.sleep(0.5)
            for i, worker in enumerate(self.workers):
                code = worker.process.poll()
                if code is None or self.stopping or server.should_exit:
                    continue
                quick = time.monotonic() - worker.started < RESTART_WINDOW
                self.quick_restarts = self.quick_restarts + 1 if quick else 0
                event("worker exited", level="error", pid=worker.process.pid, code=code)
                if self.quick_restarts > MAX_QUICK_RESTARTS:
                    event("workers keep crashing; the proxy stops", level="error")
                    server.should_exit = True
                    return
                self.workers[i] = self.spawn()

    def stop_workers(self, timeout: float = 10.0) -> None:
        self.stopping = True
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            try:
                worker.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()

    async def run(self) -> int:
        s = self.settings
        store = await asyncio.to_thread(self.prepare)
        self.data_sock = bind(s.host, s.port)
        self.admin_sock = bind(s.admin_host, s.admin_port)
        admin = AdminApp(
            store=store,
            token=s.ensure_token(),
            render_metrics=lambda: render_snapshots(self.metrics_dir),
            var_dir=self.var_dir,
            workers=s.workers,
        )
        sync_store = open_store(
            s.store, var_dir=s.var_dir, routes_file=s.routes_path, upstream_urls=s.upstreams
        )
        sync = RoutesFileSync(sync_store, s.routes_path)
        sync.start()
        self.workers = [self.spawn() for _ in range(max(1, s.workers))]
        config = uvicorn.Config(
            admin, lifespan="on", access_log=False, log_level="warning", loop="none"
        )
        server = Server(config)
        info: dict[str, Any] = {
            "pid": os.getpid(),
            "data_url": _url(self.data_sock),
            "admin_url": _url(self.admin_sock),
            "workers": s.workers,
            "store": "file" if s.store in ("", "file") else "postgres",
            "var_dir": str(self.var_dir),
        }
        info_path = self.var_dir / "proxy.json"
        info_path.write_text(json.dumps(info, indent=2))
        event("strangler proxy started", **info)
        watcher = asyncio.create_task(self.supervise(server))
        try:
            await server.serve(sockets=[self.admin_sock])
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await asyncio.to_thread(self.stop_workers)
            sync.stop()
            sync_store.close()
            store.close()
            with contextlib.suppress(OSError):
                self.data_sock.close()
            info_path.unlink(missing_ok=True)
        return 1 if self.quick_restarts > MAX_QUICK_RESTARTS else 0


def serve(settings: ProxySettings) -> int:
    """Run a proxy replica until SIGINT/SIGTERM; the exit code."""
    supervisor = Supervisor(settings)
    try:
        return run(supervisor.run())
    finally:
        supervisor.stop_workers()
