"""Route-table generations: recorded, restorable, shared between processes, watched."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from proxy_fixtures import table_data

from strangler_proxy.pgstore import PostgresStore
from strangler_proxy.store import FileStore, StoreError
from strangler_proxy.table import Mode, RouteTable, TableError, load_text
from strangler_proxy.watch import RoutesFileSync, TableWatcher


def _file_store(tmp_path: Path) -> FileStore:
    store = FileStore(tmp_path, tmp_path / "routes.yaml")
    store.init(table_data(), who="test")
    return store


def test_every_change_is_a_recorded_generation(tmp_path: Path) -> None:
    store = _file_store(tmp_path)

    shadow = store.set_mode("catalog", "shadow", who="ana", why="compare first")
    canary = store.set_mode("catalog", "canary", percent=10, who="ana", why="10 % of users")
    again = store.set_mode("catalog", "canary", percent=10, who="bob")

    assert (shadow.changed, shadow.change.generation) == (True, 2)
    assert (shadow.change.from_state, shadow.change.to_state) == (
        {"mode": "monolith"},
        {"mode": "shadow"},
    )
    assert canary.change.to_state == {"mode": "canary", "percent": 10.0}
    assert (again.changed, again.change.generation) == (False, 3)  # nothing new to record
    assert [(c.generation, c.who, c.action, c.route, c.why) for c in store.history()] == [
        (3, "ana", "set", "catalog", "10 % of users"),
        (2, "ana", "set", "catalog", "compare first"),
        (1, "test", "init", "*", "first start"),
    ]
    current = store.current()
    assert current is not None
    assert current.generation == 3
    assert current.route("catalog").percent == 10.0
    on_disk = load_text((tmp_path / "routes.yaml").read_text())
    assert on_disk["routes"]["catalog"]["mode"] == "canary"  # the file mirrors the store


def test_rollback_restores_an_earlier_generation_as_a_new_one(tmp_path: Path) -> None:
    store = _file_store(tmp_path)
    store.set_mode("catalog", "shadow", who="ana")
    store.set_mode("cart", "service", who="ana")

    previous = store.rollback(who="bob", why="cart misbehaves")
    first = store.rollback(1, who="bob")

    assert previous.change.generation == 4
    assert previous.change.from_state == {"cart": {"mode": "service"}}
    assert previous.change.to_state == {"cart": {"mode": "monolith"}, "restored": 2}
    table = store.current()
    assert table is not None
    assert table.generation == 5
    assert table.route("catalog").mode is Mode.MONOLITH
    assert table.route("cart").mode is Mode.MONOLITH
    assert first.change.to_state == {"catalog": {"mode": "monolith"}, "restored": 1}


def test_refused_changes_leave_the_table_alone(tmp_path: Path) -> None:
    store = _file_store(tmp_path)

    with pytest.raises(StoreError) as unknown:
        store.set_mode("basket", "service", who="x")
    with pytest.raises(TableError, match="'servce' is not one of"):
        store.set_mode("cart", "servce", who="x")
    with pytest.raises(StoreError) as missing:
        store.rollback(42, who="x")

    assert unknown.value.status == 404
    assert missing.value.status == 404
    assert store.latest_generation() == 1


def test_two_processes_sharing_the_files_see_each_other(tmp_path: Path) -> None:
    writer, reader = _file_store(tmp_path), FileStore(tmp_path, tmp_path / "routes.yaml")
    assert reader.latest_generation() == 1

    writer.set_mode("catalog", "service", who="ana")

    assert reader.latest_generation() == 2
    table = reader.current()
    assert table is not None
    assert table.route("catalog").mode is Mode.SERVICE


def test_concurrent_changes_get_distinct_generations(tmp_path: Path) -> None:
    _file_store(tmp_path)
    stores = [FileStore(tmp_path, tmp_path / "routes.yaml") for _ in range(4)]

    def flip(store: FileStore, n: int) -> None:
        for i in range(10):
            store.set_mode("cart", "service" if i % 2 else "shadow", who=f"w{n}")

    threads = [threading.Thread(target=flip, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    generations = [c.generation for c in stores[0].history(limit=0)]
    assert generations == list(range(len(generations), 0, -1))  # no gap, no duplicate
    assert len(generations) > 10


def test_the_watcher_delivers_new_generations(tmp_path: Path) -> None:
    store = _file_store(tmp_path)
    seen: list[RouteTable] = []
    arrived = threading.Event()

    def on_table(table: RouteTable) -> None:
        seen.append(table)
        arrived.set()

    watcher = TableWatcher(
        lambda: FileStore(tmp_path, tmp_path / "routes.yaml"), on_table, interval=0.05, known=1
    )
    watcher.start()
    try:
        started = time.monotonic()
        store.set_mode("catalog", "shadow", who="ana")
        assert arrived.wait(2)
        took = time.monotonic() - started
    finally:
        watcher.stop()
        watcher.join(2)

    assert [t.generation for t in seen] == [2]
    assert took < 1.0


def test_editing_the_routes_file_records_a_generation_and_bad_edits_are_refused(
    tmp_path: Path,
) -> None:
    store = _file_store(tmp_path)
    path = tmp_path / "routes.yaml"
    sync = RoutesFileSync(store, path)

    good = path.read_text().replace("mode: monolith", "mode: monolith", 1)
    good = good.replace(
        "prefixes:\n    - /api/cart\n", "prefixes:\n    - /api/cart\n    mode: shadow\n"
    )
    _write(path, good)
    sync.step()
    _write(path, good.replace("mode: shadow", "mode: shadw"))
    sync.step()

    change = store.history(limit=1)[0]
    assert (change.generation, change.who, change.action, change.route) == (2, "file", "edit", "*")
    assert change.to_state == {"cart": {"mode": "shadow"}}
    assert "routes.cart.mode: 'shadw' is not one of" in sync.last_error
    assert " line " in sync.last_error
    table = store.current()
    assert table is not None
    assert table.generation == 2


def test_a_stale_copy_of_the_table_on_disk_is_not_taken_for_an_edit(tmp_path: Path) -> None:
    # Two flips inside one poll: the file the sync sees is the store's own copy of the first
    # flip. Applying it as an edit would silently undo the second flip.
    store = _file_store(tmp_path)
    path = tmp_path / "routes.yaml"
    sync = RoutesFileSync(store, path)
    store.set_mode("catalog", "service", who="ana")
    stale = path.read_text()
    store.set_mode("catalog", "monolith", who="ana")

    _write(path, stale)
    sync.step()

    assert [c.generation for c in store.history()] == [3, 2, 1]
    table = store.current()
    assert table is not None
    assert table.route("catalog").mode is Mode.MONOLITH


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))  # a new mtime even within one clock tick


@pytest.fixture
def postgres_url() -> Iterator[str]:
    from stages.databases import postgres_answers, postgres_create, postgres_drop

    reason = postgres_answers()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    url = postgres_create("kit_proxy")
    yield url
    postgres_drop(url)


@pytest.mark.postgres
def test_the_postgres_store_shares_generations_and_wakes_watchers(
    postgres_url: str, tmp_path: Path
) -> None:
    admin = PostgresStore(postgres_url)
    admin.init(table_data(), who="test")
    listener = PostgresStore(postgres_url)
    listener.wait(0.01)  # LISTEN from now on
    try:
        admin.set_mode("catalog", "shadow", who="ana", why="replicas")
        started = time.monotonic()
        listener.wait(5.0)
        woke = time.monotonic() - started
        rolled = admin.rollback(who="bob")

        assert woke < 1.0
        assert listener.latest_generation() == 3
        assert [c.generation for c in listener.history()] == [3, 2, 1]
        assert rolled.change.to_state == {"catalog": {"mode": "monolith"}, "restored": 1}
        table = listener.current()
        assert table is not None
        assert table.route("catalog").mode is Mode.MONOLITH
    finally:
        admin.close()
        listener.close()
