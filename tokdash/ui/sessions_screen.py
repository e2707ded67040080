"""The sessions screen: the fleet header, one live row per session, filters, sort and grouping.

State is kept per session as :class:`RowFacts` (summary, status, burn, heavy
verdict, and *when* any of it next changes on its own as time passes). A change
in the store refreshes only the changed sessions' facts; the one-second tick
refreshes only the facts that are due (a "12s ago" cell, a status crossing a
threshold, a burn window sliding) and does nothing at all when none is due.

The cursor starts on the top row and stays there (whatever session sorts first)
until the user moves it; from then on it follows its session through re-sorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from tokdash.model.activity import (
    BURN_WINDOW_SECONDS,
    IDLE,
    NO_BURN,
    STATUS_RANK,
    WORKING,
    Burn,
    FleetStats,
    burn,
    fmt_age,
    fmt_duration,
    next_age_change,
    next_status_change,
    session_status,
    window_totals,
)
from tokdash.model.heavy import Tripped, heavy_reasons
from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey
from tokdash.report import fmt_cost, fmt_rate, fmt_tokens
from tokdash.ui.app import RECENT_SECONDS
from tokdash.ui.header import HeaderState, HeaderStrip
from tokdash.ui.messages import SessionsChanged
from tokdash.ui.palette import SessionsProvider
from tokdash.ui.sessions_table import CellSpec, RowSpec, SessionsTable, plain, theme_styles

if TYPE_CHECKING:
    from tokdash.ui.app import TokdashApp

TICK_SECONDS = 1.0
"""How often relative times ("12s ago") and statuses are brought up to date."""
HEADER_IDLE_SECONDS = 60.0
"""With no new data, the header's sliding windows (last hour, burn) are recomputed this often."""
HEADER_BUSY_SECONDS = 5.0
"""...or this often while some session spent within the burn window."""

GOOD_HIT = 0.70
"""Cache hit rate at or above this is green."""
POOR_HIT = 0.30
"""Below this it is red; in between amber."""

SORTS: tuple[tuple[str, str], ...] = (
    ("activity", "activity"),
    ("cost", "cost"),
    ("total", "total"),
    ("hit", "cache hit"),
    ("burn", "burn rate"),
)
"""Sort modes in the order ``s`` cycles through them: (id, label)."""

GLYPHS = {WORKING: "●", IDLE: "◐", "done": "○"}
ARCHIVED = "archived"
"""Status shown for a session whose transcript files are all gone (kept by the index)."""
ARCHIVED_GLYPH = "◌"


def row_key(key: SessionKey) -> str:
    """The table row key of a session."""
    return f"{key[0]}:{key[1]}"


def hit_style(rate: float | None) -> str:
    """Semantic style of a cache hit rate: ok (>= 70 %), warn (30-70 %), bad (< 30 %)."""
    if rate is None:
        return "muted"
    if rate >= GOOD_HIT:
        return "ok"
    if rate >= POOR_HIT:
        return "warn"
    return "bad"


def short_model(model: str) -> str:
    """``claude-sonnet-4-5-20250929`` -> ``sonnet-4-5``."""
    m = model.removeprefix("claude-")
    parts = m.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        m = "-".join(parts[:-1])
    return m


def fmt_burn(usd_per_hour: float) -> str:
    """$/h compactly; a dash when nothing was spent in the window."""
    if usd_per_hour <= 0:
        return "—"
    return f"${usd_per_hour:.0f}" if usd_per_hour >= 100 else f"${usd_per_hour:.2f}"


@dataclass(slots=True)
class RowFacts:
    """Everything derived about one session at one moment."""

    key: SessionKey
    summary: SessionSummary
    status: str
    burn: Burn
    heavy: tuple[Tripped, ...] = ()
    due: float = float("inf")
    """When something shown about this session next changes by itself (time passing)."""
    haystack: str = ""
    """Lower-cased text the filter searches."""
    archived: bool = False
    """Every transcript file is gone; the numbers come from the index."""


def _num(n: int) -> CellSpec:
    return ((fmt_tokens(n), "muted" if n == 0 else ""),)


