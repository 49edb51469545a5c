"""Where delivered messages go, chosen by ``settings.NOTIFICATIONS_SINK``:

``file:<path>``  one JSON object per line, appended (the folder is created)
``console``      logged at INFO on the ``shop.notifications.sink`` logger
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)


class SinkError(Exception):
    """The message could not be written."""


def _append_line(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND + one write() of the whole line: lines from concurrent workers do not interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
    finally:
        os.close(fd)
    if written != len(data):
        raise SinkError(f"short write to {path}: {written} of {len(data)} bytes")


def deliver(message: Mapping[str, Any]) -> None:
    """Send one message to the configured sink. Raises on failure (the caller records it)."""
    spec = str(settings.NOTIFICATIONS_SINK)
    line = json.dumps(dict(message), ensure_ascii=False, sort_keys=True, default=str)
    if spec == "console":
        log.info("notification %s", line)
    elif spec.startswith("file:") and len(spec) > len("file:"):
        _append_line(Path(spec.removeprefix("file:")), (line + "\n").encode())
    else:
        raise ImproperlyConfigured(
            f"SHOP_NOTIFICATIONS_SINK must be 'console' or 'file:<path>', not {spec!r}"
        )
