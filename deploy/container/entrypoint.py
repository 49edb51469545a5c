"""The image's entrypoint: one image, one command per process of the stack.

    monolith            wait for the database, prepare it (migrate, cache table, signing key,
                        staff account, seed: the launcher's steps), then exec gunicorn
    proxy               wait for the route store's database, then exec the strangler proxy
    relay               wait for database, broker and the monolith's readiness, exec the relay
    consume SERVICE     the same, then exec that service's consumer (the monolith's own:
                        ``consume monolith``)
    service CONTEXT     an extracted service (extracted/CONTEXT): migrate its own database,
                        then exec gunicorn with its gunicorn.conf.py
    service CONTEXT relay|consume [ARGS]
                        that service's relay (``manage.py relay``) or consumer
                        (``manage.py consume CONTEXT``): the same code path as the monolith's
    service CONTEXT manage ARGS
                        that service's manage.py (ownership show, contacts_sync, ...)
    tracestore          the OTLP trace store (air-gapped stand-in for collector + Jaeger)
    wait                only wait (KIT_WAIT_FOR), then exit 0
    probe URL           exit 0 when URL answers 200, else 1 (the compose healthchecks)
    anything else       exec'd as is (`strangler routes list`, `bash`, ...); with
                        KIT_STACK_FROM_ENV=1 the stage verbs' stack.json ($KIT_STACK) is
                        written first from the environment (stackfile.py)

KIT_WAIT_FOR lists what must answer first, space-separated: ``tcp:host:port`` or an
``http(s)://`` URL (200 expected). Waits back off exponentially with jitter, for at most
KIT_WAIT_SECONDS (default 180); then the process exits 75 and the container's restart policy
tries again. Podman 4.3 ignores ``depends_on: condition: service_healthy``, so this is what
orders the start-up, under Podman and Docker alike.
"""

from __future__ import annotations

import os
import random
import runpy
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

APP = Path(os.environ.get("KIT_APP_DIR", "/app"))
EX_TEMPFAIL = 75


def log(message: str) -> None:
    print(f"[entrypoint] {message}", file=sys.stderr, flush=True)


def answers(target: str, timeout: float = 2.0) -> str | None:
    """None when ``target`` answers, else why not."""
    if target.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(target, timeout=timeout) as response:
                return None if response.status == 200 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return str(exc)
    kind, _, rest = target.partition(":")
    host, _, port = rest.rpartition(":")
    if kind != "tcp" or not host or not port.isdigit():
        raise SystemExit(f"KIT_WAIT_FOR: {target!r} is neither tcp:host:port nor a URL")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return str(exc)


def wait_for(targets: Sequence[str], budget: float) -> None:
    deadline = time.monotonic() + budget
    for target in targets:
        delay, attempt = 0.25, 0
        while (why := answers(target)) is not None:
            attempt += 1
            if time.monotonic() >= deadline:
                log(f"{target} still does not answer after {budget:.0f} s ({why}): giving up")
                raise SystemExit(EX_TEMPFAIL)
            if attempt in (1, 5) or attempt % 20 == 0:
                log(f"waiting for {target} ({why})")
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.05)) * random.uniform(0.5, 1))
            delay = min(delay * 2, 5.0)
        log(f"{target} answers")


def manage(*args: str, attempts: int = 5, directory: Path | None = None) -> None:
    """``manage.py <args>``, retried with backoff: the database may still be starting."""
    directory = directory or APP / "monolith"
    command = [sys.executable, str(directory / "manage.py"), *args]
    for attempt in range(1, attempts + 1):
        result = subprocess.run(command, cwd=directory, check=False)
        if result.returncode == 0:
            return
        if attempt == attempts:
            log(f"manage.py {args[0]} failed {attempts} times: giving up")
            raise SystemExit(result.returncode or 1)
        pause = min(2**attempt, 20) * random.uniform(0.5, 1)
        log(f"manage.py {args[0]} failed ({result.returncode}); again in {pause:.1f} s")
        time.sleep(pause)


