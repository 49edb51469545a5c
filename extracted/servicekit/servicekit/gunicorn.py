"""gunicorn settings for a service, read from ``<CONTEXT>_*`` like the monolith's SHOP_*::

    # extracted/<context>/gunicorn.conf.py
    from servicekit.gunicorn import gunicorn_settings
    globals().update(gunicorn_settings("notifications", "notifications_service.wsgi:application"))

Threaded workers (``gthread``) keep connections alive behind the strangler proxy, as the
monolith's do. Prometheus counters of all workers are merged through files in
``<var>/prometheus`` (wiped when the server starts, a dead worker's gauges dropped).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .settings import REPO_DIR


def _var_dir(context: str) -> Path:
    return Path(os.environ.get(f"{context.upper()}_VAR_DIR", str(REPO_DIR / ".kit" / context)))


def gunicorn_settings(context: str, wsgi_app: str) -> dict[str, Any]:
    prefix = context.upper() + "_"
    metrics_dir = _var_dir(context) / "prometheus"
    # Must be in the environment before a worker imports prometheus_client.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))

    def on_starting(server: Any) -> None:
        folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        shutil.rmtree(folder, ignore_errors=True)  # counters of a previous run are not ours
        folder.mkdir(parents=True, exist_ok=True)

    def child_exit(server: Any, worker: Any) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

    return {
        "bind": os.environ.get(prefix + "BIND", "127.0.0.1:8100"),
        "worker_class": "gthread",
        "workers": int(os.environ.get(prefix + "WORKERS", "2")),
        "threads": int(os.environ.get(prefix + "THREADS", "8")),
        "keepalive": 75,  # longer than the proxy's idle pool timeout, so the proxy closes first
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": os.environ.get(prefix + "ACCESS_LOG") or None,
        "errorlog": "-",
        "loglevel": os.environ.get(prefix + "LOG_LEVEL", "info").lower(),
        "wsgi_app": wsgi_app,
        "on_starting": on_starting,
        "child_exit": child_exit,
    }
