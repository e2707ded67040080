"""The sessions screen: the fleet header, one live row per session, filters, sort and grouping.

What each row shows comes from the catalog's fleet (``tokdash.model.fleet``): its
summary, status, burn and heavy verdict, kept up to date by the app. On each
:class:`~tokdash.ui.messages.CatalogChanged` this screen rewrites only the rows that
changed (and, while it is hidden under another screen, remembers them for when it
comes back), so a tick that changes nothing redraws nothing.

The cursor starts on the top row and stays there (whatever session sorts first)
until the user moves it; from then on it follows its session through re-sorts.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from tokdash.ingest.catalog import CatalogView
from tokdash.model.activity import WORKING
from tokdash.model.fleet import Row, sort_value
from tokdash.model.store import SessionKey
from tokdash.ui.messages import CatalogChanged, HelpRequested, HistoryRequested, SessionChosen
from tokdash.ui.palette import SessionsProvider
from tokdash.ui.styles import theme_styles
from tokdash.ui.texts import empty_state
from tokdash.ui.widgets.header import HeaderState, HeaderStrip
from tokdash.ui.widgets.session_rows import group_spec, row_key, session_spec
from tokdash.ui.widgets.sessions_table import RowSpec, SessionsTable

TICK_SECONDS = 1.0
"""How often the header checks whether its sliding windows are due."""
HEADER_IDLE_SECONDS = 60.0
"""With no new data, the header's sliding windows (last hour, burn) are recomputed this often."""
HEADER_BUSY_SECONDS = 5.0
"""...or this often while some session spent within the burn window."""

SORTS: tuple[tuple[str, str], ...] = (
    ("activity", "activity"),
    ("cost", "cost"),
    ("total", "total"),
    ("hit", "cache hit"),
    ("burn", "burn rate"),
)
"""Sort modes in the order ``s`` cycles through them: (id, label)."""


