"""Where delivered messages go, chosen by ``settings.NOTIFICATIONS_SINK``:

``file:<path>``  one JSON object per line, appended (the folder is created)
``dir:<folder>`` one file ``<id>.json`` per message
``console``      logged at INFO on the ``shop.notifications.sink`` logger

A message reaches a file sink once per ``id``, whichever process or side delivers it: during a
handover the monolith and the notifications service may both deliver one fact (its id is
deterministic, contracts.ids), and a redelivery after a crash repeats one. ``dir:`` publishes
each file with ``link()``, which fails if the name exists, so a duplicate is never visible;
``file:`` first claims the id with an ``O_EXCL`` marker in ``<path>.ids/`` (a crash between
the claim and the append loses that one message rather than sending it twice).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


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


def _message_id(message: Mapping[str, Any]) -> str | None:
    value = message.get("id")
    if value is None:
        return None
    text = str(value)
    if not _SAFE_ID.match(text) or text.startswith("."):
        raise SinkError(f"message id {text!r} cannot name a file")
    return text


def _claim(marker: Path) -> bool:
    """Create ``marker`` exclusively: False if it exists (someone delivered this id)."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        return False
    return True


def _append_once(path: Path, message_id: str | None, data: bytes) -> bool:
    if message_id is None:
        _append_line(path, data)
        return True
    marker = path.with_name(path.name + ".ids") / message_id
    if not _claim(marker):
        return False
    try:
        _append_line(path, data)
    except BaseException:
        marker.unlink(missing_ok=True)  # not delivered: let the redelivery claim it again
        raise
    return True


def _write_file_once(folder: Path, message_id: str | None, data: bytes) -> bool:
    if message_id is None:
        raise SinkError("a dir: sink needs an id per message")
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".incoming-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, folder / f"{message_id}.json")  # atomic, and fails if it exists
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temp)


def deliver(message: Mapping[str, Any]) -> bool:
    """Send one message to the configured sink: True if sent now, False if a message with its
    ``id`` was already sent. Raises on failure (the caller records it)."""
    spec = str(settings.NOTIFICATIONS_SINK)
    line = json.dumps(dict(message), ensure_ascii=False, sort_keys=True, default=str)
    if spec == "console":
        log.info("notification %s", line)
        return True
    if spec.startswith("file:") and len(spec) > len("file:"):
        sent = _append_once(
            Path(spec.removeprefix("file:")), _message_id(message), (line + "\n").encode()
        )
    elif spec.startswith("dir:") and len(spec) > len("dir:"):
        sent = _write_file_once(
            Path(spec.removeprefix("dir:")), _message_id(message), (line + "\n").encode()
        )
    else:
        raise ImproperlyConfigured(
            "SHOP_NOTIFICATIONS_SINK must be 'console', 'file:<path>' or 'dir:<folder>', "
            f"not {spec!r}"
        )
    if not sent:
        log.info("notification %s was already delivered; not sent again", message.get("id"))
    return sent
