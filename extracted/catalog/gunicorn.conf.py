"""gunicorn for the catalog service (threaded workers, like monolith/gunicorn.conf.py; settings
from CATALOG_BIND / _WORKERS / _THREADS / _ACCESS_LOG / _LOG_LEVEL through servicekit).
Run from extracted/catalog: ``python -m gunicorn -c gunicorn.conf.py``."""

import os
import sys
from pathlib import Path

# gunicorn imports the app by name: make catalog_service importable from any working directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "catalog_service.settings")

from servicekit.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("catalog", "catalog_service.wsgi:application"))
