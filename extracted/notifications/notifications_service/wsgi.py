"""WSGI entry point, served by gunicorn's threaded workers (see ../gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")

application = get_wsgi_application()
