"""gunicorn for the monolith: threaded workers, because gunicorn's *sync* workers close the
connection after every response, which nearly triples the cost of the strangler proxy in front
(it must open a new upstream connection per request). ``gthread`` keeps connections alive and
each thread keeps its database connection (CONN_MAX_AGE)."""

import os

bind = os.environ.get("SHOP_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("SHOP_WORKERS", "2"))
threads = int(os.environ.get("SHOP_THREADS", "8"))
keepalive = 75  # longer than the proxy's idle pool timeout, so the proxy closes first
timeout = 60
graceful_timeout = 10
accesslog = os.environ.get("SHOP_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("SHOP_LOG_LEVEL", "info").lower()
wsgi_app = "config.wsgi:application"
