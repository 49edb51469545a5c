# mypy: disable-error-code="no-untyped-call"
# (kombu and py-amqp have no type hints)
"""The embedded broker: kombu's ``filesystem`` transport, given the acks it lacks.

What kombu's own ``filesystem://`` does (kombu 5.x, read from its source):

- a consumer *moves the message file away and deletes it* when it reads it, before the handler
  runs; an unacknowledged message lives only in the consumer's memory, is put back only when the
  channel closes cleanly, and is lost when the process is killed (kill -9, OOM, power);
- a message file is written in place, so a reader listing the folder can pick up a file that is
  still being written;
- names are ``<monotonic ms>_<uuid4>``: two messages in the same millisecond come out in random
  order, and the order is wrong across reboots and when the number grows a digit
  (string sort); every read lists and sorts the whole folder (quadratic under a backlog).

The kit keeps its routing (exchange tables in ``control/``, topic/fanout/direct matching) and
replaces the message store:

- ``queues/<queue>/<ns clock>-<pid>-<seq>.msg``: zero-padded, FIFO per producer;
  written to ``tmp/`` and renamed into place, so a reader never sees half a message;
- a read *renames* the file into ``inflight/<owner>/<queue>/`` (atomic, so two consumers never
  get the same file); ``ack`` deletes it, ``reject(requeue)`` and a clean close rename it back;
- each owner holds an exclusive ``flock`` on ``inflight/<owner>.lock`` for its lifetime; the
  kernel drops it when the process dies, so the next consumer to start moves a dead owner's
  in-flight files back into their queues: at-least-once delivery across kill -9, like
  RabbitMQ's redelivery of unacked messages.

No fsync by default: a message survives a killed process, not a power cut
(``transport_options={"fsync": True}`` for that). One machine only (POSIX ``flock`` + rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import time
import uuid
from collections import deque
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import filesystem as kombu_fs
from kombu.transport import virtual

_SEQ = itertools.count()


class Channel(kombu_fs.Channel):
    """Same routing as kombu's filesystem channel; acknowledged, crash-safe message files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inflight: dict[str, Path] = {}
        self._listing: dict[str, deque[str]] = {}
        self._listed_at: dict[str, float] = {}

    # --- layout ---------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        return Path(self.connection.client.transport_options["root"])

    @property
    def control_folder(self) -> Path:
        return self.root / "control"

    def _queue_dir(self, queue: str) -> Path:
        if "/" in queue or queue in ("", ".", ".."):
            raise ValueError(f"bad queue name {queue!r}")
        return self.root / "queues" / queue

    def _owner_dir(self, queue: str) -> Path:
        return Path(self.connection.owner_dir) / queue

    # --- store ----------------------------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self._queue_dir(queue).mkdir(parents=True, exist_ok=True)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return self._queue_dir(queue).is_dir()

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        folder = self._queue_dir(queue)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid():08d}-{next(_SEQ):012d}.msg"
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.tmp"
        with tmp.open("wb") as handle:
            handle.write(json.dumps(message).encode())
            if self.connection.client.transport_options.get("fsync"):
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, folder / name)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        folder = self._queue_dir(queue)
        pending = self._listing.get(queue)
        if not pending:
            # Listing is the expensive part: at most every few ms per queue when it is empty.
            now = time.monotonic()
            if pending is not None and now - self._listed_at.get(queue, 0.0) < 0.002:
                raise Empty()
            self._listed_at[queue] = now
            try:
                pending = self._listing[queue] = deque(
                    sorted(n for n in os.listdir(folder) if n.endswith(".msg"))
                )
            except FileNotFoundError:
                raise Empty() from None
        target_dir = self._owner_dir(queue)
        while pending:
            name = pending.popleft()
            target = target_dir / name
            try:
                os.rename(folder / name, target)
            except FileNotFoundError:
                if not target_dir.exists():
                    target_dir.mkdir(parents=True, exist_ok=True)
                    pending.appendleft(name)
                continue  # another consumer took it
            payload = json.loads(target.read_bytes())
            self._inflight[payload["properties"]["delivery_tag"]] = target
            return payload
        raise Empty()

    def _size(self, queue: str) -> int:
        try:
            return sum(1 for n in os.listdir(self._queue_dir(queue)) if n.endswith(".msg"))
        except FileNotFoundError:
            return 0

    def _purge(self, queue: str) -> int:
        count = 0
        folder = self._queue_dir(queue)
        for name in os.listdir(folder) if folder.exists() else ():
            try:
                os.unlink(folder / name)
                count += 1
            except FileNotFoundError:
                pass
        return count

    # --- acknowledgements -----------------------------------------------------------------

    def _forget(self, delivery_tag: str) -> Path | None:
        return self._inflight.pop(delivery_tag, None)

    def basic_ack(self, delivery_tag: str, multiple: bool = False) -> None:
        super().basic_ack(delivery_tag, multiple)
        path = self._forget(delivery_tag)
        if path is not None:
            path.unlink(missing_ok=True)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            path = self._forget(message.delivery_tag)
            if path is not None:
                path.unlink(missing_ok=True)
        return message

    def basic_reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if requeue:
            super().basic_reject(delivery_tag, requeue=True)  # -> _restore_at_beginning
            return
        super().basic_reject(delivery_tag, requeue=False)
        path = self._forget(delivery_tag)
        if path is not None:
            path.unlink(missing_ok=True)

    def _restore(self, message: Any) -> None:
        path = self._forget(message.delivery_tag)
        if path is None:
            super()._restore(message)
            return
        # Back under its original name: it keeps its place in the queue.
        folder = self._queue_dir(path.parent.name)
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, folder / path.name)
        self._listing.pop(path.parent.name, None)


