"""Where the route table lives: numbered generations, each with the change that made it.

Every change (set a route's mode, replace the table, roll back, an edit of the routes file)
appends a generation: ``(generation, at, who, action, route, from, to, why)`` and the whole
table, so any generation can be restored (by appending a new one with its table). Workers
poll :meth:`Store.latest_generation` (cheap) and load the table when it moves.

    FileStore      embedded default: ``routes-history.jsonl`` (append-only, one generation a
                   line, ``flock``-ed) next to ``routes.yaml`` (the current table, rewritten
                   after each change; edits to it become generations, see sync.py)
    PostgresStore  (pgstore.py) shared by several replicas: one row per generation; NOTIFY
                   wakes every replica's workers at once (and they poll every second anyway)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .table import RouteTable, TableError, dump_text, parse_data

CHANNEL = "strangler_routes"


class StoreError(Exception):
    """A change the store refuses (unknown route or generation). ``status`` is the HTTP one."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Change:
    generation: int
    at: str
    who: str
    action: str  # init | set | replace | edit | rollback
    route: str  # the route key, or "*" for the whole table
    from_state: Mapping[str, Any] | None
    to_state: Mapping[str, Any] | None
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "at": self.at,
            "who": self.who,
            "action": self.action,
            "route": self.route,
            "from": self.from_state,
            "to": self.to_state,
            "why": self.why,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            generation=int(data["generation"]),
            at=str(data["at"]),
            who=str(data["who"]),
            action=str(data["action"]),
            route=str(data["route"]),
            from_state=data.get("from"),
            to_state=data.get("to"),
            why=str(data.get("why") or ""),
        )


@dataclass(frozen=True, slots=True)
class Generation:
    change: Change
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    change: Change
    changed: bool  # False: the request asked for what was already in force


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def route_states(table: RouteTable) -> dict[str, dict[str, Any]]:
    return {route.key: route.state() for route in table.routes}