def session_spec(f: RowFacts, now: float, context_limit: float) -> RowSpec:
    """The cells of one session's row (plain text + style names)."""
    s = f.summary
    u = s.usage
    title = plain(s.title)
    title_seg = (title, "") if title else (f"({s.session_id[:8]})", "muted")
    project = plain(s.project_name)
    if s.cost_partial and s.cost == 0:
        cost: CellSpec = (("unpriced", "warn"),)
    else:
        cost = ((fmt_cost(s.cost, s.cost_partial), ""),)
    ctx = s.context_pct
    ctx_style = "muted" if ctx is None else "bad" if ctx > context_limit else "warn" if ctx > 0.6 else ""
    age = now - s.last_activity if s.last_activity is not None else None
    spec: RowSpec = {
        "status": ((GLYPHS[f.status], f.status), (" ", ""), (f.status, f.status if f.status != WORKING else "")),
        "agent": ((s.agent, "muted"),),
        "project": ((project, "bold"),),
        "title": (title_seg,),
        "name": ((project, "bold"), (" · ", "muted"), title_seg),
        "models": ((",".join(short_model(plain(m)) for m in s.models), "muted"),),
        "turns": ((f"{s.prompts}/{s.assistant_turns}", ""),),
        "tools": ((str(s.tool_use_count), "muted" if not s.tool_use_count else ""),),
        "input": _num(u.input),
        "output": _num(u.output),
        "cache_write": _num(u.cache_write),
        "cache_read": _num(u.cache_read),
        "total": ((fmt_tokens(u.total), "bold"),),
        "hit": ((fmt_rate(s.cache_hit_rate), hit_style(s.cache_hit_rate)),),
        "ctx": (("—" if ctx is None else f"{ctx * 100:.0f}%", ctx_style),),
        "cost": cost,
        "burn": ((fmt_burn(f.burn.usd_per_hour), "muted" if not f.burn.usd_per_hour else "warn"),),
        "last": (("—" if age is None else fmt_age(age), "" if f.status == WORKING else "muted"),),
        "duration": ((fmt_duration(s.duration), "muted"),),
    }
    if f.archived:
        # Dimmed, with its own status: the session is history, its files are gone.
        spec = {k: tuple((text, "archived") for text, _style in cell) for k, cell in spec.items()}
        spec["status"] = ((ARCHIVED_GLYPH, "archived"), (" ", ""), (ARCHIVED, "archived"))
    if f.heavy:
        # The whole row turns red, and a badge replaces the status glyph.
        spec = {k: tuple((text, "heavy") for text, _style in cell) for k, cell in spec.items()}
        spec["status"] = (("▲", "badge"),) + spec["status"][1:]
    return spec