class Transport(kombu_fs.Transport):
    """``Connection(transport=Transport, transport_options={"root": <folder>})``."""

    Channel = Channel
    driver_type = "kit-filesystem"
    driver_name = "kit-filesystem"
    # Each process declares what it uses; exchange tables are shared through control/.
    global_state = virtual.BrokerState()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        options = client.transport_options
        if "root" not in options:
            raise ValueError("the kit's filesystem transport needs transport_options['root']")
        options.setdefault("polling_interval", 0.005)
        super().__init__(client, **kwargs)
        self.owner_dir: Path | None = None
        self._lock: Any = None

    def establish_connection(self) -> Any:
        root = Path(self.client.transport_options["root"])  # type: ignore[union-attr]
        for sub in ("queues", "control", "tmp", "inflight"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        if self.owner_dir is None:
            owner_dir = root / "inflight" / f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
            owner_dir.mkdir()
            self._lock = owner_dir.with_suffix(".lock").open("wb")
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
            self.owner_dir = owner_dir
            recover_dead_owners(root)
        return super().establish_connection()

    def close_connection(self, connection: Any) -> None:
        super().close_connection(connection)
        if self.owner_dir is not None:
            _remove_owner(self.owner_dir)
            self._lock.close()
            self.owner_dir = None


def _remove_owner(owner_dir: Path) -> int:
    """Put every in-flight message of this owner back into its queue; remove the owner."""
    moved = 0
    if owner_dir.is_dir():
        for queue_dir in owner_dir.iterdir():
            target = owner_dir.parent.parent / "queues" / queue_dir.name
            target.mkdir(parents=True, exist_ok=True)
            for message in queue_dir.iterdir():
                try:
                    os.rename(message, target / message.name)
                    moved += 1
                except FileNotFoundError:
                    pass
            queue_dir.rmdir()
        owner_dir.rmdir()
    owner_dir.with_suffix(".lock").unlink(missing_ok=True)
    return moved


def recover_dead_owners(root: Path) -> int:
    """Requeue the in-flight messages of owners whose process is gone. Returns how many."""
    moved = 0
    for lock_path in (root / "inflight").glob("*.lock"):
        try:
            handle = lock_path.open("rb")
        except FileNotFoundError:
            continue
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # alive
            moved += _remove_owner(lock_path.with_suffix(""))
    return moved