class SessionsScreen(Screen):
    """Every session of every agent, live: the screen tokdash opens on."""

    COMMANDS: ClassVar = {SessionsProvider}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="sessions.down", tooltip="Move to the next session"),
        Binding("k", "cursor_up", "Up", show=False, id="sessions.up", tooltip="Move to the previous session"),
        Binding("s", "cycle_sort", "Sort", id="sessions.sort",
                tooltip="Sort by the next column: last activity, cost, total, cache hit, burn rate"),
        # Not in the footer (room for the rest in an 80-column pane); listed in the help.
        Binding("S", "reverse_sort", "Reverse", key_display="S", show=False, id="sessions.reverse",
                tooltip="Reverse the sort direction"),
        Binding("slash", "filter", "Filter", key_display="/", id="sessions.filter",
                tooltip="Show only sessions whose project, title, model or id contain some text"),
        Binding("a", "toggle_working", "Working", id="sessions.only_working",
                tooltip="Show only sessions working now"),
        Binding("g", "toggle_group", "Group", id="sessions.group", tooltip="Group sessions by project"),
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
        self.sort_index = 0
        """Index into :data:`SORTS`."""
        self.descending = True
        self.filter_text = ""
        self.only_working = False
        self.grouped = False
        self._header_due = 0.0
        self._header_dirty = True
        self._restyle = False
        self._pending: set[SessionKey] = set()
        """Rows that changed while the screen was hidden."""

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
        table.apply_layout(self.app.size.width)
        self.query_one("#filter", Input).display = False
        self.query_one("#empty", Static).display = False
        self._sync_table(set(self.catalog.fleet.rows), self.catalog.clock())
        self._update_header(force=True)
        self.set_interval(TICK_SECONDS, self._tick)
        table.focus()

    def on_resize(self) -> None:
        """Switch between the narrow (tmux pane) and full column sets."""
        table = self.query_one(SessionsTable)
        if table.apply_layout(self.size.width):
            self._sync_table(set(), self.catalog.clock(), force=True)

    def on_screen_resume(self) -> None:
        """Back from another screen: catch up on what changed meanwhile."""
        pending, self._pending = self._pending, set()
        self._sync_table(pending, self.catalog.clock())
        self._update_header(force=True)

    def _theme_changed(self, _theme) -> None:
        self._apply_theme()
        self._restyle = True
        self._sync_table(set(), self.catalog.clock(), force=True)
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
        if not self.is_current:
            self._pending |= changes.rows  # hidden under another screen: catch up on resume
            return
        if changes.rows or changes.state:
            self._sync_table(set(changes.rows), self.catalog.clock())
        self._update_header()

    def _tick(self) -> None:
        """The header's sliding windows (last hour, burn) move with time, data or not."""
        if self.is_current:
            self._update_header()

    # --- the table --------------------------------------------------------------

    def _sort_value(self, row: Row):
        return sort_value(row, SORTS[self.sort_index][0])

    def _passes(self, row: Row, needle: str) -> bool:
        return (not self.only_working or row.status == WORKING) and (not needle or needle in row.haystack)

    def visible(self) -> list[Row]:
        """Sessions that pass the filters, in display order (groups aside)."""
        needle = self.filter_text.lower().strip()
        out = [r for r in self.catalog.fleet.rows.values() if self._passes(r, needle)]
        out.sort(key=self._sort_value, reverse=self.descending)
        return out

    def _order(self) -> tuple[list[str], dict[str, RowSpec]]:
        """Row keys in display order, and the specs of the group rows (when grouped)."""
        rows = self.visible()
        if not self.grouped:
            return [row_key(r.key) for r in rows], {}
        groups: dict[str, list[Row]] = {}
        for r in rows:  # rows are sorted: a group's place is that of its first (best) member
            groups.setdefault(r.summary.project, []).append(r)
        order: list[str] = []
        specs: dict[str, RowSpec] = {}
        for project, members in groups.items():
            gk = f"group:{project}"
            order.append(gk)
            specs[gk] = group_spec(project, members)
            order.extend(row_key(r.key) for r in members)
        return order, specs

    def _spec_of(self, rk: str, now: float) -> RowSpec | None:
        agent, _, sid = rk.partition(":")
        row = self.catalog.fleet.rows.get((agent, sid))
        if row is None:
            return None
        return session_spec(row, now, self.catalog.fleet.thresholds.context_share)

    def _sync_table(self, changed: set[SessionKey], now: float, *, force: bool = False) -> None:
        table = self.query_one(SessionsTable)
        order, specs = self._order()
        for key in changed:
            spec = self._spec_of(row_key(key), now)
            if spec is not None:
                specs[row_key(key)] = spec
        for rk in order:
            # Every row on a forced redraw; otherwise rows not yet in the table (a filter was
            # cleared, a group opened) need a spec even when their session did not change.
            if rk not in specs and not rk.startswith("group:") and (force or self._restyle or table.spec(rk) is None):
                spec = self._spec_of(rk, now)
                if spec is not None:
                    specs[rk] = spec
        table.sync(specs, order, restyle=self._restyle)
        self._restyle = False
        self._update_empty()

    def _update_empty(self) -> None:
        """Say where tokdash looked when it found nothing, and how to point it elsewhere."""
        catalog = self.catalog
        empty = not catalog.fleet.rows and not catalog.loading
        notice = self.query_one("#empty", Static)
        table = self.query_one(SessionsTable)
        if empty == notice.display:
            return
        notice.display = empty
        table.display = not empty
        if empty:
            notice.update(empty_state(catalog.looked_in, catalog.problems))

    # --- the header -------------------------------------------------------------

    def _update_header(self, force: bool = False) -> None:
        """Recompute the fleet figures when data changed, or as the windows slide."""
        catalog = self.catalog
        now = catalog.clock()
        if not (force or self._header_dirty or now >= self._header_due):
            return
        stats = catalog.stats()
        sort_label = SORTS[self.sort_index][1] + (" ▼" if self.descending else " ▲")
        needle = self.filter_text.lower().strip()
        shown = sum(1 for r in catalog.fleet.rows.values() if self._passes(r, needle))
        loading = catalog.load_progress if catalog.loading else None
        note = catalog.load_note if catalog.loading else (
            "loading recent sessions' calls…" if catalog.records_pending else None)
        self.query_one(HeaderStrip).show(HeaderState(
            stats=stats, sort=sort_label, filter_text=self.filter_text, only_working=self.only_working,
            grouped=self.grouped, loading=loading, shown=shown, note=note), force=force)
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

    def action_cycle_sort(self) -> None:
        """Sort by the next column; the cursor stays on its session."""
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.descending = True
        self._resort()

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
        self._sync_table(set(), self.catalog.clock())
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

    @on(DataTable.RowSelected, "#sessions")
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click on the highlighted row) drills into the session."""
        key = event.row_key.value
        if not key or key.startswith("group:"):
            return
        agent, _, sid = key.partition(":")
        self.post_message(SessionChosen((agent, sid)))

    @on(DataTable.HeaderSelected, "#sessions")
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        """A click on a sortable column's header sorts by it (again: reverses)."""
        by_column = {"last": "activity", "cost": "cost", "total": "total", "hit": "hit", "burn": "burn"}
        sort_id = by_column.get(event.column_key.value or "")
        if sort_id is None:
            return
        index = next(i for i, (sid, _l) in enumerate(SORTS) if sid == sort_id)
        if index == self.sort_index:
            self.descending = not self.descending
        else:
            self.sort_index, self.descending = index, True
        self._resort()

    def jump_to(self, key: SessionKey) -> None:
        """Put the cursor on ``key``'s row, clearing filters that hide it (the palette's action)."""
        table = self.query_one(SessionsTable)
        rk = row_key(key)
        if table.spec(rk) is None:
            self.filter_text = ""
            self.only_working = False
            box = self.query_one("#filter", Input)
            box.value = ""
            box.display = False
            self._resort()
        table.pinned = False
        table.move_to(rk)
        table.focus()
