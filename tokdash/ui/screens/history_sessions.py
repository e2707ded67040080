"""The sessions behind a day, a project or a model of the History screen; Enter opens one."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tokdash.format import clean, fmt_age, fmt_cost, fmt_tokens
from tokdash.ingest.catalog import CatalogView
from tokdash.model.activity import WORKING
from tokdash.model.history import HistoryRow
from tokdash.model.store import SessionKey
from tokdash.ui.messages import HelpRequested, SessionChosen
from tokdash.ui.styles import theme_styles
from tokdash.ui.widgets.cells import fitted
from tokdash.ui.widgets.history_table import WIDE


class HistorySessionsScreen(Screen):
    """The sessions behind a day, a project or a model; Enter opens one, Esc goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="history_sessions.back", tooltip="Back to the history"),
        Binding("question_mark", "help", "Help", key_display="?", id="history_sessions.help",
                tooltip="Every key and formula"),
    ]

    DEFAULT_CSS = """
    HistorySessionsScreen { layout: vertical; }
    HistorySessionsScreen #history-sessions-title { height: auto; padding: 0 1; background: $panel; }
    HistorySessionsScreen #history-sessions { height: 1fr; background: $surface; }
    """

    def __init__(self, catalog: CatalogView, title: str, subtitle: str,
                 rows: list[tuple[SessionKey, HistoryRow]]) -> None:
        super().__init__()
        self.catalog = catalog
        """What the screen reads."""
        self.heading = title
        self.subtitle = subtitle
        self.rows = rows
        """(session, its share of the chosen day, project or model)."""

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
        catalog = self.catalog
        now = catalog.clock()
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
            if not catalog.has(key):
                continue
            s = catalog.summary(key)
            archived = catalog.is_archived(key)
            if archived:
                status = Text("◌ archived", style=styles["archived"])
            else:
                row_facts = catalog.row(key)
                state = row_facts.status if row_facts is not None else "done"
                status = Text(("● " if state == WORKING else "○ ") + state, style=styles.get(state, Style()))
            name = Text(no_wrap=True, overflow="ellipsis", end="")
            name.append(clean(s.project_name), style=styles["archived"] if archived else styles["bold"])
            name.append(" · ", style=styles["muted"])
            name.append(clean(s.title) or f"({s.session_id[:8]})")
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
        self.dismiss()

    def action_help(self) -> None:
        """Every key and formula."""
        self.post_message(HelpRequested())

    @on(DataTable.RowSelected, "#history-sessions")
    def _open(self, event: DataTable.RowSelected) -> None:
        """Enter on a session: its detail screen."""
        value = event.row_key.value or ""
        agent, _, sid = value.partition(":")
        if sid:
            self.post_message(SessionChosen((agent, sid)))
