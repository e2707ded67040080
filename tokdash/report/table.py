"""The one text-table writer of the reports: fixed columns, one flexible column, a total line.

Every cell is sanitised (:func:`tokdash.format.clean`): report cells hold project
names, titles and model ids read from transcripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tokdash.format import clean


@dataclass(frozen=True, slots=True)
class Layout:
    """How to lay out one report table."""

    head: Sequence[str]
    right: frozenset[int] = frozenset()
    """Indexes of right-justified (numeric) columns."""
    caps: dict[int, int] = field(default_factory=dict)
    """Column index -> the most cells it may take."""
    flex: int = -1
    """The column that takes what is left of the width (never narrower than 10)."""


def render(layout: Layout, body: list[list[str]], total: list[str] | None, width: int) -> list[str]:
    """The table's lines: header, rule, body, (rule, total)."""
    head = list(layout.head)
    body = [[clean(c) for c in row] for row in body]
    rows = [head, *body] + ([total] if total is not None else [])
    n = len(head)
    widths = [max(len(r[i]) for r in rows) for i in range(n)]
    for i, cap in layout.caps.items():
        widths[i] = min(widths[i], cap)
    flex = layout.flex % n
    fixed = sum(w for i, w in enumerate(widths) if i != flex) + 2 * (n - 1)
    widths[flex] = max(10, min(widths[flex], width - fixed))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            out.append(c.rjust(widths[i]) if i in layout.right else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = line(["─" * w for w in widths])
    lines = [line(head), rule, *(line(r) for r in body)]
    if total is not None:
        lines += [rule, line(total)]
    return lines
