"""Threads that keep a process in step with the store.

TableWatcher   (every worker) polls ``store.latest_generation()`` every ``interval``
               seconds (PostgreSQL: wakes on NOTIFY at once) and hands each new table to
               ``on_table`` -- the app swaps it in with one assignment, so a request sees the
               old table or the new one, never a mix.
RoutesFileSync (the supervisor) turns saved edits of the routes file into generations (a
               bad edit is logged with its line and ignored: the old table stays), and
               rewrites the file when the table changed elsewhere (admin API, a replica).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

from .accesslog import event
from .store import Store, write_routes_file
from .table import RouteTable, TableError, load_text, parse_data

_MIRROR_HEADER = re.compile(r"^# strangler proxy route table, generation (\d+) ")


class TableWatcher(threading.Thread):
    def __init__(
        self,
        make_store: Callable[[], Store],
        on_table: Callable[[RouteTable], None],
        *,
        interval: float = 0.1,
        known: int = 0,
    ) -> None:
        super().__init__(name="strangler-table-watcher", daemon=True)
        self._make_store = make_store
        self._on_table = on_table
        self.interval = interval
        self.known = known
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        store: Store | None = None
        while not self._stop_event.is_set():
            try:
                if store is None:
                    store = self._make_store()
                latest = store.latest_generation()
                if latest != self.known:
                    table = store.current()
                    if table is not None:
                        self.known = table.generation
                        self._on_table(table)
                store.wait(self.interval)
            except TableError as exc:  # a stored table that no longer parses: keep the old one
                event("route table refused", level="error", error=str(exc))
                self._stop_event.wait(self.interval * 10)
            except Exception as exc:
                event("route store unavailable", level="error", error=repr(exc))
                if store is not None:
                    store.close()
                    store = None
                self._stop_event.wait(min(2.0, self.interval * 10))
        if store is not None:
            store.close()


class RoutesFileSync(threading.Thread):
    def __init__(self, store: Store, path: Path, *, interval: float = 0.5) -> None:
        super().__init__(name="strangler-routes-file", daemon=True)
        self.store = store
        self.path = path
        self.interval = interval
        self._stop_event = threading.Event()
        self._mtime = self._stat()
        self._generation = store.latest_generation()
        self.last_error = ""

    def _stat(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.step()
            except Exception as exc:
                event("routes file sync failed", level="error", error=repr(exc))

    def step(self) -> None:
        mtime = self._stat()
        if mtime and mtime != self._mtime:
            self._mtime = mtime
            self._apply_edit()
        latest = self.store.latest_generation()
        if latest != self._generation:
            self._generation = latest
            table = self.store.current()
            if table is not None:
                current_text = self.path.read_text() if self.path.exists() else ""
                try:
                    on_disk = parse_data(load_text(current_text), upstream_urls=None)
                    same = on_disk.same_routes(table)
                except TableError:
                    same = False
                if not same:
                    write_routes_file(self.path, table)
                self._mtime = self._stat()

    def _is_mirror(self, text: str, data: object) -> bool:
        """True when the file is the store's own copy of a generation, not a person's edit.

        The store rewrites the file after every change. Without this check a copy read just
        before a newer change (two flips inside one poll) would be "applied" as an edit and
        silently undo the newer change."""
        match = _MIRROR_HEADER.match(text)
        if match is None:
            return False
        written = self.store.get(int(match.group(1)))
        if written is None or not isinstance(data, dict):
            return False
        on_disk = parse_data(data, source=str(self.path), upstream_urls=self.store.upstream_urls)
        return self.store.parse(written).same_routes(on_disk)

    def _apply_edit(self) -> None:
        try:
            text = self.path.read_text()  # once: the file may be replaced between two reads
            data = load_text(text, source=str(self.path))
            parse_data(data, source=str(self.path), upstream_urls=self.store.upstream_urls)
        except TableError as exc:
            self.last_error = str(exc)
            event("routes file refused; the old table stays", level="error", error=str(exc))
            return
        self.last_error = ""
        if self._is_mirror(text, data):
            return
        outcome = self.store.replace(data, who="file", why=f"edited {self.path}", action="edit")
        if outcome.changed:
            self._generation = outcome.change.generation
            event(
                "routes file applied",
                generation=outcome.change.generation,
                changes=outcome.change.to_state,
            )
