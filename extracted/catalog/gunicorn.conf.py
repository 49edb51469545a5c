"""gunicorn for the catalog service, like monolith/gunicorn.conf.py: gthread workers keep the
proxy's connections alive and each thread keeps its database connection (CONN_MAX_AGE).
Run from extracted/catalog: ``python -m gunicorn -c gunicorn.conf.py``."""

import os
import sys
from pathlib import Path

# gunicorn imports the app by name: make catalog_service importable from any working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_service.settings")

bind = os.environ.get("CATALOG_BIND", "127.0.0.1:8020")
worker_class = "gthread"
workers = int(os.environ.get("CATALOG_WORKERS", "2"))
threads = int(os.environ.get("CATALOG_THREADS", "8"))
keepalive = 75  # longer than the proxy's idle pool timeout, so the proxy closes first
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("CATALOG_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("CATALOG_LOG_LEVEL", "info").lower()
wsgi_app = "catalog_service.wsgi:application"
