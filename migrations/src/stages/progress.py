"""Progress bars for long row work (backfill in ``strangler backfill`` and ``stage apply``):
one bar per table, rows done of rows total, rows per second, time taken."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

RowProgress = Callable[[str, int, int], None]  # (table, rows done, rows in all)


class RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "", style="cyan")


@contextmanager
def row_bars(
    console: Console, *, indent: str = "", transient: bool = False
) -> Iterator[RowProgress]:
    """A bar per table while the block runs; yields the ``progress(table, done, total)``
    callback the data functions take. ``transient`` bars vanish at the end (a stage's own
    report follows them)."""
    bars = Progress(
        TextColumn(indent + "{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"),
        RowsPerSecond(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )
    tasks: dict[str, TaskID] = {}

    def update(table: str, done: int, total: int) -> None:
        if table not in tasks:
            # The first call carries the rows a resumed run already had: not part of the speed.
            tasks[table] = bars.add_task(table, total=total, completed=done)
        else:
            bars.update(tasks[table], completed=done, total=total)

    with bars:
        yield update
