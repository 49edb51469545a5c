"""A developer's machine: debug on, SQLite under .kit/ unless SHOP_DATABASE_URL says otherwise."""

import os

os.environ.setdefault("SHOP_DEBUG", "1")

from .base import *  # noqa: F403
