"""The strangler data verbs (exit codes, messages) and the errors a user can make (SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stages.cli import app
from stages.data import DataError, TableSpec, backfill, parse_table, verify
from stages.data.chunks import Chunks

from .shop import TABLES, Dbs, make

runner = CliRunner()


@pytest.fixture
def sqlite_dbs(tmp_path: Path) -> Dbs:
    return make("sqlite", tmp_path)[0]


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def _tables() -> list[str]:
    return [arg for spec in TABLES for arg in ("--table", f"{spec.name}:{spec.key}")]


def test_backfill_verify_reconcile_from_the_command_line(sqlite_dbs: Dbs) -> None:
    dbs = sqlite_dbs
    code, out = _invoke("backfill", "--source", dbs.source, "--target", dbs.target, *_tables())
    assert code == 0, out
    assert "catalog_variant: 12000 rows copied" in out

    code, out = _invoke("verify", "--source", dbs.source, "--target", dbs.target, *_tables())
    assert code == 0, out
    assert "clean" in out

    key = dbs.run(dbs.target, "SELECT min(id) FROM catalog_variant")[0][0]
    dbs.run(dbs.target, "UPDATE catalog_variant SET stock = 999999 WHERE id = %s", [key])
    code, out = _invoke("verify", "--source", dbs.source, "--target", dbs.target, *_tables())
    assert code == 1, out
    assert f"key {key}: stock" in out and "999999" in out

    code, out = _invoke("reconcile", "--owner", dbs.source, "--follower", dbs.target, *_tables())
    assert code == 0, out
    assert f"updated 1: {key}" in out


def test_mistakes_are_explained_with_exit_code_2(sqlite_dbs: Dbs, tmp_path: Path) -> None:
    dbs = sqlite_dbs
    cases = [
        (["--source", "mysql://x/y", "--target", dbs.target, "--table", "t"], "bad URL"),
        (
            ["--source", f"sqlite:///{tmp_path}/none.db", "--target", dbs.target, "--table", "t"],
            "no SQLite database",
        ),
        (["--source", dbs.source, "--target", dbs.target, "--table", "nope"], "does not exist"),
        (
            ["--source", dbs.source, "--target", dbs.target, "--table", "catalog_variant:code"],
            "no key column 'code'",
        ),
        (
            [
                "--source",
                dbs.source,
                "--target",
                dbs.target,
                "--table",
                "catalog_variant:id:sku,colour",
            ],
            "different columns: colour missing",
        ),
        (
            ["--source", "postgres://u@h:5432/db", "--target", dbs.target, "--table", "t"],
            "same engine",
        ),
    ]
    for args, message in cases:
        for verb in ("backfill", "verify"):
            code, out = _invoke(verb, *args)
            assert code == 2, (verb, args, out)
            assert message in " ".join(out.split()), (verb, message, out)
    code, _ = _invoke("verify", "--source", dbs.source, "--target", dbs.target)
    assert code == 2  # typer: --table is required


def test_columns_only_one_side_has(sqlite_dbs: Dbs) -> None:
    dbs = sqlite_dbs
    path = dbs.target.split("sqlite://", 1)[1]
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE catalog_category DROP COLUMN name")
        conn.execute("ALTER TABLE catalog_category ADD COLUMN note text NULL")
    report = backfill(dbs.source, dbs.target, [TableSpec("catalog_category")])
    assert report.tables[0].not_copied_columns == ("name",)
    assert "not copied (the target has no such column): name" in report.render()
    assert verify(dbs.source, dbs.target, [TableSpec("catalog_category")]).clean

    dbs.run(dbs.source, "CREATE TABLE extra (id integer PRIMARY KEY, a text)")
    dbs.run(dbs.target, "CREATE TABLE extra (id integer PRIMARY KEY, a text, must text NOT NULL)")
    with pytest.raises(DataError, match="requires must, which the source"):
        backfill(dbs.source, dbs.target, [TableSpec("extra")])


def test_table_arguments() -> None:
    assert parse_table("catalog_product") == TableSpec("catalog_product", "id", None)
    assert parse_table("n:uuid") == TableSpec("n", "uuid", None)
    assert parse_table("v:id:sku,price") == TableSpec("v", "id", ("id", "sku", "price"))
    for bad in ("", ":id", "a::", "a:b:c:d"):
        with pytest.raises(DataError):
            parse_table(bad)


@pytest.mark.parametrize(
    "chunks",
    [
        Chunks.by_step(5, 1000, 300, 40),
        Chunks.by_starts(["b", "f", "m"]),
        Chunks.by_step(None, None, 0, 10),
    ],
)
def test_every_key_falls_in_the_bounds_of_its_chunk(chunks: Chunks) -> None:
    keys: list[object] = list(range(-3, 1010)) if chunks.kind != "starts" else list("abcdefghmnz")
    if chunks.kind == "one":
        keys = [1, 2, 3]
    for key in keys:
        lo, hi = chunks.bounds(chunks.of(key))
        assert (lo is None or lo <= key) and (hi is None or key < hi), (key, lo, hi)  # type: ignore[operator]
