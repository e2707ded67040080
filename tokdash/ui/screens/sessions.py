"""The sessions screen: the fleet header, one live row per session, filters, sort and grouping.

What each row shows comes from the catalog's fleet (``tokdash.model.fleet``): its
summary, status, burn and heavy verdict, kept up to date by the app. On each
:class:`~tokdash.ui.messages.CatalogChanged` this screen places again only the rows
that changed in its order (:class:`~tokdash.model.fleet_order.FleetOrder`, a bisect
each) and tells the table which rows to make again (and, while it is hidden under
another screen, remembers them for when it comes back), so a tick that changes
nothing redraws nothing. The table is virtual: it draws the rows in view from that
order, so no key costs a pass over every session on the UI thread. A new order (a
sort key, a filter keystroke, grouping) is built by :mod:`~tokdash.ui.screens.sessions_order`:
at once for a small fleet, on a worker thread for a large one.

The cursor starts on the top row and stays there (whatever session sorts first)
until the user moves it; from then on it follows its session through re-sorts.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from tokdash.format import clean
from tokdash.ingest.catalog import CatalogView
from tokdash.model.fleet_order import FleetOrder, OrderParams
from tokdash.model.store import SessionKey
from tokdash.ui.messages import CatalogChanged, HelpRequested, HistoryRequested, SessionChosen
from tokdash.ui.palette import SessionsProvider
from tokdash.ui.screens.sessions_order import OrderedRows, TableRows
from tokdash.ui.styles import theme_styles
from tokdash.ui.texts import empty_state
from tokdash.ui.widgets.header import HeaderState, HeaderStrip
from tokdash.ui.widgets.session_rows import row_key
from tokdash.ui.widgets.sessions_table import COLUMNS, SessionsTable


TICK_SECONDS = 1.0
"""How often the header checks whether its sliding windows are due."""
HEADER_IDLE_SECONDS = 60.0
"""With no new data, the header's sliding windows (last hour, burn) are recomputed this often."""
HEADER_BUSY_SECONDS = 5.0
"""...or this often while some session spent within the burn window."""

LOADING_REDRAW_SECONDS = 0.25
"""While the first load pours in (thousands of sessions, slice after slice), the table and the
header are brought up to date at most this often."""

GG_SECONDS = 0.6
"""Two presses of ``g`` this close together go to the top row (as in vim and less)."""
SORT_LABELS = {"status": "activity", "name": "project", "per_prompt": "turns per prompt", "hit": "cache hit",
               "burn": "burn rate", "last": "last activity", "ctx": "context", "cache_write": "cache write",
               "cache_read": "cache read", "turns": "turns", "duration": "duration"}
"""How the header names a sort column (its label otherwise)."""


