"""The History screen (key ``h``): spend per day for 30 days, per project and per model.

Three levels, Esc goes back one at a time:

1. :class:`HistoryScreen`: a bar per day (today's marked), and two tables, per
   project and per model, each with tokens and cost, over the same 30 days.
   ``←``/``→`` pick a day, ``[``/``]`` page to earlier/later days, Tab moves between
   the bars and the tables.
2. Enter on a day, a project or a model: :class:`HistorySessionsScreen`, the
   sessions behind it (``HistoryRow.session_keys``), each with its share.
3. Enter on a session: the :class:`~tokdash.ui.detail_screen.SessionDetailScreen`.

The numbers are the history reports' (``tokdash.model.history``): each API call
counts on the day of its own timestamp, in the app's time zone (local by default).
The facts come from the app (``app.history_facts``: SQL on the index thread, or
the in-memory store), never from a widget. New data (``SessionsChanged``) makes
the screen recompute, at most once every :data:`REFRESH_SECONDS` while it is
shown, and once on return when it was hidden.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from tokdash.model.activity import WORKING, fmt_age, session_status
from tokdash.model.history import (
    Fact,
    HistoryRow,
    HistoryWindow,
    SessionInfo,
    day_bounds,
    history_window,
    sessions_of,
)
from tokdash.model.store import SessionKey
from tokdash.report import fmt_cost, fmt_tokens
from tokdash.ui.messages import SessionsChanged
from tokdash.ui.sessions_table import justify, plain, theme_styles

if TYPE_CHECKING:
    from tokdash.ui.app import TokdashApp

DAYS = 30
"""Days shown at once."""
REFRESH_SECONDS = 5.0
"""While shown, the screen recomputes at most this often when new data arrives."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EIGHTHS = " ▁▂▃▄▅▆▇█"
WIDE = 120
"""From this width the tables show every column."""


def fitted(value: str | Text, width: int, right: bool = False, style: str | Style = "") -> Text:
    """One table cell: cut to ``width`` with an ellipsis, padded (numbers to the right).

    DataTable does not justify a cell's ``Text``; padding it is what aligns the digits."""
    text = value.copy() if isinstance(value, Text) else Text(value, style=style)
    text.no_wrap = True
    text.end = ""
    justify(text, width, right)
    return text


def fmt_day(d: date, *, weekday: bool = False) -> str:
    """``Sep 21`` (or ``Mon Sep 21``), the same in every locale."""
    text = f"{MONTHS[d.month - 1]} {d.day}"
    return f"{WEEKDAYS[d.weekday()]} {text}" if weekday else text


def fmt_span(first: date, last: date) -> str:
    """``Aug 23 – Sep 21 2026``."""
    if first.year != last.year:
        return f"{fmt_day(first)} {first.year} – {fmt_day(last)} {last.year}"
    return f"{fmt_day(first)} – {fmt_day(last)} {last.year}"


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


