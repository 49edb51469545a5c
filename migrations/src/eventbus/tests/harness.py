"""Real processes for the event backbone's tests and benchmark.

A :class:`Stack` is one run: a fresh database (a SQLite file, or a throw-away PostgreSQL
database), a broker namespace (a folder for the embedded broker, or a unique name prefix on
RabbitMQ), and the relay, consumer and producer processes started against them with
``eventbus.tests.settings``. ``close()`` stops the processes, deletes the queues and exchanges
and drops the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[4]
RABBITMQ_URL = os.environ.get("KIT_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
IN_CI = os.environ.get("CI", "").lower() == "true"


def rabbitmq_answers(url: str = RABBITMQ_URL, timeout: float = 2.0) -> str | None:
    """None when RabbitMQ answers, else why not (for skip messages)."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"RabbitMQ does not answer at {url}: {exc}"
    return None


def postgres_reason() -> str | None:
    from stages.databases import postgres_answers

    return postgres_answers()


def need(*servers: str) -> None:
    """Skip (fail with CI=true) unless the servers answer."""
    import pytest

    for server in servers:
        reason = rabbitmq_answers() if server == "rabbitmq" else postgres_reason()
        if reason:
            if IN_CI:
                pytest.fail(f"CI=true and {reason}")
            pytest.skip(reason)


RABBITMQ_LOCK = Path(tempfile.gettempdir()) / "strangler-kit-rabbitmq.lock"


@contextlib.contextmanager
def rabbitmq_lock(*, exclusive: bool) -> Iterator[None]:
    """Tests that use RabbitMQ hold it shared; the one that restarts it holds it exclusively,
    so parallel test workers (pytest -n) never see the broker go away under them."""
    with RABBITMQ_LOCK.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Stack:
    kind_db: str  # "sqlite" | "postgres"
    kind_broker: str  # "filesystem" | "rabbitmq"
    workdir: Path
    services: Sequence[str] = ("ledger", "mirror")
    extra_env: dict[str, str] = field(default_factory=dict)
    database_url: str = ""
    broker_url: str = ""
    prefix: str = ""
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prefix = f"t{uuid.uuid4().hex[:8]}."
        if self.kind_db == "postgres":
            from stages.databases import postgres_create

            self.database_url = postgres_create("eventbus_test")
        else:
            self.database_url = f"sqlite:///{self.workdir / 'db.sqlite3'}"
        if self.kind_broker == "rabbitmq":
            self.broker_url = RABBITMQ_URL
        else:
            self.broker_url = f"filesystem://{self.workdir / 'broker'}"

    # --- processes ------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "eventbus.tests.settings",
                "EVENTBUS_TEST_DATABASE_URL": self.database_url,
                "EVENTBUS_TEST_BROKER_URL": self.broker_url,
                "EVENTBUS_TEST_PREFIX": self.prefix,
                "EVENTBUS_TEST_SERVICES": ",".join(self.services),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        env.update(extra)
        return env

    def run(self, *args: str, timeout: float = 300, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            env=self.env(**env),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def start(self, name: str, *args: str, **env: str) -> Proc:
        log_path = self.workdir / f"{name}-{len(self.procs)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                env=self.env(**env),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(name, process, log_path)
        self.procs.append(proc)
        return proc

    def migrate(self) -> None:
        self.run("-m", "django", "migrate", "-v", "0")

    def relay(self, *args: str, **env: str) -> Proc:
        return self.start("relay", "-m", "eventbus", "relay", *args, **env)

    def consumer(self, service: str, **env: str) -> Proc:
        return self.start(
            f"consume-{service}", "-m", "eventbus", "consume", "--service", service, **env
        )

    def producer(self, events: int, accounts: str, *args: str, **env: str) -> Proc:
        return self.start(
            "produce",
            "-m",
            "eventbus.tests.app.produce",
            "--events",
            str(events),
            "--accounts",
            accounts,
            *args,
            **env,
        )

    def produce(self, events: int, accounts: str, *args: str, **env: str) -> dict[str, Any]:
        out = self.run(
            "-m",
            "eventbus.tests.app.produce",
            "--events",
            str(events),
            "--accounts",
            accounts,
            *args,
            **env,
        )
        return dict(json.loads(out.strip().splitlines()[-1]))

    def cli(self, *args: str, **env: str) -> str:
        """Run the events CLI (``python -m stages.cli_events``) against this stack."""
        return self.run("-m", "stages.cli_events", *args, **env)

    # --- results --------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.kind_db == "postgres":
            import psycopg

            with psycopg.connect(self.database_url) as conn:
                return list(conn.execute(sql.replace("?", "%s"), params).fetchall())
        with sqlite3.connect(self.database_url.removeprefix("sqlite:///"), timeout=30) as conn:
            return list(conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.query(sql, params)[0][0]

    def wait_for(
        self, what: str, check: Callable[[], bool], timeout: float, every: float = 0.2
    ) -> float:
        """Poll ``check`` until true; returns the seconds it took. Fails with the logs."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if check():
                return time.monotonic() - started
            time.sleep(every)
        logs = "\n".join(f"--- {p.name} ({p.log_path})\n{p.log()[-3000:]}" for p in self.procs)
        raise AssertionError(f"{what}: not within {timeout:.0f}s\n{logs}")

    def queue_depth(self, queue: str) -> int:
        from eventbus.broker import Publisher

        with Publisher(self.broker_url) as publisher:
            try:
                return int(publisher.channel.queue_declare(queue, passive=True).message_count)
            except Exception:
                return 0

    def topology(self) -> Any:
        from eventbus.topology import Topology

        return Topology(
            prefix=self.prefix, subscriptions={s: ("bank.account.*",) for s in self.services}
        )

    # --- teardown -------------------------------------------------------------------------

    def close(self) -> None:
        for proc in self.procs:
            proc.stop(timeout=5)
        if self.kind_broker == "rabbitmq":
            from eventbus.broker import Publisher

            try:
                with Publisher(self.broker_url) as publisher:
                    self.topology().delete(publisher.channel)
            except Exception as exc:
                print(f"cleanup: could not delete {self.prefix}* on RabbitMQ: {exc}")
        if self.kind_db == "postgres":
            from stages.databases import postgres_drop

            postgres_drop(self.database_url)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0
