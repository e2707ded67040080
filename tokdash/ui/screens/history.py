"""The History screen (key ``h``): spend per day for 30 days, per project and per model.

Three levels, Esc goes back one at a time:

1. :class:`HistoryScreen`: a bar per day (today's marked), and two tables, per
   project and per model, each with tokens and cost, over the same 30 days.
   ``←``/``→`` pick a day, ``[``/``]`` page to earlier/later days, Tab moves between
   the bars and the tables.
2. Enter on a day, a project or a model: :class:`HistorySessionsScreen`, the
   sessions behind it (``HistoryRow.session_keys``), each with its share.
3. Enter on a session: the session's detail screen.

The deeper levels are opened by the app, on the messages this screen posts
(:class:`~tokdash.ui.messages.HistoryDrilled`). The numbers are the history
reports' (``tokdash.model.history``): each API call counts on the day of its own
timestamp, in the catalog's time zone (local by default). The facts come from the
catalog (``history_facts``: SQL on the index thread, or the in-memory feed's
store), never from a widget. New data (``CatalogChanged``) makes
the screen recompute, at most once every :data:`REFRESH_SECONDS` while it is
shown, and once on return when it was hidden.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from tokdash.format import clean, fmt_day, fmt_span
from tokdash.ingest.catalog import CatalogView
from tokdash.model.history import Fact, HistoryRow, HistoryWindow, SessionInfo, day_bounds, history_window, sessions_of
from tokdash.model.store import SessionKey
from tokdash.ui.messages import CatalogChanged, HelpRequested, HistoryDrilled
from tokdash.ui.styles import theme_styles
from tokdash.ui.widgets.day_bars import DAYS, DayBars, row_summary, today_in
from tokdash.ui.widgets.history_table import HistoryTable

REFRESH_SECONDS = 5.0
"""While shown, the screen recomputes at most this often when new data arrives."""


class HistoryScreen(Screen):
    """Spend per day for 30 days as bars, and per project and per model; drill down with Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="history.back", tooltip="Back to the sessions"),
        Binding("left_square_bracket", "earlier", "Earlier", key_display="[", id="history.earlier",
                tooltip="Earlier days: the 30 days up to the last day with calls before these"),
        Binding("right_square_bracket", "later", "Later", key_display="]", id="history.later",
                tooltip="Later days (up to today)"),
        Binding("t", "latest", "Today", id="history.latest", tooltip="Back to the 30 days up to today"),
        Binding("question_mark", "help", "Help", key_display="?", id="history.help",
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

    def __init__(self, catalog: CatalogView, last_day: date | None = None) -> None:
        super().__init__()
        self.catalog = catalog
        """What the screen reads."""
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
        bars = self.query_one(DayBars)
        bars.styles_map = styles
        bars.refresh()

    # --- data ------------------------------------------------------------------------------

    def _today(self) -> date:
        return today_in(self.catalog.clock(), self.catalog.tz)

    def _first_day(self) -> date:
        last = self.last_day or self._today()
        return last - timedelta(days=DAYS - 1)

    @on(CatalogChanged)
    def _data_changed(self, message: CatalogChanged) -> None:
        """New data: recompute soon (at most every ``refresh_seconds`` while shown)."""
        if not message.changes.sessions:
            return  # rows aging with time: the history's numbers did not move
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
        catalog = self.catalog
        tz = catalog.tz
        first = self._first_day()
        since = day_bounds(first, tz)[0]
        until = day_bounds(first + timedelta(days=DAYS - 1), tz)[1]
        facts = await catalog.history_facts(since, until)
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
        catalog = self.catalog
        out: dict[SessionKey, SessionInfo] = {}
        for key in catalog.keys():
            s = catalog.summary(key)
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
        title.append(" · local time" if self.catalog.tz is None else f" · {self.catalog.tz}", style="dim")
        self.query_one("#history-title", Static).update(title)
        self.query_one("#history-projects", HistoryTable).fill(
            [(r.key, clean(r.label) or "?", r) for r in window.projects])
        self.query_one("#history-models", HistoryTable).fill([(r.key, clean(r.key), r) for r in window.models])

    @staticmethod
    def _last_busy_day(window: HistoryWindow) -> int:
        for i in range(len(window.days) - 1, -1, -1):
            if window.days[i].calls:
                return i
        return len(window.days) - 1

    def _earlier_day(self) -> date | None:
        """The last day with activity before the window (from the sessions' first/last activity)."""
        catalog = self.catalog
        start = day_bounds(self._first_day(), catalog.tz)[0]
        best: float | None = None
        for key in catalog.keys():
            s = catalog.summary(key)
            if s.first_activity is not None and 0 < s.first_activity < start:
                t = min(s.last_activity or s.first_activity, start - 1)
                best = t if best is None or t > best else best
        return None if best is None else today_in(best, catalog.tz)

    # --- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the sessions."""
        self.dismiss()

    def action_help(self) -> None:
        """Every key and formula."""
        self.post_message(HelpRequested())

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
            self._drill(f"Sessions in {clean(row.label) or '?'} ({clean(row.key)})", "projects", row.key, row)

    @on(DataTable.RowSelected, "#history-models")
    def _open_model(self, event: DataTable.RowSelected) -> None:
        """Enter on a model: the sessions that used it in the window."""
        row = self._row(self.window.models if self.window else [], event.row_key.value)
        if row is not None:
            self._drill(f"Sessions using {clean(row.key)}", "models", row.key, row)

    @staticmethod
    def _row(rows: list[HistoryRow], key: str | None) -> HistoryRow | None:
        return next((r for r in rows if r.key == key), None)

    def _drill(self, title: str, grouping: str, key: str, row: HistoryRow) -> None:
        if self.window is None:
            return
        info = self._info()
        rows = sessions_of(self.facts, grouping, key, info, self.catalog.tz)
        span = fmt_span(self.window.first_day, self.window.last_day)
        subtitle = row_summary(row) + ("" if grouping == "daily" else f" · {span}")
        self.post_message(HistoryDrilled(title, subtitle, rows))
