"""The whole kit as local processes: the monolith, every extracted service, their relays and
consumers, and the strangler proxy in front. ``strangler up`` and the walkthrough start it;
tests start it on PostgreSQL + RabbitMQ. It writes ``<var>/stack.json`` for the stage verbs.

Embedded default: SQLite files and one shared broker folder (kombu's filesystem transport);
every process uses the same folder, so exchanges and queues are shared as on RabbitMQ.
Every service starts as a follower of the monolith: stage 0 has one writer for everything.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .databases import postgres_create, postgres_drop
from .processes import (
    MONOLITH_DIR,
    REPO_DIR,
    MonolithConfig,
    ProcessFailed,
    Server,
    ServiceConfig,
    background,
    free_port,
    monolith_prepare,
    monolith_start,
    service_prepare,
    service_start,
)
from .stack import Side, StackInfo

SERVICES = ("notifications", "catalog")  # every extracted service, in stage order
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@dataclass
class LocalStack:
    var_dir: Path
    info: StackInfo
    servers: list[Server] = field(default_factory=list)
    helpers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)  # PostgreSQL databases to drop

    @property
    def stack_file(self) -> Path:
        return self.var_dir / "stack.json"

    def check(self) -> None:
        """Raise ProcessFailed if a process died (the message names its log)."""
        for server in self.servers:
            if server.process.poll() is not None:
                raise ProcessFailed(
                    f"{server.name} exited; see {server.log_path}:\n{server.log_tail()}"
                )
        for name, process in self.helpers.items():
            if process.poll() is not None:
                raise ProcessFailed(
                    f"{name} exited with {process.returncode}; see {self.var_dir / 'logs' / (name + '.log')}"
                )

    def stop(self) -> None:
        for process in self.helpers.values():
            if process.poll() is None:
                process.terminate()
        for server in reversed(self.servers):
            server.stop()
        for process in self.helpers.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.info.broker_url.startswith("amqp://") and self.info.eventbus_prefix:
            _delete_topology(self.info)
        for url in self.databases:
            postgres_drop(url)
        self.stack_file.unlink(missing_ok=True)


def start_stack(
    var_dir: Path,
    *,
    db: str = "sqlite",
    products: int = 200,
    proxy_port: int = 0,
    admin_port: int = 0,
    extra_env: dict[str, str] | None = None,
) -> LocalStack:
    """Prepare and start every process; return once all are ready (or raise ProcessFailed)."""
    var_dir = Path(var_dir).resolve()  # the broker URL and every process need absolute paths
    var_dir.mkdir(parents=True, exist_ok=True)
    logs = var_dir / "logs"
    databases: list[str] = []
    if db == "postgres":
        broker_url, prefix = RABBITMQ_URL, f"kit-{secrets.token_hex(4)}."
        mono_db = postgres_create("kit_monolith")
        databases.append(mono_db)
        service_dbs = {name: postgres_create(f"kit_{name}") for name in SERVICES}
        databases += service_dbs.values()
    elif db == "sqlite":
        broker_url, prefix, mono_db = f"filesystem://{var_dir / 'broker'}", "", ""
        service_dbs = {name: "" for name in SERVICES}
    else:
        raise ValueError(f"db must be sqlite or postgres, not {db!r}")
    token = secrets.token_urlsafe(24)  # the monolith -> catalog internal API token
    env = dict(extra_env or {})
    services = {
        name: ServiceConfig(
            context=name,
            var_dir=var_dir / name,
            database_url=service_dbs[name],
            broker_url=broker_url,
            eventbus_prefix=prefix,
            # One sink folder for both sides: it drops a message delivered twice (by id).
            extra_env={
                "CATALOG_SERVICE_TOKEN": token,
                "NOTIFICATIONS_SINK": str(var_dir / "sink"),
                **env,
            },
        )
        for name in SERVICES
    }
    mono = MonolithConfig(
        var_dir=var_dir / "monolith",
        database_url=mono_db,
        extra_env={
            "SHOP_BROKER_URL": broker_url,
            "SHOP_EVENTBUS_PREFIX": prefix,
            "SHOP_CATALOG_URL": services["catalog"].base_url,
            "SHOP_CATALOG_SERVICE_TOKEN": token,
            "SHOP_PAYMENTS_SLOW_SECONDS": "0.3",  # the suite's slow-provider test waits for it
            "SHOP_NOTIFICATIONS_SINK": f"dir:{var_dir / 'sink'}",
            # The stage verbs, the walkthrough and each behaviour-suite worker log the staff
            # account in; 5/min per account (the default) is too few for one rehearsal (the suite
            # only needs a throttle below 30/min).
            "SHOP_LOGIN_RATE": "20/min",
            **env,
        },
    )
    for cfg in services.values():
        cfg.jwks_url = f"{mono.base_url}/api/users/jwks.json"
        cfg.monolith_url = mono.base_url
    stack = LocalStack(var_dir, _info(mono, services, broker_url, prefix), databases=databases)
    try:
        monolith_prepare(mono, seed_products=products)
        for cfg in services.values():
            service_prepare(cfg)
        # Queues first (consumers declare them), so nothing published from now on is missed.
        stack.helpers["monolith-consumer"] = background(
            "monolith-consumer",
            [
                sys.executable,
                "-m",
                "stages.cli_events",
                "consume",
                "--service",
                "monolith",
                "--var-dir",
                str(mono.var_dir),
            ],
            env=mono.env(),
            cwd=MONOLITH_DIR,
            log_path=logs / "monolith-consumer.log",
        )
        for name, cfg in services.items():
            stack.helpers[f"{name}-consumer"] = background(
                f"{name}-consumer",
                [sys.executable, str(cfg.directory / "manage.py"), "consume", name],
                env=cfg.env(),
                cwd=cfg.directory,
                log_path=logs / f"{name}-consumer.log",
            )
        _wait_for_queues(broker_url, prefix, ("monolith", *SERVICES))
        stack.helpers["monolith-relay"] = background(
            "monolith-relay",
            [sys.executable, "-m", "stages.cli_events", "relay", "--var-dir", str(mono.var_dir)],
            env=mono.env(),
            cwd=MONOLITH_DIR,
            log_path=logs / "monolith-relay.log",
        )
        for name, cfg in services.items():
            stack.helpers[f"{name}-relay"] = background(
                f"{name}-relay",
                [sys.executable, str(cfg.directory / "manage.py"), "relay"],
                env=cfg.env(),
                cwd=cfg.directory,
                log_path=logs / f"{name}-relay.log",
            )
        stack.servers.append(monolith_start(mono))
        for cfg in services.values():
            stack.servers.append(service_start(cfg))
        proxy_dir = var_dir / "proxy"
        argv = [
            sys.executable,
            "-m",
            "strangler_proxy",
            "--monolith",
            mono.base_url,
            "--port",
            str(proxy_port or free_port()),
            "--admin-port",
            str(admin_port or free_port()),
            "--var-dir",
            str(proxy_dir),
            "--workers",
            "2",
            "--access-log",
            "off",
        ]
        for name, cfg in services.items():
            argv += ["--upstream", f"{name}={cfg.base_url}"]
        (proxy_dir / "proxy.json").unlink(missing_ok=True)
        process = background("proxy", argv, env=_env(), cwd=REPO_DIR, log_path=logs / "proxy.log")
        proxy_info = _wait_for_proxy(proxy_dir, process, logs / "proxy.log")
        stack.servers.append(
            Server("proxy", str(proxy_info["data_url"]), process, logs / "proxy.log")
        )
        stack.info.proxy_url = str(proxy_info["data_url"])
        stack.info.admin_url = str(proxy_info["admin_url"])
        stack.info.admin_token = (proxy_dir / "admin-token").read_text().strip()
        stack.info.save(stack.stack_file)
        stack.check()
    except BaseException:
        stack.stop()
        raise
    return stack


def _manage_script(
    path: Path, env: dict[str, str], keep: tuple[str, ...], manage_py: Path, settings: str
) -> list[str]:
    """A wrapper that runs one side's manage.py with that side's settings (the stage hooks and
    a person at a terminal use it: ``<var>/<side>/manage.sh ownership show``)."""
    import shlex

    lines = ["#!/bin/sh", "# written by strangler up: this side's settings, then its manage.py"]
    # Explicit: a caller's own DJANGO_SETTINGS_MODULE (a test run's, say) must not leak in.
    lines.append(f"export DJANGO_SETTINGS_MODULE={shlex.quote(settings)}")
    for key in sorted(env):
        if key.startswith(keep):
            lines.append(f"export {key}={shlex.quote(env[key])}")
    lines.append(f'exec {shlex.quote(sys.executable)} {shlex.quote(str(manage_py))} "$@"')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o700)  # it holds the side's secret key
    return [str(path)]


def _info(
    mono: MonolithConfig, services: dict[str, ServiceConfig], broker_url: str, prefix: str
) -> StackInfo:
    """The stack as the stage verbs see it; the proxy's URLs and token are filled in once it
    is up."""
    mono_env = mono.env()
    monolith = Side(
        "monolith",
        mono.base_url,
        mono.database_url,
        _manage_script(
            mono.var_dir / "manage.sh",
            mono_env,
            ("SHOP_",),
            MONOLITH_DIR / "manage.py",
            mono_env["DJANGO_SETTINGS_MODULE"],
        ),
    )
    sides = {
        n: Side(
            n,
            c.base_url,
            c.database_url,
            _manage_script(
                c.var_dir / "manage.sh",
                c.env(),
                (c.prefix, *c.extra_env),
                c.directory / "manage.py",
                f"{n}_service.settings",
            ),
        )
        for n, c in services.items()
    }
    return StackInfo(
        proxy_url="",
        admin_url="",
        admin_token="",
        monolith=monolith,
        broker_url=broker_url,
        eventbus_prefix=prefix,
        services=sides,
        staff_email=mono.staff_email,
        staff_password=mono.staff_password,
    )


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_for_queues(
    broker_url: str, prefix: str, services: tuple[str, ...], timeout: float = 60
) -> None:
    from .handover import queue_exists

    deadline = time.monotonic() + timeout
    missing = list(services)
    while missing:
        missing = [s for s in missing if not queue_exists(broker_url, prefix, s)]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise ProcessFailed(
                f"consumers did not declare their queues in {timeout:.0f}s: {missing}"
            )
        time.sleep(0.2)


def _wait_for_proxy(
    proxy_dir: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ProcessFailed(f"the proxy exited with {process.returncode}; see {log}")
        try:
            info = json.loads((proxy_dir / "proxy.json").read_text())
            response = httpx.get(str(info["admin_url"]) + "/health/ready", timeout=2)
            if response.status_code == 200:
                return dict(info)
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise ProcessFailed(f"the proxy was not ready after {timeout:.0f}s; see {log}")


def _delete_topology(info: StackInfo) -> None:
    from eventbus.broker import connect
    from eventbus.topology import Topology

    topology = Topology(
        prefix=info.eventbus_prefix, subscriptions={s: ("#",) for s in ("monolith", *SERVICES)}
    )
    try:
        with connect(info.broker_url) as conn:
            topology.delete(conn.default_channel)
    except Exception as exc:  # leftovers are harmless (prefixed); say so and go on
        print(f"could not delete the stack's queues on {info.broker_url}: {exc}", file=sys.stderr)


def detach(stack: LocalStack) -> Path:
    """Leave the stack running after this process exits; ``stop_detached`` stops it."""
    record = {
        "pids": [s.process.pid for s in stack.servers] + [p.pid for p in stack.helpers.values()],
        "databases": stack.databases,
    }
    path = stack.var_dir / "pids.json"
    path.write_text(json.dumps(record))
    return path


def stop_detached(var_dir: Path, timeout: float = 15.0) -> int | None:
    """Stop what ``detach`` left running; the number of processes stopped (None: nothing ran)."""
    import os
    import signal

    path = Path(var_dir).resolve() / "pids.json"
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pids = [int(p) for p in record.get("pids", [])]
    alive = [p for p in pids if _alive(p)]
    for pid in alive:
        with _suppress():
            os.killpg(pid, signal.SIGTERM)  # each was started in its own session
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in alive) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        if _alive(pid):
            with _suppress():
                os.killpg(pid, signal.SIGKILL)
    for url in record.get("databases", []):
        postgres_drop(url)
    path.unlink(missing_ok=True)
    (Path(var_dir).resolve() / "stack.json").unlink(missing_ok=True)
    return len(alive)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (our own exited child) is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _suppress() -> Any:
    import contextlib

    return contextlib.suppress(OSError)
