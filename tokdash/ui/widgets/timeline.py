"""The timeline widget: tokens per call as bars, cumulative cost as a rising area.

A session that runs away shows as a shape: bars that keep growing (the context
climbs on every call) and a cost area that turns steep. Calls are in time order,
one column per call, or several calls per column when there are more calls than
columns (a column then shows its largest call, so a spike is never averaged
away). Drawn with Rich text, eighth blocks, so it works at 80 columns and in
any terminal; colours come from component classes, i.e. from the theme.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from tokdash.model.costs import CallPoint
from tokdash.format import fmt_clock, fmt_cost, fmt_tokens

_BLOCKS = " ▁▂▃▄▅▆▇█"
_GUTTER = 8
"""Width of the value labels on the left, the axis character included."""
TOKEN_ROWS = 4
COST_ROWS = 3


@dataclass(frozen=True, slots=True)
class _Column:
    tokens: int
    """The largest call's total tokens in this column."""
    sub: bool
    """That largest call was made by a sub-agent."""
    cost: float
    """Cumulative cost up to and including the column's last call."""
    compaction: bool
    """A compaction happened within this column's time span."""


def _bar_rows(value: float, top: float, rows: int) -> list[str]:
    """One column of a bar chart, top row first, in eighth blocks."""
    if top <= 0 or value <= 0:
        return [" "] * rows
    eighths = max(1, round(value / top * rows * 8))
    out = []
    for row in range(rows - 1, -1, -1):
        fill = min(max(eighths - row * 8, 0), 8)
        out.append(_BLOCKS[fill])
    return out


class Timeline(Widget):
    """Tokens per call (bars) and cumulative cost (area) over a session's calls."""

    DEFAULT_CSS = """
    Timeline {
        height: 10;
        width: 1fr;
    }
    Timeline > .timeline--tokens { color: $primary; }
    Timeline > .timeline--sub { color: $secondary; }
    Timeline > .timeline--cost { color: $warning; }
    Timeline > .timeline--axis { color: $text-muted; }
    Timeline > .timeline--compaction { color: $error; }
    """

    COMPONENT_CLASSES = {
        "timeline--tokens",
        "timeline--sub",
        "timeline--cost",
        "timeline--axis",
        "timeline--compaction",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._calls: list[CallPoint] = []
        self._compactions: list[float] = []

    def set_calls(self, calls: list[CallPoint], compactions: list[float] | None = None) -> None:
        """Show these calls (in time order) and compaction times; repaints only on change."""
        compactions = sorted(compactions or [])
        if calls == self._calls and compactions == self._compactions:
            return
        self._calls = list(calls)
        self._compactions = compactions
        self.refresh()

    def _columns(self, width: int) -> list[_Column]:
        calls = self._calls
        n = len(calls)
        if not n or width <= 0:
            return []
        cumulative = []
        total = 0.0
        for c in calls:
            total += c.cost or 0.0
            cumulative.append(total)
        groups: list[tuple[int, int]]
        if n <= width:
            groups = [(i, i + 1) for i in range(n)]
        else:
            groups = [(j * n // width, (j + 1) * n // width) for j in range(width)]
        cols = []
        prev_end_ts = float("-inf")
        for lo, hi in groups:
            if hi <= lo:
                continue
            biggest = max(calls[lo:hi], key=lambda c: c.usage.total)
            end_ts = calls[hi - 1].timestamp
            k = bisect.bisect_right(self._compactions, prev_end_ts)
            compaction = k < len(self._compactions) and self._compactions[k] <= end_ts
            cols.append(_Column(biggest.usage.total, biggest.sidechain, cumulative[hi - 1], compaction))
            prev_end_ts = end_ts
        return cols

    def render(self) -> Text:
        """The chart as Rich text, sized to the widget."""
        width = max(self.size.width - _GUTTER, 1)
        cols = self._columns(width)
        axis = self.get_component_rich_style("timeline--axis", partial=True)
        if not cols:
            return Text("no API calls yet", style=axis)
        # With few calls, widen each column (up to 3 cells) so the shape stays readable.
        cell = max(1, min(3, width // len(cols)))
        tokens_style = self.get_component_rich_style("timeline--tokens", partial=True)
        sub_style = self.get_component_rich_style("timeline--sub", partial=True)
        cost_style = self.get_component_rich_style("timeline--cost", partial=True)
        mark_style = self.get_component_rich_style("timeline--compaction", partial=True)

        top_tokens = max(c.tokens for c in cols)
        top_cost = cols[-1].cost
        token_cells = [_bar_rows(c.tokens, top_tokens, TOKEN_ROWS) for c in cols]
        cost_cells = [_bar_rows(c.cost, top_cost, COST_ROWS) for c in cols]

        lines: list[Text] = []
        for row in range(TOKEN_ROWS):
            label = fmt_tokens(top_tokens) if row == 0 else ("0" if row == TOKEN_ROWS - 1 else "")
            line = Text(f"{label:>{_GUTTER - 1}}", style=axis)
            line.append("┤" if row in (0, TOKEN_ROWS - 1) else "│", style=axis)
            for c, cells in zip(cols, token_cells):
                line.append(cells[row] * cell, style=sub_style if c.sub else tokens_style)
            lines.append(line)
        for row in range(COST_ROWS):
            label = fmt_cost(top_cost) if row == 0 else ("$0" if row == COST_ROWS - 1 else "")
            line = Text(f"{label:>{_GUTTER - 1}}", style=axis)
            line.append("┤" if row in (0, COST_ROWS - 1) else "│", style=axis)
            for cells in cost_cells:
                line.append(cells[row] * cell, style=cost_style)
            lines.append(line)
        base = Text(" " * (_GUTTER - 1) + "└", style=axis)
        for c in cols:
            base.append(("▲" + "─" * (cell - 1)) if c.compaction else "─" * cell, style=mark_style if c.compaction else axis)
        lines.append(base)
        lines.append(self._legend(len(cols) * cell, axis, tokens_style, sub_style, cost_style, mark_style))
        return Text("\n").join(lines)

    def _legend(self, plot: int, axis: Style, tokens: Style, sub: Style, cost: Style, mark: Style) -> Text:
        """Start and end times under the plot, then what the colours and marks mean."""
        first, last = self._calls[0].timestamp, self._calls[-1].timestamp
        with_day = bool(first and last) and datetime.fromtimestamp(first).date() != datetime.fromtimestamp(last).date()
        start, end = fmt_clock(first, with_day), fmt_clock(last, with_day)
        line = Text(" " * _GUTTER)
        line.append(start, style=axis)
        if len(self._calls) > 1:
            room = max(plot - len(start) - len(end), 1)
            line.append(" " * room)
            line.append(end, style=axis)
        legend = Text(" " * _GUTTER)
        legend.append("█", style=tokens)
        legend.append(" tokens per call  ", style=axis)
        if any(c.sidechain for c in self._calls):
            legend.append("█", style=sub)
            legend.append(" sub-agent call  ", style=axis)
        legend.append("█", style=cost)
        legend.append(" cumulative cost", style=axis)
        if self._compactions:
            legend.append("  ▲", style=mark)
            legend.append(" compaction", style=axis)
        return Text("\n").join([line, legend])