class SessionsScreen(OrderedRows, Screen):
    """Every session of every agent, live: the screen tokdash opens on."""

    COMMANDS: ClassVar = {SessionsProvider}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="sessions.down", tooltip="Move to the next session"),
        Binding("k", "cursor_up", "Up", show=False, id="sessions.up", tooltip="Move to the previous session"),
        Binding("s", "cycle_sort", "Sort", id="sessions.sort",
                tooltip="Sort by the next column (every column sorts; a click on a header too)"),
        # Not in the footer (room for the rest in an 80-column pane); listed in the help.
        Binding("S", "reverse_sort", "Reverse", key_display="S", show=False, id="sessions.reverse",
                tooltip="Reverse the sort direction"),
        Binding("slash", "filter", "Filter", key_display="/", id="sessions.filter",
                tooltip="Show only sessions whose project, title, model or id contain some text"),
        Binding("a", "toggle_working", "Working", id="sessions.only_working",
                tooltip="Show only sessions working now"),
        Binding("p", "toggle_group", "Group", id="sessions.group", tooltip="Group sessions by project"),
        Binding("g", "top_twice", "Top", show=False, id="sessions.gg", tooltip="g g: the first session"),
        Binding("c", "copy_resume", "Copy", show=False, id="sessions.copy",
                tooltip="Copy the resume command of the session under the cursor (OSC 52)"),
        Binding("h", "history", "History", id="sessions.history",
                tooltip="History: spend per day for the last 30 days, per project and per model"),
        Binding("escape", "clear_filter", "Clear", show=False, id="sessions.clear",
                tooltip="Clear the text filter"),
        Binding("question_mark", "help", "Help", key_display="?", id="sessions.help",
                tooltip="Every key, column and formula"),
    ]

    def __init__(self, catalog: CatalogView) -> None:
        super().__init__()
        self.catalog = catalog
        """What the screen reads."""
        self.sort_key = "status"
        """The column the table is sorted by (``status``: working first, then waiting...)."""
        self.descending = True
        self.filter_text = ""
        self.only_working = False
        self.grouped = False
        self._header_due = 0.0
        self._header_dirty = True
        self._restyle = False
        self._pending: set[SessionKey] = set()
        """Rows that changed and are not placed yet (the screen is hidden, or a load pours in)."""
        self._caught_up = float("-inf")
        self._catch_up_due = False
        self._order = FleetOrder(OrderParams())
        """The rows the table shows, in order (the last one built)."""
        self._rows = TableRows(self._order)
        self._build_gen = 0
        """Bumped for every new order asked for: a worker's result of an older one is dropped."""
        self._build_dirty: set[SessionKey] | None = None
        """While a worker builds an order: the rows that changed since its snapshot."""
        self._jump: SessionKey | None = None
        """A session to put the cursor on once the order being built shows it."""
        self._last_g = float("-inf")
        self._empty_state: tuple = ("",)

    # --- composition ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Header strip, the table, the empty-state notice, the filter input, the footer."""
        yield HeaderStrip(id="header")
        yield SessionsTable(id="sessions")
        yield Static(id="empty")
        yield Input(placeholder="filter: project, title, model, agent or id — Enter keeps it, Esc clears",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        """Lay out for the current size, show what the catalog holds, start the header's tick."""
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        table = self.query_one(SessionsTable)
        table.spec_source = self._spec_of
        table.apply_layout(self.app.size.width)
        self.query_one("#filter", Input).display = False
        self.query_one("#empty", Static).display = False
        self._rebuild()
        self._update_header(force=True)
        self.set_interval(TICK_SECONDS, self._tick)
        table.focus()

    def on_resize(self) -> None:
        """Switch between the narrow (tmux pane) and full column sets."""
        table = self.query_one(SessionsTable)
        if table.apply_layout(self.size.width):
            self._sync_rows(set())

    def on_screen_resume(self) -> None:
        """Back from another screen: catch up on what changed meanwhile."""
        pending, self._pending = self._pending, set()
        self._sync_rows(pending)
        self._update_header(force=True)

    def _theme_changed(self, _theme) -> None:
        self._apply_theme()
        self._restyle = True
        self._sync_rows(set())
        self._update_header(force=True)

    def _apply_theme(self) -> None:
        styles = theme_styles(self.app)
        self.query_one(SessionsTable).styles_map = styles
        self.query_one(HeaderStrip).styles_map = styles

    # --- data flow --------------------------------------------------------------

    @on(CatalogChanged)
    def _apply_changes(self, message: CatalogChanged) -> None:
        """Rows changed (new data, or time passing): rewrite those rows and the header."""
        changes = message.changes
        if changes.sessions or changes.state:
            self._header_dirty = True
        self._pending |= changes.rows
        if not self.is_current:
            return  # hidden under another screen: catch up on resume
        if not (changes.rows or changes.state):
            self._update_header()
        elif not self.catalog.loading or time.monotonic() - self._caught_up >= LOADING_REDRAW_SECONDS:
            self._catch_up()
        elif not self._catch_up_due:  # a first load pouring in: redraw a few times a second
            self._catch_up_due = True
            self.set_timer(LOADING_REDRAW_SECONDS, self._catch_up)

    def _catch_up(self) -> None:
        """Place the rows that changed since the last time, redraw the table and the header."""
        self._catch_up_due = False
        self._caught_up = time.monotonic()
        if not self.is_current:
            return
        pending, self._pending = self._pending, set()
        self._sync_rows(pending)
        self._update_header()

    def _tick(self) -> None:
        """The header's sliding windows (last hour, burn) move with time, data or not."""
        if self.is_current:
            self._update_header()

    # --- the table --------------------------------------------------------------

    def sort_label(self) -> str:
        """The sort column as the header names it, with its direction."""
        label = SORT_LABELS.get(self.sort_key) or next(
            (c.label for c in COLUMNS if c.key == self.sort_key), self.sort_key)
        return label + (" ▼" if self.descending else " ▲")

    def _update_empty(self) -> None:
        """Say where tokdash looked when it found nothing (and how to point it elsewhere), or
        that the filter hides every session."""
        catalog = self.catalog
        table = self.query_one(SessionsTable)
        notice = self.query_one("#empty", Static)
        if not catalog.fleet.rows and not catalog.loading:
            state = "nothing"
        elif catalog.fleet.rows and not table.row_count:
            state = "filtered"
        else:
            state = ""
        if (state, self.filter_text, self.only_working) == self._empty_state:
            return
        self._empty_state = (state, self.filter_text, self.only_working)
        notice.display = bool(state)
        table.display = state != "nothing"
        if state == "nothing":
            notice.update(empty_state(catalog.looked_in, catalog.problems))
        elif state == "filtered":
            text = Text("No session matches", style="bold")
            if self.filter_text:
                text.append(f" “{clean(self.filter_text)}”")
            if self.only_working:
                text.append(" among the working ones")
            text.append(".  Esc clears the filter" + (", a shows every status" if self.only_working else "") + ".",
                        style="dim")
            notice.update(text)

    # --- the header -------------------------------------------------------------

    def _update_header(self, force: bool = False) -> None:
        """Recompute the fleet figures when data changed, or as the windows slide."""
        catalog = self.catalog
        now = catalog.clock()
        if not (force or self._header_dirty or now >= self._header_due):
            return
        filtered = self.params().filtered
        # The header follows the filter, and says so: the shown rows' running sums.
        stats = self._order.totals.stats(now, catalog.series) if filtered else catalog.stats()
        sort_label = self.sort_label()
        shown = stats.sessions
        loading = catalog.load_progress if catalog.loading else None
        note = catalog.load_note if catalog.loading else (
            "loading recent sessions' calls…" if catalog.records_pending else None)
        self.query_one(HeaderStrip).show(HeaderState(
            stats=stats, sort=sort_label, filter_text=self.filter_text, only_working=self.only_working,
            grouped=self.grouped, loading=loading, shown=shown, note=note, gauges=tuple(catalog.gauges),
            notices=tuple(catalog.notices) + tuple(filter(None, [catalog.unreadable_notice()]))), force=force)
        self._header_dirty = False
        step = HEADER_BUSY_SECONDS if stats.busy else HEADER_IDLE_SECONDS
        # On the minute (or every few seconds while spending), so "last hour" slides.
        self._header_due = (now // step + 1) * step

    # --- actions ----------------------------------------------------------------

    def action_cursor_down(self) -> None:
        """Next row (j)."""
        self.query_one(SessionsTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Previous row (k)."""
        self.query_one(SessionsTable).action_cursor_up()

    def action_history(self) -> None:
        """The History screen (h)."""
        self.post_message(HistoryRequested())

    def action_help(self) -> None:
        """Every key, column and formula (?)."""
        self.post_message(HelpRequested())

    def _sort_by(self, key: str, *, toggle: bool = False) -> None:
        if toggle and key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key = key
            column = next((c for c in COLUMNS if c.key == key), None)
            self.descending = not (column is not None and column.text)  # text A to Z, numbers largest first
        self._resort()

    def action_cycle_sort(self) -> None:
        """Sort by the next column shown; the cursor stays on its session."""
        keys = self.query_one(SessionsTable).column_keys
        i = keys.index(self.sort_key) if self.sort_key in keys else -1
        self._sort_by(keys[(i + 1) % len(keys)])

    def action_top_twice(self) -> None:
        """``g g``: the first session."""
        now = time.monotonic()
        if now - self._last_g <= GG_SECONDS:
            self._last_g = float("-inf")
            self.query_one(SessionsTable).action_scroll_top()
        else:
            self._last_g = now

    def action_copy_resume(self) -> None:
        """Copy the resume command of the session under the cursor (its id when it has none)."""
        rk = self.query_one(SessionsTable).cursor_key()
        if not rk or rk.startswith("group:"):
            return
        agent, _, sid = rk.partition(":")
        if not self.catalog.has((agent, sid)):
            return
        command = self.catalog.summary((agent, sid)).resume_command
        what = clean(command) if command else clean(sid)
        self.app.copy_to_clipboard(what)
        self.notify(f"Copied {'resume command' if command else 'session id'}: {what}", title="Clipboard",
                    markup=False)

    def action_reverse_sort(self) -> None:
        """Flip the sort direction; the cursor stays on its session."""
        self.descending = not self.descending
        self._resort()

    def action_toggle_working(self) -> None:
        """Show only working sessions, or all."""
        self.only_working = not self.only_working
        self._resort()

    def action_toggle_group(self) -> None:
        """Group rows under a header row per project, or not."""
        self.grouped = not self.grouped
        self._resort()

    def action_filter(self) -> None:
        """Open the filter input."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.filter_text
        # Focus now, not on the next loop turn (``focus()`` defers): keys typed right after
        # "/" are already queued and must land in the input, not trigger bindings.
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        """Clear and close the filter."""
        box = self.query_one("#filter", Input)
        if not self.filter_text and not box.display:
            return
        self.filter_text = ""
        box.value = ""
        box.display = False
        self.query_one(SessionsTable).focus()
        self._resort()

    def _resort(self) -> None:
        self._rebuild()
        self._update_header(force=True)

    @on(Input.Changed, "#filter")
    def _filter_rows(self, event: Input.Changed) -> None:
        """Filter as the user types."""
        self.filter_text = event.value
        self._resort()

    @on(Input.Submitted, "#filter")
    def _keep_filter(self, event: Input.Submitted) -> None:
        """Enter keeps the filter and goes back to the table."""
        box = self.query_one("#filter", Input)
        if not event.value:
            box.display = False
        self.query_one(SessionsTable).focus()

    @on(SessionsTable.RowSelected, "#sessions")
    def _open_detail(self, event: SessionsTable.RowSelected) -> None:
        """Enter (or a click on the highlighted row) drills into the session."""
        key = event.row_key
        if not key or key.startswith("group:"):
            return
        agent, _, sid = key.partition(":")
        self.post_message(SessionChosen((agent, sid)))

    @on(SessionsTable.HeaderSelected, "#sessions")
    def _sort_by_header(self, event: SessionsTable.HeaderSelected) -> None:
        """A click on any column's header sorts by it (again: reverses)."""
        key = event.column_key
        if key:
            self._sort_by(key, toggle=True)

    def jump_to(self, key: SessionKey) -> None:
        """Put the cursor on ``key``'s row, clearing filters that hide it (the palette's action)."""
        table = self.query_one(SessionsTable)
        if key not in self._order:
            self.filter_text = ""
            self.only_working = False
            box = self.query_one("#filter", Input)
            box.value = ""
            box.display = False
            self._jump = key  # the cursor goes there once the order shows it
            self._resort()
        else:
            table.pinned = False
            table.move_to(row_key(key))
        table.focus()