class HistoryTable(DataTable):
    """Projects or models over the window: a name column that takes the rest, fixed-width numbers.

    Refreshed in place: cells are rewritten only where they changed; rows are rebuilt
    only when the set or order of rows changes, and the cursor then goes back to its
    row by key. (A few dozen rows at most, recomputed every few seconds at most.)
    """

    DEFAULT_CSS = """
    HistoryTable { height: 1fr; }
    """

    NUMBERS: ClassVar[tuple[tuple[str, str, int], ...]] = (
        ("sessions", "sess", 4), ("calls", "calls", 6), ("tokens", "tokens", 7), ("cost", "cost", 9),
    )

    def __init__(self, name_label: str, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cell_padding=1, **kwargs)
        self.name_label = name_label
        self._shown: list[tuple[str, dict[str, str]]] = []
        self._layout: tuple[tuple[str, str, int], ...] = ()

    def columns_for(self, width: int) -> tuple[tuple[str, str, int], ...]:
        """(key, label, width) of the columns shown in a table ``width`` cells wide."""
        numbers = [c for c in self.NUMBERS if width >= WIDE // 2 or c[0] in ("tokens", "cost")]
        fixed = sum(w + 2 for _k, _l, w in numbers) + 3  # cell padding, and the scrollbar
        return (("name", self.name_label, max(8, width - fixed - 2)), *numbers)

    def fill(self, rows: list[tuple[str, str, HistoryRow]]) -> None:
        """Show ``rows`` as (row key, name shown, figures)."""
        data = [(key, {"name": name, "sessions": str(r.sessions), "calls": str(r.calls),
                       "tokens": fmt_tokens(r.usage.total), "cost": fmt_cost(r.cost, bool(r.unpriced))})
                for key, name, r in rows]
        self._show(data)

    def on_resize(self) -> None:
        """A new width may show more or fewer columns."""
        if self._shown:
            self._show(self._shown)

    def _show(self, data: list[tuple[str, dict[str, str]]]) -> None:
        layout = self.columns_for(self.size.width or 40)
        if layout == self._layout and [k for k, _v in data] == [k for k, _v in self._shown]:
            for (key, new), (_k, old) in zip(data, self._shown, strict=True):
                for col, _label, width in layout:
                    if new[col] != old[col]:
                        self.update_cell(key, col, fitted(new[col], width, col != "name"))
            self._shown = data
            return
        keep = None
        if self.row_count:
            try:
                keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
            except Exception:  # noqa: BLE001 - the cursor past the last row
                keep = None
        if layout != self._layout:
            self.clear(columns=True)
            for key, label, width in layout:
                self.add_column(fitted(label, width, key != "name", style="bold"), width=width, key=key)
            self._layout = layout
        else:
            self.clear()
        for key, values in data:
            self.add_row(*(fitted(values[c], w, c != "name") for c, _l, w in layout), key=key)
        self._shown = data
        if keep is not None and keep in {k for k, _v in data}:
            self.move_cursor(row=self.get_row_index(keep))


class HistoryScreen(Screen):
    """Spend per day for 30 days as bars, and per project and per model; drill down with Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="history.back", tooltip="Back to the sessions"),
        Binding("left_square_bracket", "earlier", "Earlier", key_display="[", id="history.earlier",
                tooltip="Earlier days: the 30 days up to the last day with calls before these"),
        Binding("right_square_bracket", "later", "Later", key_display="]", id="history.later",
                tooltip="Later days (up to today)"),
        Binding("t", "latest", "Today", id="history.latest", tooltip="Back to the 30 days up to today"),
        Binding("question_mark", "app.help", "Help", key_display="?", id="history.help",
                tooltip="Every key and formula"),
    ]

    DEFAULT_CSS = """
    HistoryScreen { layout: vertical; }
    HistoryScreen #history-title { height: 1; padding: 0 1; background: $panel; color: $foreground; }
    HistoryScreen #history-bars { background: $surface; }
    HistoryScreen #history-bars:focus { background: $boost; }
    HistoryScreen #history-tables { height: 1fr; }
    HistoryScreen HistoryTable { width: 1fr; background: $surface; }
    HistoryScreen #history-projects { margin-right: 1; }
    """

    refresh_seconds: float = REFRESH_SECONDS
    """Coalescing interval for live updates (tests shorten it)."""

    def __init__(self, last_day: date | None = None) -> None:
        super().__init__()
        self.last_day: date | None = last_day
        """The window's last day; None follows today (the default: the last 30 days)."""
        self.window: HistoryWindow | None = None
        """What is shown."""
        self.facts: list[Fact] = []
        """The facts of the window (usage per session, model and quarter hour)."""
        self.computed = 0
        """How many times the window was computed (tests check the coalescing with it)."""
        self._dirty = False
        self._gen = 0
        self._busy = False
        self._pick: str | None = "last" if last_day is None else "busy"
        self._last_compute = float("-inf")
        self._timer = None

    @property
    def tapp(self) -> TokdashApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """A title line, the bars, the two tables side by side, the footer."""
        yield Static(id="history-title", markup=False)
        yield DayBars(id="history-bars")
        with Horizontal(id="history-tables"):
            yield HistoryTable("project", id="history-projects")
            yield HistoryTable("model", id="history-models")
        yield Footer()

    def on_mount(self) -> None:
        """Styles from the theme, bars sized to the terminal, then the first computation."""
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._apply_theme())
        self._fit(self.app.size.height)
        self.query_one(DayBars).focus()
        self.query_one("#history-title", Static).update(Text("History · reading…", style="bold"))
        self._compute()

    def on_resize(self, event: events.Resize) -> None:
        """Taller bars on a taller terminal."""
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        # A third of the height (8 rows at 24: 6 of bars, the axis and the pointer lines).
        self.query_one(DayBars).styles.height = max(6, min(16, height // 3))

    def _apply_theme(self) -> None:
        styles = theme_styles(self.app)
        variables = self.app.get_css_variables()
        styles["bar"] = Style(color=variables.get("primary", "blue"))
        styles["today"] = Style(color=variables.get("success", "green"))
        styles["selected"] = Style(color=variables.get("accent", "yellow"), bold=True)
        styles["selected_blur"] = Style(color=variables.get("secondary", "cyan"))
        bars = self.query_one(DayBars)
        bars.styles_map = styles
        bars.refresh()

    # --- data ------------------------------------------------------------------------------

    def _today(self) -> date:
        return today_in(self.tapp.clock(), self.tapp.tz)

    def _first_day(self) -> date:
        last = self.last_day or self._today()
        return last - timedelta(days=DAYS - 1)

    @on(SessionsChanged)
    def _data_changed(self, message: SessionsChanged) -> None:
        """New data: recompute soon (at most every ``refresh_seconds`` while shown)."""
        self._dirty = True
        self._schedule()

    def on_screen_resume(self) -> None:
        """Back from a drill-down: catch up if data arrived meanwhile."""
        if self._dirty:
            self._schedule()

    def _schedule(self) -> None:
        # On top, not merely "current" (Textual counts the screen just below the top as current).
        if self.app.screen is not self or self._busy or self._timer is not None:
            return  # hidden: on resume; busy: when the computation in flight ends
        wait = self._last_compute + self.refresh_seconds - time.monotonic()
        if wait <= 0:
            self._compute()
        else:
            self._timer = self.set_timer(wait, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        if self._dirty:
            self._schedule()

    def _compute(self) -> None:
        self._dirty = False
        self._busy = True
        self._gen += 1
        self._last_compute = time.monotonic()
        self._load(self._gen)

    @work(group="history-facts", exit_on_error=False, name="history")
    async def _load(self, gen: int) -> None:
        """Ask the app for the window's facts (off the UI thread over the index), then draw."""
        app = self.tapp
        tz = app.tz
        first = self._first_day()
        since = day_bounds(first, tz)[0]
        until = day_bounds(first + timedelta(days=DAYS - 1), tz)[1]
        facts = await app.history_facts(since, until)
        if gen != self._gen:
            return  # the window moved meanwhile: a newer computation is on its way
        self._busy = False
        info = self._info()
        window = history_window(facts, info, first, DAYS, tz)
        self.facts = facts
        self.window = window
        self.computed += 1
        select = None
        if self._pick == "busy":
            select = self._last_busy_day(window)
        elif self._pick == "last":
            select = len(window.days) - 1
        self._pick = None
        self._draw(window, select)
        if self._dirty:
            self._schedule()

    @on(Worker.StateChanged)
    def _report_error(self, event: Worker.StateChanged) -> None:
        """A failed computation becomes a notification (screen workers' events do not bubble)."""
        if event.state == WorkerState.ERROR:
            self._busy = False
            self.notify(f"history failed: {event.worker.error!r}", severity="error", timeout=12, markup=False)

    def _info(self) -> dict[SessionKey, SessionInfo]:
        app = self.tapp
        out: dict[SessionKey, SessionInfo] = {}
        for key in app.keys():
            s = app.summary(key)
            out[key] = SessionInfo(s.project, s.project_name)
        return out

    def _draw(self, window: HistoryWindow, select: int | None) -> None:
        today = self._today()
        self.query_one(DayBars).show(window, today, select)
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("History", style="bold")
        title.append(f" · {fmt_span(window.first_day, window.last_day)}")
        if window.total.calls:
            title.append(f" · {row_summary(window.total)}")
        else:
            title.append(" · no API calls", style="dim")
            earlier = self._earlier_day()
            if earlier is not None:
                title.append(f" · the last before: {fmt_day(earlier)} {earlier.year} (press [)", style="dim")
        title.append(" · local time" if self.tapp.tz is None else f" · {self.tapp.tz}", style="dim")
        self.query_one("#history-title", Static).update(title)
        self.query_one("#history-projects", HistoryTable).fill(
            [(r.key, plain(r.label) or "?", r) for r in window.projects])
        self.query_one("#history-models", HistoryTable).fill([(r.key, plain(r.key), r) for r in window.models])

    @staticmethod
    def _last_busy_day(window: HistoryWindow) -> int:
        for i in range(len(window.days) - 1, -1, -1):
            if window.days[i].calls:
                return i
        return len(window.days) - 1

    def _earlier_day(self) -> date | None:
        """The last day with activity before the window (from the sessions' first/last activity)."""
        app = self.tapp
        start = day_bounds(self._first_day(), app.tz)[0]
        best: float | None = None
        for key in app.keys():
            s = app.summary(key)
            if s.first_activity is not None and 0 < s.first_activity < start:
                t = min(s.last_activity or s.first_activity, start - 1)
                best = t if best is None or t > best else best
        return None if best is None else today_in(best, app.tz)

    # --- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the sessions."""
        self.app.pop_screen()

    def action_earlier(self) -> None:
        """The 30 days up to the last day with activity before these."""
        day = self._earlier_day()
        if day is None:
            self.notify("Nothing earlier: no older calls are known.", timeout=4)
            return
        self._move(day, "busy")

    def action_later(self) -> None:
        """The next 30 days, up to today."""
        today = self._today()
        last = (self.last_day or today) + timedelta(days=DAYS)
        self._move(None if last >= today else last, "last")

    def action_latest(self) -> None:
        """The 30 days up to today."""
        self._move(None, "last")

    def _move(self, last_day: date | None, pick: str) -> None:
        self.last_day = last_day
        self._pick = pick
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._compute()

    @on(DayBars.DayChosen)
    def _open_day(self, message: DayBars.DayChosen) -> None:
        """Enter on a day: its sessions."""
        if self.window is None:
            return
        row = self.window.days[message.index]
        if not row.calls:
            self.notify(f"No API calls on {fmt_day(row.start or self.window.first_day, weekday=True)}.", timeout=4)
            return
        day = row.start or self.window.first_day
        what = fmt_day(day, weekday=True) + (" (today)" if day == self._today() else "") + f" {day.year}"
        self._drill(f"Sessions on {what}", "daily", row.key, row)

    @on(DataTable.RowSelected, "#history-projects")
    def _open_project(self, event: DataTable.RowSelected) -> None:
        """Enter on a project: its sessions in the window."""
        row = self._row(self.window.projects if self.window else [], event.row_key.value)
        if row is not None:
            self._drill(f"Sessions in {plain(row.label) or '?'} ({plain(row.key)})", "projects", row.key, row)

    @on(DataTable.RowSelected, "#history-models")
    def _open_model(self, event: DataTable.RowSelected) -> None:
        """Enter on a model: the sessions that used it in the window."""
        row = self._row(self.window.models if self.window else [], event.row_key.value)
        if row is not None:
            self._drill(f"Sessions using {plain(row.key)}", "models", row.key, row)

    @staticmethod
    def _row(rows: list[HistoryRow], key: str | None) -> HistoryRow | None:
        return next((r for r in rows if r.key == key), None)

    def _drill(self, title: str, grouping: str, key: str, row: HistoryRow) -> None:
        if self.window is None:
            return
        info = self._info()
        rows = sessions_of(self.facts, grouping, key, info, self.tapp.tz)
        span = fmt_span(self.window.first_day, self.window.last_day)
        subtitle = row_summary(row) + ("" if grouping == "daily" else f" · {span}")
        self.app.push_screen(HistorySessionsScreen(title, subtitle, rows))


class HistorySessionsScreen(Screen):
    """The sessions behind a day, a project or a model; Enter opens one, Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="history_sessions.back", tooltip="Back to the history"),
        Binding("question_mark", "app.help", "Help", key_display="?", id="history_sessions.help",
                tooltip="Every key and formula"),
    ]

    DEFAULT_CSS = """
    HistorySessionsScreen { layout: vertical; }
    HistorySessionsScreen #history-sessions-title { height: auto; padding: 0 1; background: $panel; }
    HistorySessionsScreen #history-sessions { height: 1fr; background: $surface; }
    """

    def __init__(self, title: str, subtitle: str, rows: list[tuple[SessionKey, HistoryRow]]) -> None:
        super().__init__()
        self.heading = title
        self.subtitle = subtitle
        self.rows = rows
        """(session, its share of the chosen day, project or model)."""

    @property
    def tapp(self) -> TokdashApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        """The title, one row per session, the footer."""
        yield Static(id="history-sessions-title", markup=False)
        yield DataTable(id="history-sessions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        """Fill the table (widths from the screen's) and focus it."""
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(self.heading, style="bold")
        head.append(f"\n{self.subtitle} · enter opens a session, esc goes back", style="dim")
        self.query_one("#history-sessions-title", Static).update(head)
        self._fill(self.app.size.width)
        self.query_one(DataTable).focus()

    def _fill(self, width: int) -> None:
        table = self.query_one(DataTable)
        styles = theme_styles(self.app)
        app = self.tapp
        now = app.clock()
        wide = width >= WIDE
        numbers = [("calls", "calls", 6), ("tokens", "tokens", 7), ("cost", "cost", 9)]
        if wide:
            numbers.append(("session", "session", 9))
        numbers.append(("last", "last", 8))
        status_w = 10
        name_w = max(12, width - status_w - sum(w + 2 for _k, _l, w in numbers) - 6)
        table.add_column(fitted("status", status_w, style="bold"), width=status_w, key="status")
        table.add_column(fitted("project · title", name_w, style="bold"), width=name_w, key="name")
        for key, label, w in numbers:
            table.add_column(fitted(label, w, True, style="bold"), width=w, key=key)
        for key, row in self.rows:
            if not app.has(key):
                continue
            s = app.summary(key)
            archived = app.is_archived(key)
            if archived:
                status = Text("◌ archived", style=styles["archived"])
            else:
                state = session_status(s.last_activity, s.open, now)
                status = Text(("● " if state == WORKING else "○ ") + state, style=styles.get(state, Style()))
            name = Text(no_wrap=True, overflow="ellipsis", end="")
            name.append(plain(s.project_name), style=styles["archived"] if archived else styles["bold"])
            name.append(" · ", style=styles["muted"])
            name.append(plain(s.title) or f"({s.session_id[:8]})")
            cells = {
                "calls": str(row.calls),
                "tokens": fmt_tokens(row.usage.total),
                "cost": fmt_cost(row.cost, bool(row.unpriced)),
                "session": fmt_cost(s.cost, s.cost_partial),
                "last": "—" if s.last_activity is None else fmt_age(now - s.last_activity),
            }
            table.add_row(fitted(status, status_w), fitted(name, name_w),
                          *(fitted(cells[k], w, True) for k, _l, w in numbers), key=f"{key[0]}:{key[1]}")

    def action_back(self) -> None:
        """Back to the history."""
        self.app.pop_screen()

    @on(DataTable.RowSelected, "#history-sessions")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a session: its detail screen."""
        value = event.row_key.value or ""
        agent, _, sid = value.partition(":")
        if sid:
            self.tapp.open_detail((agent, sid))
