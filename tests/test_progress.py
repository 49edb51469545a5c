"""The row progress bars: one per table, rows done of all, a resumed run's rows counted."""

from __future__ import annotations

from rich.console import Console

from stages.progress import row_bars


def test_a_bar_per_table_shows_rows_done_of_all() -> None:
    console = Console(record=True, force_terminal=False, width=120)  # the final frame only

    with row_bars(console, indent="  ") as progress:
        progress("catalog_product", 0, 300)
        progress("catalog_product", 300, 300)
        progress("catalog_variant", 500, 1000)  # resumed: half was copied by an earlier run
        progress("catalog_variant", 750, 1000)

    text = console.export_text()
    final = [line for line in text.splitlines() if line.strip()][-2:]
    assert final[0].startswith("  catalog_product") and "300/300 rows" in final[0]
    assert final[1].startswith("  catalog_variant") and "750/1,000 rows" in final[1]


def test_transient_bars_leave_nothing_behind() -> None:
    console = Console(record=True, force_terminal=False, width=120)

    with row_bars(console, transient=True) as progress:
        progress("notifications_notification", 10, 10)

    assert "notifications_notification" not in console.export_text()
