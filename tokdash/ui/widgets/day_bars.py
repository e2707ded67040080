"""The History screen's day bars: one column of eighth blocks per day, today marked, a day picked.

:func:`render_bars` draws a :class:`~tokdash.model.history.HistoryWindow` into a
``width`` x ``height`` block of Rich text; :class:`DayBars` is the focusable widget
around it (←/→ pick a day, Enter or a click on the picked day lists its sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from tokdash.format import fmt_cost, fmt_day, fmt_tokens
from tokdash.model.history import HistoryRow, HistoryWindow

DAYS = 30
"""Days shown at once."""
EIGHTHS = " ▁▂▃▄▅▆▇█"


def today_in(now: float, tz: tzinfo | None) -> date:
    """The calendar day of ``now`` in ``tz`` (None: local time)."""
    return datetime.fromtimestamp(now, tz).date()


def day_value(row: HistoryRow, by_cost: bool) -> float:
    """What a bar measures: USD, or tokens when nothing in the window has a price."""
    return row.cost if by_cost else float(row.usage.total)


def fmt_value(value: float, by_cost: bool) -> str:
    """A bar's value as its axis shows it."""
    if not by_cost:
        return fmt_tokens(int(value))
    if value == 0:
        return "$0"
    if value >= 1000:
        return f"${value / 1000:.1f}k"
    return f"${value:.0f}" if value >= 100 else f"${value:.2f}"


def row_summary(row: HistoryRow) -> str:
    """``$12.34 · 1.23M tokens · 4 sessions``."""
    n = row.sessions
    return (f"{fmt_cost(row.cost, bool(row.unpriced))} · {fmt_tokens(row.usage.total)} tokens · "
            f"{n} session{'s' if n != 1 else ''}")


