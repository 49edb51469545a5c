"""Backfill, verify and reconcile on both engines, with a realistic schema (shop.py)."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from eventbus.tests.harness import need
from stages.data import TableSpec, backfill, reconcile, verify

from .shop import SIZES, TABLES, Dbs, drop, make

REPO = Path(__file__).resolve().parents[5]
CHUNK = 1000


def _contents(dbs: Dbs, url: str, table: str) -> list[tuple[object, ...]]:
    return dbs.run(url, f"SELECT * FROM {table} ORDER BY id")


def test_backfill_copies_every_row_exactly_and_a_rerun_changes_nothing(dbs: Dbs) -> None:
    report = backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)

    for spec in TABLES:
        assert _contents(dbs, dbs.target, spec.name) == _contents(dbs, dbs.source, spec.name)
    by_table = {t.table: t for t in report.tables}
    assert {name: t.rows_copied for name, t in by_table.items()} == SIZES
    assert by_table["catalog_variant"].chunks == SIZES["catalog_variant"] // CHUNK
    assert verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).clean

    again = backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    assert again.rows_copied == 0
    assert all(t.resumed_from is not None for t in again.tables)

    # Over rows that are already there: every row upserted, none duplicated, nothing changed.
    fresh = backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK, fresh=True)
    assert fresh.rows_copied == sum(SIZES.values())
    assert all(t.direct_chunks == 0 for t in fresh.tables)
    for spec in TABLES:
        assert dbs.count(dbs.target, spec.name) == SIZES[spec.name]
    assert verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).clean


def test_backfill_overwrites_stale_rows_and_copies_rows_added_later(dbs: Dbs) -> None:
    backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    first_id, last_id = dbs.run(dbs.source, "SELECT min(id), max(id) FROM catalog_variant")[0]
    dbs.run(dbs.target, "UPDATE catalog_variant SET currency = 'XXX' WHERE id = %s", [first_id])
    dbs.run(
        dbs.source,
        "INSERT INTO catalog_variant (id, product_id, sku, price, currency, stock, attributes, "
        "updated_at) SELECT %s, product_id, 'SKU-NEW', price, currency, stock, attributes, "
        "updated_at FROM catalog_variant WHERE id = %s",
        [last_id + 10, first_id],
    )

    resumed = backfill(dbs.source, dbs.target, [TableSpec("catalog_variant")], chunk_rows=CHUNK)
    assert resumed.tables[0].rows_copied == 1  # only the row past the checkpoint
    assert dbs.run(dbs.target, "SELECT sku FROM catalog_variant WHERE id = %s", [last_id + 10]) == [
        ("SKU-NEW",)
    ]
    backfill(dbs.source, dbs.target, [TableSpec("catalog_variant")], chunk_rows=CHUNK, fresh=True)
    assert dbs.run(
        dbs.target, "SELECT currency FROM catalog_variant WHERE id = %s", [first_id]
    ) != [("XXX",)]
    assert verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).clean


KILLED = """
import sys, time
from stages.data import backfill, checkpoint
from stages.data.tests.shop import TABLES

name = "pg_save" if sys.argv[3] == "postgres" else "sqlite_save"
original = getattr(checkpoint, name)
calls = 0


def save_then_hang(conn, table, last_key, rows, run_id, done):
    global calls
    original(conn, table, last_key, rows, run_id, done)
    if table == "catalog_variant" and not done:
        calls += 1
        if calls == int(sys.argv[4]):
            # Inside the chunk's transaction: its rows and this checkpoint are not committed.
            print("HANGING", rows, flush=True)
            time.sleep(600)


