"""``strangler backfill | verify | reconcile``: the data verbs, over stages.data.

    strangler backfill --source URL --target URL --table catalog_product:id --table ... [--fresh]
    strangler verify --source URL --target URL --table ...
    strangler reconcile --owner URL --follower URL --table ...

URLs: sqlite:///abs/path or postgres://user@host:port/db. Exit 0: done / clean; 1: the two
sides differ (after a reconcile: still differ); 2: the command could not run (bad URL, missing
table, different columns, a database error), with what went wrong and what to do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Annotated, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.markup import escape

from .data import DataError, TableSpec, backfill, parse_table, reconcile, verify
from .progress import row_bars

console = Console()
T = TypeVar("T")

Tables = Annotated[
    list[str],
    typer.Option(
        "--table",
        help="name[:key[:col1,col2]] (key: id); repeat, parents first",
        show_default=False,
    ),
]
ChunkRows = Annotated[int, typer.Option(help="rows per chunk", min=1)]


def _specs(tables: list[str]) -> list[TableSpec]:
    if not tables:
        raise DataError("no tables given: --table name:key (repeat it, parents first)")
    return [parse_table(t) for t in tables]


def _run(work: Callable[[], T]) -> T:
    """Run a data verb; a problem the user can fix becomes a message and exit code 2."""
    try:
        return work()
    except DataError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
    except psycopg.Error as exc:
        console.print(f"[red]PostgreSQL error:[/red] {escape(str(exc).strip())}")
        console.print("Check that both databases are migrated to the same schema.")
    except sqlite3.Error as exc:
        console.print(f"[red]SQLite error:[/red] {escape(str(exc))}")
        console.print("Check that both files are migrated to the same schema and not locked.")
    raise typer.Exit(2)


def backfill_command(
    source: Annotated[str, typer.Option(help="the database to copy from")],
    target: Annotated[str, typer.Option(help="the database to copy into (same tables)")],
    table: Tables,
    fresh: Annotated[bool, typer.Option(help="forget the checkpoints and start over")] = False,
    chunk_rows: ChunkRows = 20_000,
) -> None:
    """Copy tables into another database: chunked, upserting, resumable after a kill."""
    specs = _run(lambda: _specs(table))
    with row_bars(console) as update:
        report = _run(
            lambda: backfill(
                source, target, specs, chunk_rows=chunk_rows, progress=update, fresh=fresh
            )
        )
    console.print(escape(report.render()))


def verify_command(
    source: Annotated[str, typer.Option(help="the side that is right (the owner)")],
    target: Annotated[str, typer.Option(help="the side that should equal it")],
    table: Tables,
    chunk_rows: ChunkRows = 10_000,
    samples: Annotated[int, typer.Option(help="differing rows to show per table")] = 10,
) -> None:
    """Compare counts and per-chunk checksums; print the first differing rows; exit 1 if any."""
    specs = _run(lambda: _specs(table))
    with console.status("verifying"):
        report = _run(lambda: verify(source, target, specs, chunk_rows=chunk_rows, samples=samples))
    console.print(escape(report.render()))
    if not report.clean:
        console.print(
            "[yellow]The sides differ. `strangler reconcile --owner SOURCE --follower TARGET` "
            "repairs the follower from the owner.[/yellow]"
        )
        raise typer.Exit(1)


def reconcile_command(
    owner: Annotated[str, typer.Option(help="the database that owns the rows (kept as is)")],
    follower: Annotated[str, typer.Option(help="the database repaired to equal the owner")],
    table: Tables,
    chunk_rows: ChunkRows = 10_000,
) -> None:
    """Repair the follower's drift from the owner's rows; print every key it changed."""
    specs = _run(lambda: _specs(table))
    with console.status("reconciling"):
        report = _run(lambda: reconcile(owner, follower, specs, chunk_rows=chunk_rows))
    console.print(escape(report.render()))
    if not report.clean:
        console.print(
            "[red]the follower still differs after the repair (written to meanwhile?)[/red]"
        )
        raise typer.Exit(1)
