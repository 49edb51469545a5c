"""gunicorn in the container: the monolith's own settings (monolith/gunicorn.conf.py, SHOP_BIND,
SHOP_WORKERS, ...) plus Prometheus metrics. Workers record into prometheus_client's multiprocess
files (PROMETHEUS_MULTIPROC_DIR); the master serves their sum on KIT_METRICS_PORT (9100), a port
of its own, so /metrics never becomes a public path behind the strangler proxy."""

import os
import runpy
import types

_monolith = runpy.run_path(
    os.environ.get("KIT_MONOLITH_GUNICORN_CONF", "/app/monolith/gunicorn.conf.py")
)
globals().update(
    {
        name: value
        for name, value in _monolith.items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
)

pythonpath = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "metrics_wsgi:application"
bind = os.environ.get("SHOP_BIND", "0.0.0.0:8000")


def when_ready(server: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(int(os.environ.get("KIT_METRICS_PORT", "9100")), registry=registry)


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
