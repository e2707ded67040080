"""The one table writer of the reports: Rich, fitted to the terminal's width.

Rich measures every cell in terminal cells (a Japanese title is two cells per
character), so columns line up whatever the script. When the table is wider than
the terminal, the least important columns are dropped first (each column says how
important it is), then the flexible column (a title) is cut with an ellipsis.
Every cell is sanitised (:func:`tokdash.format.clean`): cells hold project names,
titles and model ids read from transcripts.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from tokdash.format import clean

# Rich is imported by the functions that draw: a --json report never pays for it (~20 ms).

GAP = 2
"""Cells between two columns."""
MIN_FLEX = 10
"""The flexible column keeps at least this many cells before other columns are dropped."""


@dataclass(frozen=True, slots=True)
class Col:
    """One column of a report table."""

    key: str
    header: str
    right: bool = False
    """Right-justified (numbers)."""
    keep: int = 0
    """Importance: when the table is too wide, columns with the lowest ``keep`` go first."""
    flex: bool = False
    """Takes what is left of the width, cut with an ellipsis (a title)."""
    cap: int = 0
    """At most this many cells (0: no cap); longer cells are cut with an ellipsis."""


def natural(c: Col, rows: Sequence[dict[str, str]]) -> int:
    """Cells the widest of a column's cells (or its header) takes, within its cap."""
    from rich.cells import cell_len

    w = max([cell_len(c.header), *(cell_len(r.get(c.key, "")) for r in rows)])
    return min(w, c.cap) if c.cap else w


def fit(cols: Sequence[Col], rows: Sequence[dict[str, str]], width: int) -> list[Col]:
    """The columns that fit ``width`` cells, least important dropped first; order kept."""
    chosen = list(cols)
    while True:
        need = sum(MIN_FLEX if c.flex else natural(c, rows) for c in chosen) + GAP * (len(chosen) - 1)
        if need <= width or len(chosen) <= 1:
            return chosen
        droppable = [c for c in chosen if not c.flex] or chosen
        drop = min(droppable, key=lambda c: (c.keep, -chosen.index(c)))
        chosen.remove(drop)


def color_wanted(stream=None) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (https://no-color.org)."""
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


def render(cols: Sequence[Col], rows: Sequence[dict[str, str]], total: dict[str, str] | None, width: int,
           *, color: bool = False) -> str:
    """The table as text ``width`` cells wide at most: header, rows, a rule, the total row."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    body = [{k: clean(v) for k, v in r.items()} for r in rows]
    every = body + ([total] if total else [])
    shown = fit(cols, every, width)
    widths = {c.key: natural(c, every) for c in shown}
    fixed = sum(w for k, w in widths.items() if not next(c for c in shown if c.key == k).flex)
    room = width - fixed - GAP * (len(shown) - 1)
    for c in shown:
        if c.flex:
            widths[c.key] = max(min(widths[c.key], room), MIN_FLEX)  # only the flexible column is cut
    # One cell of padding on the right and the box's one-cell separator: GAP cells between columns.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
                  header_style="bold", expand=False)
    for c in shown:
        table.add_column(c.header, justify="right" if c.right else "left", no_wrap=True, overflow="ellipsis",
                         width=widths[c.key])
    for r in body:
        table.add_row(*(r.get(c.key, "") for c in shown))
    if total is not None:
        table.add_section()
        table.add_row(*(clean(total.get(c.key, "")) for c in shown), style="bold")
    out = io.StringIO()
    console = Console(file=out, width=width, color_system="standard" if color else None, force_terminal=color,
                      legacy_windows=False, highlight=False, emoji=False, markup=False)
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
