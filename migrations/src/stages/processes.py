"""Start, wait for and stop the kit's local processes.

The demo, the long-running ``up`` mode and the test fixtures all start the monolith the same
way: prepare its database (migrate, cache table, signing key, staff account, optional seed), then
serve it with gunicorn's threaded workers on a free port and wait for ``/health/ready``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

REPO_DIR = Path(__file__).resolve().parents[3]
MONOLITH_DIR = REPO_DIR / "monolith"
DEFAULT_STAFF_EMAIL = "staff@shop.test"
DEFAULT_STAFF_PASSWORD = "staff-pass-1234"


class ProcessFailed(RuntimeError):
    """A kit process exited or never became ready. The message says where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def folder_secret(var_dir: Path) -> str:
    """A per-folder Django secret key, made once: the kit's servers run with DEBUG off."""
    path = var_dir / "secret-key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


LOCAL_PASSWORD_HASH_ITERATIONS = 20_000


@dataclass
class MonolithConfig:
    var_dir: Path
    database_url: str = ""  # empty: a SQLite file in var_dir
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    workers: int = 2
    threads: int = 8
    staff_email: str = DEFAULT_STAFF_EMAIL
    staff_password: str = DEFAULT_STAFF_PASSWORD
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'monolith.sqlite3'}"
        if not self.port:
            self.port = free_port(self.host)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def secret(self) -> str:
        return folder_secret(self.var_dir)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.base",
                "SHOP_DEBUG": "0",
                "SHOP_SECRET_KEY": self.secret(),
                "SHOP_VAR_DIR": str(self.var_dir),
                "SHOP_DATABASE_URL": self.database_url,
                "SHOP_BIND": f"{self.host}:{self.port}",
                "SHOP_WORKERS": str(self.workers),
                "SHOP_THREADS": str(self.threads),
                # A rehearsal logs thousands of users in; Django's 1 000 000 PBKDF2 rounds
                # (about a second of CPU each here) would be most of its time. Production
                # keeps the default (shop/users/hashers.py).
                "SHOP_PASSWORD_HASH_ITERATIONS": str(LOCAL_PASSWORD_HASH_ITERATIONS),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env