def _table_delta(
    old: RouteTable | None, new: RouteTable
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    new_states = route_states(new)
    if old is None:
        return None, new_states
    old_states = route_states(old)
    keys = [k for k in {**old_states, **new_states} if old_states.get(k) != new_states.get(k)]
    return {k: old_states.get(k) for k in keys}, {k: new_states.get(k) for k in keys}


Builder = Callable[[Generation | None], tuple[RouteTable, str, str, Any, Any] | None]


class Store(ABC):
    """Generations of the route table. Thread-safe; blocking (admin code calls it in a thread)."""

    def __init__(self, upstream_urls: Mapping[str, str] | None = None) -> None:
        self.upstream_urls = dict(upstream_urls or {})
        self._lock = threading.RLock()

    # --- storage primitives -------------------------------------------------------------------

    @abstractmethod
    def latest_generation(self) -> int:
        """0 when empty."""

    @abstractmethod
    def get(self, generation: int | None = None) -> Generation | None:
        """A generation (the latest when None), or None."""

    @abstractmethod
    def history(self, limit: int = 50) -> list[Change]:
        """Newest first."""

    @abstractmethod
    def _locked(self) -> contextlib.AbstractContextManager[Callable[[Generation], None]]:
        """Exclusive section across processes; yields ``append(generation)``."""

    def wait(self, timeout: float) -> None:
        """Block until a change may have happened, or ``timeout`` seconds."""
        time.sleep(timeout)

    def close(self) -> None:
        return None

    # --- reading ------------------------------------------------------------------------------

    def parse(self, generation: Generation) -> RouteTable:
        table = parse_data(
            generation.data,
            source=f"generation {generation.change.generation}",
            upstream_urls=self.upstream_urls,
        )
        return table.with_generation(generation.change.generation)

    def current(self) -> RouteTable | None:
        latest = self.get()
        return self.parse(latest) if latest is not None else None

    # --- changes ------------------------------------------------------------------------------

    def _commit(self, who: str, why: str, build: Builder) -> Outcome:
        with self._lock, self._locked() as append:
            latest = self.get()
            built = build(latest)
            if built is None:
                assert latest is not None
                return Outcome(latest.change, changed=False)
            table, action, route, before, after = built
            change = Change(
                generation=(latest.change.generation if latest else 0) + 1,
                at=now_iso(),
                who=who or "unknown",
                action=action,
                route=route,
                from_state=before,
                to_state=after,
                why=why,
            )
            append(Generation(change, table.to_data()))
            return Outcome(change, changed=True)

    def init(self, data: Mapping[str, Any], *, who: str, why: str = "first start") -> Outcome:
        """Record ``data`` as generation 1 unless the store already has a table."""
        table = parse_data(data, source="initial table", upstream_urls=self.upstream_urls)

        def build(latest: Generation | None) -> tuple[RouteTable, str, str, Any, Any] | None:
            if latest is not None:
                return None
            return table, "init", "*", None, route_states(table)

        return self._commit(who, why, build)

    def replace(
        self, data: Mapping[str, Any], *, who: str, why: str = "", action: str = "replace"
    ) -> Outcome:
        """A whole new table (validated first: a bad one raises TableError, nothing changes)."""
        table = parse_data(data, source="new table", upstream_urls=self.upstream_urls)

        def build(latest: Generation | None) -> tuple[RouteTable, str, str, Any, Any] | None:
            old = self.parse(latest) if latest is not None else None
            if old is not None and old.same_routes(table):
                return None
            before, after = _table_delta(old, table)
            return table, action, "*", before, after

        return self._commit(who, why, build)

    def set_mode(
        self, route: str, mode: str, *, percent: float | None = None, who: str, why: str = ""
    ) -> Outcome:
        def build(latest: Generation | None) -> tuple[RouteTable, str, str, Any, Any] | None:
            if latest is None:
                raise StoreError("the store has no route table yet", 409)
            old = self.parse(latest)
            try:
                before = old.route(route).state()
                new = old.with_mode(route, mode, percent)
            except KeyError as exc:
                raise StoreError(str(exc.args[0]), 404) from None
            after = new.route(route).state()
            if before == after:
                return None
            return new, "set", route, before, after

        return self._commit(who, why, build)

    def rollback(self, generation: int | None = None, *, who: str, why: str = "") -> Outcome:
        """Restore ``generation``'s table (default: the one before the latest) as a new one."""

        def build(latest: Generation | None) -> tuple[RouteTable, str, str, Any, Any] | None:
            if latest is None:
                raise StoreError("the store has no route table yet", 409)
            target = generation if generation is not None else latest.change.generation - 1
            old = self.get(target) if target >= 1 else None
            if old is None:
                raise StoreError(f"there is no generation {target}", 404)
            table = self.parse(old)
            before, after = _table_delta(self.parse(latest), table)
            return table, "rollback", "*", before, {**after, "restored": target}

        return self._commit(who, why or "rollback", build)


# --- the embedded default -----------------------------------------------------------------------


class FileStore(Store):
    def __init__(
        self, var_dir: Path, routes_file: Path, upstream_urls: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(upstream_urls)
        self.var_dir = Path(var_dir)
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.routes_file = Path(routes_file)
        self.history_file = self.var_dir / "routes-history.jsonl"
        self.lock_file = self.var_dir / "routes.lock"
        self._seen: tuple[int, int] = (-1, -1)
        self._seen_generation = 0

    def latest_generation(self) -> int:
        try:
            st = os.stat(self.history_file)
        except FileNotFoundError:
            return 0
        key = (st.st_size, st.st_mtime_ns)
        if key != self._seen:
            latest = self._last_record()
            self._seen = key
            self._seen_generation = int(latest["change"]["generation"]) if latest else 0
        return self._seen_generation

    def _records(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.history_file, encoding="utf-8") as fh:
                for line in fh:
                    if line.endswith("\n"):  # a line still being written is not a record yet
                        yield json.loads(line)
        except FileNotFoundError:
            return

    def _last_record(self) -> dict[str, Any] | None:
        try:
            with open(self.history_file, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                window = 1 << 16
                while True:
                    start = max(0, size - window)
                    fh.seek(start)
                    tail = fh.read(size - start)
                    lines = tail.split(b"\n")
                    # complete lines only: the last element is "" after a final newline
                    complete = lines[:-1] if start == 0 else lines[1:-1]
                    if complete:
                        record: dict[str, Any] = json.loads(complete[-1])
                        return record
                    if start == 0:
                        return None
                    window *= 4
        except FileNotFoundError:
            return None

    def get(self, generation: int | None = None) -> Generation | None:
        if generation is None:
            record = self._last_record()
        else:
            record = next(
                (r for r in self._records() if r["change"]["generation"] == generation), None
            )
        if record is None:
            return None
        return Generation(Change.from_dict(record["change"]), record["table"])

    def history(self, limit: int = 50) -> list[Change]:
        changes = [Change.from_dict(r["change"]) for r in self._records()]
        return list(reversed(changes[-limit:])) if limit else list(reversed(changes))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Callable[[Generation], None]]:
        with open(self.lock_file, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield self._append
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append(self, generation: Generation) -> None:
        line = json.dumps(
            {"change": generation.change.to_dict(), "table": generation.data},
            separators=(",", ":"),
        )
        fd = os.open(self.history_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        write_routes_file(self.routes_file, self.parse(generation))


def write_routes_file(path: Path, table: RouteTable) -> None:
    """Atomically replace the routes file with ``table`` (a mirror of the store)."""
    header = (
        f"# strangler proxy route table, generation {table.generation} "
        "(edit and save: the proxy validates it and records a new generation)\n"
    )
    text = dump_text(table, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def open_store(
    store: str,
    *,
    var_dir: Path,
    routes_file: Path,
    upstream_urls: Mapping[str, str] | None = None,
) -> Store:
    """``file`` (the embedded default) or a ``postgres://`` URL."""
    if store in ("", "file"):
        return FileStore(var_dir, routes_file, upstream_urls)
    if store.startswith(("postgres://", "postgresql://")):
        from .pgstore import PostgresStore  # psycopg only where replicas share a store

        return PostgresStore(store, upstream_urls)
    raise ValueError(f"store {store!r}: expected 'file' or a postgres:// URL")


__all__ = [
    "Change",
    "FileStore",
    "Generation",
    "Outcome",
    "Store",
    "StoreError",
    "TableError",
    "open_store",
    "write_routes_file",
]
