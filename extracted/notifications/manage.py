#!/usr/bin/env python
"""Django's command-line utility for the notifications service (migrate, relay,
consume notifications, redeliver, ownership ...)."""

import os
import sys
from pathlib import Path


def main() -> None:
    # Runnable from anywhere (the stage verbs call `python extracted/notifications/manage.py`).
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_service.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
