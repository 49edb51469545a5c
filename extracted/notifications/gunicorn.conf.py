"""gunicorn for the notifications service: NOTIFICATIONS_BIND, _WORKERS, _THREADS (see
servicekit.gunicorn). The stage verbs run ``python -m gunicorn -c gunicorn.conf.py`` here."""

from servicekit.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("notifications", "notifications_service.wsgi:application"))