def group_spec(project: str, members: list[RowFacts]) -> RowSpec:
    """The header row of one project's group: its sessions' sums."""
    u = Usage()
    cost = 0.0
    partial = False
    rate = 0.0
    prompts = turns = tools = 0
    last = None
    agents = sorted({m.summary.agent for m in members})
    for m in members:
        s = m.summary
        u.add(s.usage)
        cost += s.cost
        partial = partial or s.cost_partial
        rate += m.burn.usd_per_hour
        prompts += s.prompts
        turns += s.assistant_turns
        tools += s.tool_use_count
        if s.last_activity is not None and (last is None or s.last_activity > last):
            last = s.last_activity
    name = plain(members[0].summary.project_name) if members else "?"
    side = u.input_side
    hit = u.cache_read / side if side else None
    n = len(members)
    return {
        "status": (("▾", "group"), (" ", ""), (f"{n} sess", "group")),
        "agent": (("+".join(agents), "muted"),),
        "project": ((name, "group"),),
        "title": ((plain(project) or "?", "muted"),),
        "name": ((name, "group"), (f" · {n} session{'s' if n != 1 else ''}", "muted")),
        "models": (("", ""),),
        "turns": ((f"{prompts}/{turns}", "muted"),),
        "tools": ((str(tools), "muted"),),
        "input": ((fmt_tokens(u.input), "muted"),),
        "output": ((fmt_tokens(u.output), "muted"),),
        "cache_write": ((fmt_tokens(u.cache_write), "muted"),),
        "cache_read": ((fmt_tokens(u.cache_read), "muted"),),
        "total": ((fmt_tokens(u.total), "group"),),
        "hit": ((fmt_rate(hit), hit_style(hit)),),
        "ctx": (("", ""),),
        "cost": ((fmt_cost(cost, partial), "group"),),
        "burn": ((fmt_burn(rate), "muted"),),
        "last": (("", ""),),
        "duration": (("", ""),),
    }


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
        Binding("h", "app.open_history", "History", id="sessions.history",
                tooltip="History: spend per day for the last 30 days, per project and per model"),
        Binding("escape", "clear_filter", "Clear", show=False, id="sessions.clear",
                tooltip="Clear the text filter"),
        Binding("question_mark", "app.help", "Help", key_display="?", id="sessions.help",
                tooltip="Every key, column and formula"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[SessionKey, RowFacts] = {}
        """Derived facts of every session in the store."""
        self.sort_index = 0
        """Index into :data:`SORTS`."""
        self.descending = True
        self.filter_text = ""
        self.only_working = False
        self.grouped = False
        self._header_due = 0.0
        self._header_dirty = True
        self._restyle = False
        self._working_rates: dict[SessionKey, float] = {}

    @property
    def tapp(self) -> TokdashApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

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
        """Lay out for the current size, show what the store holds, start the tick."""
        self._apply_theme()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        table = self.query_one(SessionsTable)
        table.apply_layout(self.app.size.width)
        self.query_one("#filter", Input).display = False
        self.query_one("#empty", Static).display = False
        self._refresh(set(self.tapp.keys()), self.tapp.clock())
        self.set_interval(TICK_SECONDS, self._tick)
        table.focus()

    def on_resize(self) -> None:
        """Switch between the narrow (tmux pane) and full column sets."""
        table = self.query_one(SessionsTable)
        if table.apply_layout(self.size.width):
            self._sync_table(set(), self.tapp.clock(), force=True)

    def on_screen_resume(self) -> None:
        """Back from another screen: catch up on what changed meanwhile."""
        self._tick(force=True)

    def _theme_changed(self, _theme) -> None:
        self._apply_theme()
        self._restyle = True
        self._sync_table(set(), self.tapp.clock(), force=True)
        self._update_header(self.tapp.clock(), force=True)

    def _apply_theme(self) -> None:
        styles = theme_styles(self.app)
        self.query_one(SessionsTable).styles_map = styles
        self.query_one(HeaderStrip).styles_map = styles

    # --- data flow --------------------------------------------------------------

    @on(SessionsChanged)
    def _apply_changes(self, message: SessionsChanged) -> None:
        """New records were merged: refresh the changed sessions' rows (and the header)."""
        self._header_dirty = True
        self._refresh(set(message.keys), self.tapp.clock())

    def _tick(self, force: bool = False) -> None:
        """Bring time-dependent cells up to date; nothing is touched when nothing is due."""
        if not force and not self.is_current:
            return  # hidden under the detail screen: catch up on resume
        now = self.tapp.clock()
        due = {k for k, f in self.facts.items() if f.due <= now}
        if due or force:
            self._refresh(due, now)
        elif self._header_dirty or now >= self._header_due:
            self._update_header(now)

    def _derive(self, key: SessionKey, now: float) -> RowFacts | None:
        """Facts of one session, heavy verdict aside (it needs the whole fleet's rates)."""
        app = self.tapp
        if not app.has(key):
            return None
        s = app.summary(key)
        status = session_status(s.last_activity, s.open, now)
        b = NO_BURN
        due = next_status_change(s.last_activity, s.open, now)
        if s.last_activity is not None:
            age = now - s.last_activity
            due = min(due, now + next_age_change(age))
            if age < BURN_WINDOW_SECONDS:
                b = burn(app.series(key), now)
                due = min(due, now + TICK_SECONDS)  # the window slides: calls age out of it
        archived = app.is_archived(key)
        haystack = " ".join((s.agent, s.project, s.title, " ".join(s.models), s.session_id,
                             s.git_branch or "", ARCHIVED if archived else "")).lower()
        return RowFacts(key, s, status, b, due=due, haystack=haystack, archived=archived)

    def _refresh(self, keys: set[SessionKey], now: float) -> None:
        """Re-derive ``keys``, re-judge heaviness where the fleet's rates moved, sync the table."""
        changed_rows: set[SessionKey] = set()
        for key in keys:
            f = self._derive(key, now)
            if f is None:
                self.facts.pop(key, None)
            else:
                old = self.facts.get(key)
                if old is not None:
                    f.heavy = old.heavy
                self.facts[key] = f
            changed_rows.add(key)
        # Heaviness by spend rate compares a session with the *other* working sessions,
        # so a change in any working session's rate can flip another's verdict.
        rates = {k: f.burn.usd_per_hour for k, f in self.facts.items() if f.status == WORKING}
        rates_moved = rates != self._working_rates
        self._working_rates = rates
        judge = set(rates) | keys if rates_moved else keys
        thresholds = self.tapp.heavy_thresholds
        for key in judge:
            f = self.facts.get(key)
            if f is None:
                continue
            others = [r for k, r in rates.items() if k != key] if f.status == WORKING else []
            s = f.summary
            verdict = heavy_reasons(s.usage.input + s.usage.output, s.context_pct,
                                    f.burn.usd_per_hour if f.status == WORKING else 0.0, others, thresholds)
            if verdict != f.heavy:
                f.heavy = verdict
                changed_rows.add(key)
        if keys:
            self._header_dirty = True
        self._sync_table(changed_rows, now)
        self._update_header(now)

    # --- the table --------------------------------------------------------------

    def _sort_value(self, f: RowFacts):
        sort_id = SORTS[self.sort_index][0]
        s = f.summary
        last = s.last_activity or 0.0
        if sort_id == "activity":
            # Working sessions first, in a stable order (by start), so parallel agents
            # do not swap places every time one of them makes a call; then the rest by
            # their last activity.
            rank = STATUS_RANK[f.status]
            if f.status == WORKING:
                return (rank, s.first_activity or last, f.key)
            return (rank, last, f.key)
        elif sort_id == "cost":
            primary = s.cost
        elif sort_id == "total":
            primary = s.usage.total
        elif sort_id == "hit":
            primary = -1.0 if s.cache_hit_rate is None else s.cache_hit_rate
        else:
            primary = f.burn.usd_per_hour
        return (primary, last, f.key)

    def visible(self) -> list[RowFacts]:
        """Sessions that pass the filters, in display order (groups aside)."""
        needle = self.filter_text.lower().strip()
        out = [
            f for f in self.facts.values()
            if (not self.only_working or f.status == WORKING) and (not needle or needle in f.haystack)
        ]
        out.sort(key=self._sort_value, reverse=self.descending)
        return out

    def _order(self) -> tuple[list[str], dict[str, RowSpec]]:
        """Row keys in display order, and the specs of the group rows (when grouped)."""
        rows = self.visible()
        if not self.grouped:
            return [row_key(f.key) for f in rows], {}
        groups: dict[str, list[RowFacts]] = {}
        for f in rows:  # rows are sorted: a group's place is that of its first (best) member
            groups.setdefault(f.summary.project, []).append(f)
        order: list[str] = []
        specs: dict[str, RowSpec] = {}
        for project, members in groups.items():
            gk = f"group:{project}"
            order.append(gk)
            specs[gk] = group_spec(project, members)
            order.extend(row_key(f.key) for f in members)
        return order, specs

    def _sync_table(self, changed: set[SessionKey], now: float, *, force: bool = False) -> None:
        table = self.query_one(SessionsTable)
        limit = self.tapp.heavy_thresholds.context_share
        order, specs = self._order()
        for key in changed:
            f = self.facts.get(key)
            if f is not None:
                specs[row_key(key)] = session_spec(f, now, limit)
        if force or self._restyle:
            for rk in order:
                if rk not in specs and not rk.startswith("group:"):
                    agent, _, sid = rk.partition(":")
                    f = self.facts.get((agent, sid))
                    if f is not None:
                        specs[rk] = session_spec(f, now, limit)
        # Rows not yet in the table need a spec even when their session did not change
        # (a filter was cleared, a group opened).
        for rk in order:
            if rk not in specs and table.spec(rk) is None:
                agent, _, sid = rk.partition(":")
                f = self.facts.get((agent, sid))
                if f is not None:
                    specs[rk] = session_spec(f, now, limit)
        table.sync(specs, order, restyle=self._restyle)
        self._restyle = False
        self._update_empty()

    def _update_empty(self) -> None:
        """Say where tokdash looked when it found nothing, and how to point it elsewhere."""
        app = self.tapp
        empty = not self.facts and not app.loading
        notice = self.query_one("#empty", Static)
        table = self.query_one(SessionsTable)
        if empty == notice.display:
            return
        notice.display = empty
        table.display = not empty
        if empty:
            text = Text()
            text.append("No agent transcripts found.\n\n", style="bold")
            text.append("Looked in:\n")
            for line in app.roots.describe() or ["(no folders)"]:
                text.append(f"  {plain(line)}\n")
            for problem in app.roots.problems:
                text.append(f"  ⚠ {plain(problem)}\n")
            text.append("\nPoint tokdash elsewhere:\n")
            text.append("  tokdash --claude-dir DIR     a Claude config dir (holding projects/)\n")
            text.append("  tokdash --codex-dir DIR      a Codex home (holding sessions/)\n")
            text.append("  or set CLAUDE_CONFIG_DIR / CODEX_HOME\n")
            text.append("\nOr see it work on a generated fleet:  tokdash --demo\n")
            text.append("\nNew sessions show up here as soon as an agent writes one.", style="dim")
            notice.update(text)

    # --- the header -------------------------------------------------------------

    def _update_header(self, now: float, force: bool = False) -> None:
        """Recompute the fleet figures when data changed, or as the windows slide."""
        if not (force or self._header_dirty or now >= self._header_due):
            return
        app = self.tapp
        stats = FleetStats(sessions=len(self.facts))
        midnight_cut = now - RECENT_SECONDS  # only sessions active in the last two days can count today
        series = []
        unpriced: set[str] = set()
        busy = False
        for key, f in self.facts.items():
            s = f.summary
            unpriced.update(s.unpriced_models)
            if f.status == WORKING:
                stats.working += 1
            if s.last_activity is not None and s.last_activity >= midnight_cut:
                series.append(app.series(key))
                busy = busy or now - s.last_activity < BURN_WINDOW_SECONDS
        (stats.hour_tokens, stats.hour_cost), (stats.today_tokens, stats.today_cost), stats.burn = \
            window_totals(series, now)
        stats.unpriced_models = sorted(unpriced)
        stats.bad_lines = app.bad_lines()
        sort_label = SORTS[self.sort_index][1] + (" ▼" if self.descending else " ▲")
        shown = sum(1 for f in self.facts.values()
                    if (not self.only_working or f.status == WORKING)
                    and (not self.filter_text or self.filter_text.lower().strip() in f.haystack))
        loading = app.load_progress if app.loading else None
        note = app.load_note if app.loading else ("loading recent sessions' calls…" if app.records_pending else None)
        archived = sum(1 for f in self.facts.values() if f.archived)
        self.query_one(HeaderStrip).show(HeaderState(
            stats=stats, sort=sort_label, filter_text=self.filter_text, only_working=self.only_working,
            grouped=self.grouped, loading=loading, shown=shown, note=note, archived=archived), force=force)
        self._header_dirty = False
        step = HEADER_BUSY_SECONDS if busy else HEADER_IDLE_SECONDS
        # On the minute (or every few seconds while spending), so "last hour" slides.
        self._header_due = (now // step + 1) * step

    # --- actions ----------------------------------------------------------------

    def action_cursor_down(self) -> None:
        """Next row (j)."""
        self.query_one(SessionsTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        """Previous row (k)."""
        self.query_one(SessionsTable).action_cursor_up()

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
        now = self.tapp.clock()
        self._sync_table(set(), now)
        self._update_header(now, force=True)

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
        self.tapp.open_detail((agent, sid))

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