def _run_manage(
    manage_py: Path, env: dict[str, str], args: Sequence[str], label: str, log: IO[str] | None
) -> str:
    """Run ``manage.py <args>`` of one side; return its output or raise ProcessFailed."""
    result = subprocess.run(
        [sys.executable, str(manage_py), *args],
        env=env,
        cwd=manage_py.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if log is not None:
        log.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise ProcessFailed(
            f"{label} {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


def manage(cfg: MonolithConfig, *args: str, log: IO[str] | None = None) -> None:
    """Run the monolith's ``manage.py <args>``; raise ProcessFailed with its output."""
    _run_manage(MONOLITH_DIR / "manage.py", cfg.env(), args, "manage.py", log)


def monolith_prepare(cfg: MonolithConfig, *, seed_products: int = 0) -> None:
    """Migrate, create the cache table, the signing key and the staff account; seed if asked."""
    cfg.var_dir.mkdir(parents=True, exist_ok=True)
    manage(cfg, "migrate", "--no-input", "-v", "0")
    manage(cfg, "createcachetable")
    manage(cfg, "jwt_keys", "--ensure")
    manage(cfg, "create_staff", "--email", cfg.staff_email, "--password", cfg.staff_password)
    if seed_products:
        manage(cfg, "seed", "--products", str(seed_products))


@dataclass
class Server:
    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def wait_ready(self, path: str = "/health/ready", timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProcessFailed(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n"
                    + self.log_tail()
                )
            try:
                response = httpx.get(self.base_url + path, timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise ProcessFailed(
            f"{self.name} not ready after {timeout:.0f}s ({last}); see {self.log_path}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def monolith_start(cfg: MonolithConfig, *, wait: bool = True) -> Server:
    """Serve the prepared monolith with gunicorn (threaded workers, keep-alive)."""
    return _serve("monolith", MONOLITH_DIR, cfg.env(), cfg.base_url, cfg.var_dir, wait=wait)


def _serve(
    name: str, directory: Path, env: dict[str, str], base_url: str, var_dir: Path, *, wait: bool
) -> Server:
    """gunicorn with ``directory``'s gunicorn.conf.py, logging to ``var_dir/<name>.log``, in a
    session of its own (Ctrl+C in the CLI stops it through stop(), not twice)."""
    log_path = var_dir / f"{name}.log"
    argv = [sys.executable, "-m", "gunicorn", "-c", str(directory / "gunicorn.conf.py")]
    process = background(name, argv, env=env, cwd=directory, log_path=log_path)
    server = Server(name, base_url, process, log_path)
    if wait:
        server.wait_ready()
    return server


# --- extracted services -------------------------------------------------------------------------

EXTRACTED_DIR = REPO_DIR / "extracted"


@dataclass
class ServiceConfig:
    """One extracted service (``extracted/<context>/``): its own database, settings read from
    ``<CONTEXT>_*`` variables (the same shape as the monolith's ``SHOP_*``)."""

    context: str
    var_dir: Path
    database_url: str = ""  # empty: a SQLite file in var_dir
    host: str = "127.0.0.1"
    port: int = 0
    broker_url: str = ""  # empty: the service's default (the embedded broker in var_dir)
    eventbus_prefix: str = ""
    jwks_url: str = ""
    monolith_url: str = ""
    workers: int = 2
    threads: int = 8
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / f'{self.context}.sqlite3'}"
        if not self.port:
            self.port = free_port(self.host)

    @property
    def prefix(self) -> str:
        return self.context.upper() + "_"

    @property
    def directory(self) -> Path:
        return EXTRACTED_DIR / self.context

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def secret(self) -> str:
        return folder_secret(self.var_dir)

    def env(self) -> dict[str, str]:
        p = self.prefix
        env = dict(os.environ)
        env.pop("DJANGO_SETTINGS_MODULE", None)  # the service's manage.py/wsgi.py set their own
        values = {
            "DEBUG": "0",
            "SECRET_KEY": self.secret(),
            "VAR_DIR": str(self.var_dir),
            "DATABASE_URL": self.database_url,
            "BROKER_URL": self.broker_url,
            "EVENTBUS_PREFIX": self.eventbus_prefix,
            "JWKS_URL": self.jwks_url,
            "MONOLITH_URL": self.monolith_url,
            "BIND": f"{self.host}:{self.port}",
            "WORKERS": str(self.workers),
            "THREADS": str(self.threads),
        }
        env.update({p + name: value for name, value in values.items() if value})
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env


def service_manage(cfg: ServiceConfig, *args: str, log: IO[str] | None = None) -> str:
    """Run ``extracted/<context>/manage.py <args>``; return its output or raise ProcessFailed."""
    return _run_manage(
        cfg.directory / "manage.py", cfg.env(), args, f"{cfg.context} manage.py", log
    )


def service_prepare(cfg: ServiceConfig) -> None:
    """Create the service's database schema (its own database: never the monolith's)."""
    cfg.var_dir.mkdir(parents=True, exist_ok=True)
    service_manage(cfg, "migrate", "--no-input", "-v", "0")


def service_start(cfg: ServiceConfig, *, wait: bool = True) -> Server:
    """Serve the prepared service with gunicorn (its own gunicorn.conf.py)."""
    return _serve(cfg.context, cfg.directory, cfg.env(), cfg.base_url, cfg.var_dir, wait=wait)


def background(
    name: str, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """A long-running process (server, relay, consumer) in a session of its own, with its
    output in ``log_path`` after a line that says what started."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    log.write(f"--- {name}: {' '.join(argv)}\n".encode())
    log.flush()
    try:
        return subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        log.close()
