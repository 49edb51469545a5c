"""Where delivered messages go, chosen by ``settings.NOTIFICATIONS_SINK``:

``<folder>``  one file ``<notification id>.json`` per message. The file is written aside and
              hard-linked into place, which fails if the name exists: a message delivered by
              both sides during a handover (same deterministic id, same folder) or retried
              after a crash reaches the user once, and never half-written.
``console``   logged at INFO on this module's logger (no de-duplication)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)


def _folder() -> Path | None:
    spec = str(getattr(settings, "NOTIFICATIONS_SINK", ""))
    if spec == "console":
        return None
    if not spec:
        raise RuntimeError("NOTIFICATIONS_SINK is not set")
    return Path(spec.removeprefix("dir:"))


def deliver(message: Mapping[str, Any]) -> bool:
    """Send one message (its ``id`` names it). False if it was already delivered; raises when
    it cannot be written (the caller's transaction rolls back and the event is retried)."""
    data = json.dumps(dict(message), ensure_ascii=False, sort_keys=True, default=str)
    folder = _folder()
    if folder is None:
        log.info("notification %s", data)
        return True
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{message['id']}.json"
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, final)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def delivered(folder: Path) -> list[dict[str, Any]]:
    """Every message in a sink folder (tests, the demo)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        if not path.name.startswith("."):
            out.append(json.loads(path.read_text(encoding="utf-8")))
    return out