setattr(checkpoint, name, save_then_hang)
backfill(sys.argv[1], sys.argv[2], TABLES, chunk_rows=int(sys.argv[5]))
print("FINISHED", flush=True)
"""


def test_a_backfill_killed_half_way_resumes_from_its_checkpoint(dbs: Dbs, tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    half = SIZES["catalog_variant"] // CHUNK // 2
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "migrations/src"), str(REPO)])}
    args = [sys.executable, str(script), dbs.source, dbs.target, dbs.engine, str(half), str(CHUNK)]
    with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert line.startswith("HANGING"), line
    assert proc.returncode == -signal.SIGKILL

    # Exactly the committed chunks survived: the one in flight went with the process.
    committed = (half - 1) * CHUNK
    assert dbs.count(dbs.target, "catalog_variant") == committed
    saved = dbs.run(
        dbs.target,
        "SELECT rows, done FROM kit_backfill_progress WHERE table_name = 'catalog_variant'",
    )
    assert [(int(r), bool(d)) for r, d in saved] == [(committed, False)]
    assert dbs.count(dbs.target, "notifications_notification") == 0

    rerun = {t.table: t for t in backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).tables}
    assert rerun["catalog_category"].rows_copied == 0
    assert rerun["catalog_product"].rows_copied == 0
    variant = rerun["catalog_variant"]
    assert variant.resumed_from is not None
    assert variant.rows_copied == SIZES["catalog_variant"] - committed < SIZES["catalog_variant"]
    assert rerun["notifications_notification"].rows_copied == SIZES["notifications_notification"]

    for spec in TABLES:
        assert dbs.count(dbs.target, spec.name) == SIZES[spec.name]
    assert dbs.run(dbs.target, "SELECT count(*) - count(DISTINCT sku) FROM catalog_variant") == [
        (0,)
    ]
    assert verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).clean


def test_verify_names_an_injected_divergence_and_reconcile_repairs_it(dbs: Dbs) -> None:
    backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    ids = [r[0] for r in dbs.run(dbs.source, "SELECT id FROM catalog_variant ORDER BY id")]
    changed, missing = ids[2345], ids[9876]
    price = dbs.run(dbs.source, "SELECT price FROM catalog_variant WHERE id = %s", [changed])[0][0]
    dbs.run(dbs.target, "UPDATE catalog_variant SET price = price + 1 WHERE id = %s", [changed])
    dbs.run(dbs.target, "DELETE FROM catalog_variant WHERE id = %s", [missing])
    extra = ids[-1] + 1
    dbs.run(
        dbs.target,
        "INSERT INTO catalog_variant (id, product_id, sku, price, currency, stock, attributes, "
        "updated_at) SELECT %s, product_id, 'SKU-EXTRA', price, currency, stock, attributes, "
        "updated_at FROM catalog_variant WHERE id = %s",
        [extra, ids[0]],
    )

    report = verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    assert not report.clean
    variants = {t.table: t for t in report.tables}["catalog_variant"]
    assert (variants.first_rows, variants.second_rows) == (len(ids), len(ids))
    assert len(variants.differing) == 3
    diffs = {(d.key, d.kind, d.column): (d.first, d.second) for d in variants.samples}
    assert set(diffs) == {
        (changed, "changed", "price"),
        (missing, "missing", None),
        (extra, "extra", None),
    }
    first, second = diffs[(changed, "changed", "price")]
    assert first is not None and second is not None
    assert float(first.strip("'")) == float(price)
    assert float(second.strip("'")) == float(price) + 1
    text = report.render()
    assert f"key {changed}: price" in text and f"key {missing}: only in the first side" in text
    assert all(t.clean for t in report.tables if t.table != "catalog_variant")

    repaired = reconcile(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    by_table = {t.table: t for t in repaired.tables}
    assert by_table["catalog_variant"].inserted == [missing]
    assert by_table["catalog_variant"].updated == [changed]
    assert by_table["catalog_variant"].deleted == [extra]
    assert repaired.changed == 3
    assert repaired.clean
    assert verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).clean
    assert _contents(dbs, dbs.target, "catalog_variant") == _contents(
        dbs, dbs.source, "catalog_variant"
    )
    assert reconcile(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).changed == 0


def test_a_clean_reconcile_is_its_own_verify(dbs: Dbs, monkeypatch: pytest.MonkeyPatch) -> None:
    backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    module = importlib.import_module("stages.data.reconcile")  # the module, not the function

    def second_pass(*args: object, **kwargs: object) -> None:
        raise AssertionError("a clean first pass needs no second checksum pass")

    monkeypatch.setattr(module, "verify", second_pass)
    report = reconcile(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)

    assert report.changed == 0 and report.clean
    assert report.after is not None
    assert {t.table: t.first_rows for t in report.after.tables} == {
        t.table: t.first_rows
        for t in verify(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK).tables
    }


def test_reconcile_repairs_uuid_keyed_rows_and_children_of_missing_parents(dbs: Dbs) -> None:
    backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    dbs.run(dbs.target, "DELETE FROM notifications_notification")
    dbs.run(dbs.target, "DELETE FROM catalog_variant WHERE product_id = 7")
    dbs.run(dbs.target, "DELETE FROM catalog_product WHERE id = 7")
    repaired = reconcile(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
    by_table = {t.table: t for t in repaired.tables}
    assert by_table["catalog_product"].inserted == [7]
    assert (
        len(by_table["notifications_notification"].inserted) == SIZES["notifications_notification"]
    )
    assert repaired.clean


@pytest.mark.postgres
def test_postgres_sequences_move_past_copied_keys_and_types_may_differ(
    tmp_path: Path,
) -> None:
    need("postgres")
    dbs, created = make("postgres", tmp_path)
    try:
        # A wider type on the target: binary COPY cannot go straight in; the staging path casts.
        dbs.run(dbs.target, "ALTER TABLE catalog_variant ALTER COLUMN stock TYPE bigint")
        report = backfill(dbs.source, dbs.target, TABLES, chunk_rows=CHUNK)
        by_table = {t.table: t for t in report.tables}
        assert by_table["catalog_variant"].direct_chunks == 0
        assert by_table["catalog_product"].direct_chunks == by_table["catalog_product"].chunks
        top = dbs.run(dbs.source, "SELECT max(id) FROM catalog_variant")[0][0]
        assert by_table["catalog_variant"].sequence_set_to == top
        new = dbs.run(
            dbs.target,
            "INSERT INTO catalog_variant (product_id, sku, price, currency, attributes, "
            "updated_at) VALUES (1, 'SKU-SERVICE', 1.00, 'EUR', '{}', now()) RETURNING id",
        )
        assert new == [(top + 1,)]
        assert by_table["notifications_notification"].sequence_set_to is None  # uuid key
        assert verify(dbs.source, dbs.target, TABLES[:2], chunk_rows=CHUNK).clean
    finally:
        drop(created)
