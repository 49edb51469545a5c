"""servicekit: what every extracted service shares, so each one is only its own context.

    settings.py    service_settings("<context>", ...): DATABASES, BROKER_URL, eventbus, DRF,
                   logging from <CONTEXT>_* environment variables (the monolith's SHOP_* shape)
    auth.py        JWT verification through the users JWKS (cached, refetched on an unknown
                   kid); the DRF authentication class; Principal, IsStaff
    errors.py      problem+json for every error (contracts.problems), NotWriter -> 503
    middleware.py  request id, body-size guard, request metrics (logs.py: id in log lines)
    health.py      /health/live, /health/ready (database + broker)
    metrics.py     /metrics (Prometheus text; multi-process under gunicorn)
    urls.py        kit_urls(): health, metrics and /api/schema for a service's ROOT_URLCONF
    gunicorn.py    gunicorn_settings("<CONTEXT>", wsgi_app) for a service's gunicorn.conf.py
    management/    manage.py relay | consume <service>: the event backbone's own processes

Nothing here imports the monolith (``shop``, ``config``): see README.md.
"""