@dataclass(frozen=True, slots=True)
class BarGeometry:
    """Where the bars go in a ``width``-cell line: the y-axis labels, then a column per day."""

    by_cost: bool
    """Bars measure USD (else tokens: nothing in the window has a price)."""
    values: tuple[float, ...]
    top: float
    """The busiest day's value: the full height."""
    top_label: str
    label_w: int
    """Cells of the y-axis labels (the axis line follows)."""
    col: int
    """Cells per day: the bar and, from 2 cells, a one-cell gap."""
    bar: int

    @property
    def base(self) -> int:
        """The first day's first cell."""
        return self.label_w + 1

    def day_at(self, x: int, days: int) -> int | None:
        """The day under cell ``x`` (None: the axis, or past the last day)."""
        i = (x - self.base) // self.col if x >= self.base else -1
        return i if 0 <= i < days else None

    @classmethod
    def of(cls, window: HistoryWindow, width: int) -> BarGeometry:
        """The geometry of ``window``'s bars in ``width`` cells."""
        n = len(window.days)
        by_cost = window.total.cost_pico > 0 or window.total.usage.total == 0
        values = tuple(day_value(r, by_cost) for r in window.days)
        top = max(values, default=0.0)
        top_label = fmt_value(top, by_cost) if top else ""
        label_w = max(len(top_label), len(fmt_value(0, by_cost))) + 1
        col = max(1, min(5, max(width - label_w - 1, n) // n))
        return cls(by_cost, values, top, top_label, label_w, col, col - 1 if col >= 2 else 1)


def render_bars(window: HistoryWindow, selected: int, today: date, width: int, height: int,
                styles: dict[str, Style], *, focused: bool = True) -> Text:
    """The day bars as Rich text, ``width`` x ``height`` cells (two lines of axis below the bars).

    Each day is one column of eighth-blocks scaled to the window's busiest day (a day
    with any spend shows at least one eighth). Today's bar has its own colour and
    label; the selected day is highlighted and pointed at, with its figures beside
    the pointer. Works from ~40 columns: each day gets 1 to 5 cells.
    """
    st = styles.get
    days = window.days
    n = len(days)
    g = BarGeometry.of(window, width)
    by_cost, values, top, top_label, label_w, col, bar = g.by_cost, g.values, g.top, g.top_label, g.label_w, g.col, g.bar
    rows = max(height - 2, 1)
    out = Text(no_wrap=True, overflow="crop", end="")
    if not top:
        blank = Text(no_wrap=True)
        blank.append(" No API calls on these days.", style=st("muted"))
        for r in range(rows):
            if r == rows // 2:
                out.append_text(blank)
            out.append("\n")
    else:
        eighths = [max(1, round(v / top * rows * 8)) if v > 0 else 0 for v in values]
        for r in range(rows - 1, -1, -1):
            label = top_label if r == rows - 1 else (fmt_value(0, by_cost) if r == 0 else "")
            out.append(label.rjust(label_w - 1) + " ", style=st("muted"))
            out.append("┤" if label else "│", style=st("muted"))
            for i, e in enumerate(eighths):
                level = min(max(e - r * 8, 0), 8)
                style = "selected" if i == selected and focused else "today" if days[i].start == today else "bar"
                if i == selected and not focused:
                    style = "selected_blur"
                out.append(EIGHTHS[level] * bar, style=st(style))
                if col > bar:
                    out.append(" " * (col - bar))
            out.append("\n")
    # Axis labels: a tick every 7 days counting back from the last day, "today" on today.
    axis = [" "] * (g.base + col * n)
    base = g.base
    last = days[-1].start or window.last_day
    for i in range(n - 1, -1, -1):
        d = days[i].start
        if d is None or (last - d).days % 7:
            continue
        text = "today" if d == today else fmt_day(d)
        start = base + i * col
        if start + len(text) > len(axis):
            start = len(axis) - len(text)
        if all(c == " " for c in axis[max(start - 1, 0) : start + len(text) + 1]):
            axis[start : start + len(text)] = list(text)
    out.append("".join(axis).rstrip(), style=st("muted"))
    out.append("\n")
    # The pointer under the selected day, with its figures on the side that has room.
    if 0 <= selected < n:
        d = days[selected].start or window.first_day
        where = base + selected * col + (bar - 1) // 2
        tag = fmt_day(d, weekday=True) + (" (today)" if d == today else "")
        info = f"{tag} · {row_summary(days[selected])}"
        hint = " · enter: its sessions" if days[selected].sessions else ""
        right_room = width - where - 2
        if len(info) + len(hint) <= right_room:
            out.append(" " * where)
            out.append("▲ ", style=st("accent"))
            out.append(info, style=st("bold"))
            out.append(hint, style=st("muted"))
        elif len(info) <= right_room:
            out.append(" " * where)
            out.append("▲ ", style=st("accent"))
            out.append(info, style=st("bold"))
        elif len(info) + 1 <= where:
            out.append(" " * (where - len(info) - 1))
            out.append(info, style=st("bold"))
            out.append(" ▲", style=st("accent"))
        else:
            out.append(" " * where)
            out.append("▲ ", style=st("accent"))
            out.append(info[: max(right_room, 0)], style=st("bold"))
    return out


class DayBars(Widget, can_focus=True):
    """A bar per day; ←/→ pick a day, Enter (or a click on the picked day) lists its sessions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "Day before", show=False, id="history.day_before",
                tooltip="The day before (the bars)"),
        Binding("right", "move(1)", "Day after", show=False, id="history.day_after",
                tooltip="The day after (the bars)"),
        Binding("enter", "choose", "Sessions", id="history.day_sessions",
                tooltip="The sessions behind the picked day"),
    ]

    DEFAULT_CSS = """
    DayBars { height: 12; padding: 0 1; }
    """

    class DayChosen(Message):
        """Enter on a day: list its sessions."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index
            """Index into the window's days."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.window: HistoryWindow | None = None
        """The days shown."""
        self.selected = DAYS - 1
        """The picked day's index."""
        self.today: date = date.today()
        self.styles_map: dict[str, Style] = {}

    def show(self, window: HistoryWindow, today: date, selected: int | None = None) -> None:
        """Draw ``window`` (keeping the picked day unless ``selected`` is given)."""
        self.window = window
        self.today = today
        if selected is not None:
            self.selected = selected
        self.selected = min(max(self.selected, 0), len(window.days) - 1)
        self.refresh()

    def render(self) -> Text:
        """The bars, axis and pointer (see :func:`render_bars`)."""
        if self.window is None:
            return Text("reading history…", style="dim")
        return render_bars(self.window, self.selected, self.today, self.content_size.width,
                           self.content_size.height, self.styles_map, focused=self.has_focus)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        """Pick the day ``step`` days away (within the window)."""
        if self.window is None:
            return
        self.selected = min(max(self.selected + step, 0), len(self.window.days) - 1)
        self.refresh()

    def action_choose(self) -> None:
        """List the picked day's sessions."""
        if self.window is not None:
            self.post_message(self.DayChosen(self.selected))

    def on_click(self, event: events.Click) -> None:
        """A click picks a day; a click on the picked day lists its sessions."""
        if self.window is None:
            return
        geometry = BarGeometry.of(self.window, self.content_size.width)
        index = geometry.day_at(event.x - self.styles.padding.left, len(self.window.days))
        if index is None:
            return
        if index == self.selected:
            self.action_choose()
        else:
            self.selected = index
            self.refresh()