def prepare_monolith() -> None:
    """The launcher's steps (stages/processes.py: monolith_prepare), all idempotent."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    Path(os.environ.get("SHOP_VAR_DIR", "/var/lib/kit/monolith")).mkdir(parents=True, exist_ok=True)
    manage("migrate", "--no-input", "-v", "0")
    manage("createcachetable")
    manage("jwt_keys", "--ensure")
    email = os.environ.get("KIT_STAFF_EMAIL", "")
    password = os.environ.get("KIT_STAFF_PASSWORD", "")
    if email and password:
        manage("create_staff", "--email", email, "--password", password)
    products = os.environ.get("KIT_SEED_PRODUCTS", "0")
    if products.isdigit() and int(products) > 0:
        manage("seed", "--products", products)


SERVICE_VERBS = ("web", "relay", "consume", "manage")


def service_command(context: str, rest: list[str]) -> list[str]:
    """An extracted service's process; sets its settings module (the image's is the
    monolith's) and works from its folder, as stages/processes.py starts it locally."""
    directory = APP / "extracted" / context
    if not context.isidentifier() or not (directory / "manage.py").exists():
        raise SystemExit(f"service: no extracted service {context!r} (no {directory}/manage.py)")
    os.environ["DJANGO_SETTINGS_MODULE"] = f"{context}_service.settings"
    os.chdir(directory)
    verb = rest[0] if rest and rest[0] in SERVICE_VERBS else "web"
    args = rest[1:] if rest and rest[0] in SERVICE_VERBS else rest
    manage_py = [sys.executable, str(directory / "manage.py")]
    if verb == "relay":
        return [*manage_py, "relay", *args]
    if verb == "consume":
        return [*manage_py, "consume", context, *args]
    if verb == "manage":
        return [*manage_py, *args]
    if os.environ.get("KIT_PREPARE", "1") == "1":
        var_dir = os.environ.get(f"{context.upper()}_VAR_DIR")
        if var_dir:
            Path(var_dir).mkdir(parents=True, exist_ok=True)
        manage("migrate", "--no-input", "-v", "0", directory=directory)
    return ["gunicorn", "-c", str(directory / "gunicorn.conf.py"), *args]


def command_for(argv: list[str]) -> list[str]:
    verb, rest = (argv[0], argv[1:]) if argv else ("monolith", [])
    if verb == "monolith":
        if os.environ.get("KIT_PREPARE", "1") == "1":
            prepare_monolith()
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:  # stale files of a previous run would be added to this one's
            shutil.rmtree(metrics_dir, ignore_errors=True)
            Path(metrics_dir).mkdir(parents=True, exist_ok=True)
        conf = os.environ.get("KIT_GUNICORN_CONF", str(APP / "deploy/container/gunicorn.conf.py"))
        return ["gunicorn", "-c", conf, *rest]
    if verb == "proxy":
        return [sys.executable, "-m", "strangler_proxy", *rest]
    if verb == "relay":
        return [sys.executable, "-m", "eventbus", "relay", *rest]
    if verb == "consume":
        return [sys.executable, "-m", "eventbus", "consume", "--service", *rest]
    if verb == "service":
        if not rest:
            raise SystemExit("service: name the context, e.g. `service catalog`")
        return service_command(rest[0], rest[1:])
    if verb == "tracestore":
        return [sys.executable, str(APP / "deploy/container/tracestore.py"), *rest]
    if verb == "wait":
        return []
    return argv


def main(argv: list[str]) -> int:
    if argv[:1] == ["probe"]:
        why = answers(argv[1] if len(argv) > 1 else "http://127.0.0.1:8000/health/ready")
        if why is not None:
            print(why, file=sys.stderr)
        return 0 if why is None else 1
    targets = os.environ.get("KIT_WAIT_FOR", "").split()
    if targets:
        wait_for(targets, float(os.environ.get("KIT_WAIT_SECONDS", "180")))
    if os.environ.get("KIT_STACK_FROM_ENV") == "1" and os.environ.get("KIT_STACK"):
        # the stage verbs' stack.json, from this container's environment (stackfile.py)
        stackfile = runpy.run_path(str(Path(__file__).resolve().with_name("stackfile.py")))
        stackfile["write_stack"](Path(os.environ["KIT_STACK"]), os.environ)
    command = command_for(argv)
    if not command:
        return 0
    # Tracing without touching the code: opentelemetry-instrument configures the SDK (OTLP
    # exporter) from OTEL_* variables in this process and every Python child it starts.
    if os.environ.get("KIT_OTEL", "0") == "1" and shutil.which("opentelemetry-instrument"):
        command = ["opentelemetry-instrument", *command]
    log("exec " + " ".join(command))
    sys.stdout.flush()
    os.execvp(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
