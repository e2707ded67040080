"""The detail screen of one session: every number with its definition, a timeline, tips.

Opened with Enter on a sessions row, left with Esc. What it shows comes from the
catalog it is given: the session's summary and fleet row (status, heavy verdict),
and its :class:`~tokdash.model.detail.SessionDetail` -- costs by kind and by call,
the tips, the compactions -- which the feed computes off the UI thread. When the
session changes, the screen asks for a fresh detail (``catalog.want_detail``) and
keeps showing the last one until it arrives; a change to another session costs
nothing here. An archived session (its transcripts are gone; the index keeps its
numbers) gets the ``-archived`` class: a banner and a dimmed header.

Strings that come from a transcript (title, paths, model, tool and agent names,
ids) are shown as ``rich.text.Text`` through the one sanitiser, never as markup: a
``[`` in a path cannot restyle the screen and an escape sequence cannot reach the
terminal.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tokdash.format import clean, fmt_age, fmt_cost, fmt_duration, fmt_rate, fmt_tokens
from tokdash.ingest.catalog import CatalogView
from tokdash.model.activity import WORKING
from tokdash.model.alerts import window_text
from tokdash.model.detail import SessionDetail
from tokdash.model.store import SessionKey
from tokdash.ui.messages import CatalogChanged, HelpRequested
from tokdash.ui.styles import theme_styles
from tokdash.ui.texts import ARCHIVED_NOTE, HONESTY
from tokdash.ui.widgets import detail_sections as sections
from tokdash.ui.widgets.timeline import Timeline

WIDE_COLUMNS = 140
"""Terminal width from which the numbers and the timeline/tips sit side by side."""
TICK_SECONDS = 10.0
"""How often the header's ages are brought up to date."""


def _plain(text: str | None, style: str = "") -> Text:
    return Text(clean(text), style=style)


class SessionDetailScreen(Screen):
    """Every number of one session, with its definition; its timeline and tips."""

    BINDINGS = [
        Binding("escape,backspace", "back", "Back", tooltip="Back to the sessions", id="detail.back"),
        Binding("c", "copy_resume", "Copy resume", tooltip="Copy the resume command to the clipboard (OSC 52)",
                id="detail.copy_resume"),
        Binding("C", "copy_id", "Copy id", key_display="C", show=False,
                tooltip="Copy the session id to the clipboard (OSC 52)", id="detail.copy_id"),
        Binding("t", "tips", "Tips", tooltip="Jump to the tips", id="detail.tips"),
        Binding("question_mark", "help", "Help", tooltip="Every key and formula", id="detail.help"),
        Binding("j", "scroll('down')", "Down", show=False, tooltip="Scroll down (also ↓, pgdn, end)", id="detail.down"),
        Binding("k", "scroll('up')", "Up", show=False, tooltip="Scroll up (also ↑, pgup, home)", id="detail.up"),
    ]

    DEFAULT_CSS = """
    SessionDetailScreen #detail-scroll { padding: 0 1; }
    SessionDetailScreen #detail-columns { height: auto; layout: vertical; }
    SessionDetailScreen #detail-columns.-wide { layout: horizontal; }
    SessionDetailScreen .detail-column { height: auto; width: 100%; }
    SessionDetailScreen #detail-columns.-wide .detail-column { width: 1fr; }
    SessionDetailScreen #detail-columns.-wide #detail-left { margin-right: 2; }
    SessionDetailScreen .detail-heading { text-style: bold; color: $accent; margin-top: 1; }
    SessionDetailScreen #detail-heavy { color: $error; text-style: bold; }
    SessionDetailScreen #detail-heavy.-none { display: none; }
    SessionDetailScreen #detail-notes { color: $text-muted; margin: 1 0; }
    SessionDetailScreen #detail-archived { display: none; color: $text-muted; text-style: bold italic; }
    SessionDetailScreen.-archived #detail-archived { display: block; }
    SessionDetailScreen.-archived #detail-header { color: $text-muted; }
    """

    def __init__(self, catalog: CatalogView, key: SessionKey) -> None:
        super().__init__()
        self.catalog = catalog
        """What the screen reads."""
        self.key: SessionKey = key
        """(agent, session id) of the session shown."""
        self.shown: SessionDetail | None = None
        """The detail drawn now (it may be one version behind while a fresh one is on its way)."""
        self._version: tuple | None = None
        self._shown: dict[str, object] = {}
        """What the time-dependent lines show now, so a tick repaints only on a change."""

    @property
    def summary(self):
        """The session's summary as the catalog holds it now (None when unknown)."""
        return self.catalog.summary(self.key) if self.catalog.has(self.key) else None

    @property
    def costs(self):
        """The per-kind costs drawn now (None until the detail arrived)."""
        return self.shown.costs if self.shown is not None else None

    @property
    def tips(self):
        """The tips drawn now."""
        return self.shown.tips if self.shown is not None else []

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-header", markup=False)
            yield Static(ARCHIVED_NOTE, id="detail-archived", markup=False)
            yield Static(id="detail-heavy", markup=False, classes="-none")
            with Horizontal(id="detail-columns"):
                with Vertical(id="detail-left", classes="detail-column"):
                    yield from self._section("Tokens and cost by kind", Static(id="detail-kinds", markup=False))
                    yield from self._section("By model", Static(id="detail-models", markup=False))
                    yield from self._section("Cache and context", Static(id="detail-cache", markup=False))
                    yield from self._section("Activity", Static(id="detail-activity", markup=False))
                with Vertical(id="detail-right", classes="detail-column"):
                    yield from self._section("Timeline", Timeline(id="detail-timeline"))
                    yield Static("Tips", classes="detail-heading", markup=False, id="detail-tips-heading")
                    yield Static(id="detail-tips", markup=False)
                    yield from self._section("Tool uses", Static(id="detail-tools", markup=False))
                    yield from self._section("Sub-agents", Static(id="detail-subagents", markup=False))
            yield Static(HONESTY, id="detail-notes", markup=False)
        yield Footer()

    @staticmethod
    def _section(title: str, body: Widget) -> ComposeResult:
        yield Static(title, classes="detail-heading", markup=False)
        yield body

    def on_mount(self) -> None:
        self._fit(self.size.width)
        self.refresh_from_catalog(force=True)
        self.query_one("#detail-scroll").focus()
        self.set_interval(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        """Bring the header's ages up to date (it repaints only if its text changed)."""
        if self.is_current:
            self._refresh_header()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Two columns side by side on a wide terminal, one below the other in a narrow pane."""
        self.query_one("#detail-columns").set_class(width >= WIDE_COLUMNS, "-wide")

    # --- live updates -----------------------------------------------------------------------

    @on(CatalogChanged)
    def _redraw_if_mine(self, message: CatalogChanged) -> None:
        """Redraw when this session's data or detail changed; its row (status, heavy) alone
        changes only the header lines."""
        changes = message.changes
        if self.key in changes.sessions or self.key in changes.details:
            self.refresh_from_catalog()
        elif self.key in changes.rows or changes.state:
            self._refresh_header()
            self._show_heavy()

    def refresh_from_catalog(self, *, force: bool = False) -> None:
        """Re-read this session from the catalog; a no-op when nothing about it changed."""
        catalog = self.catalog
        known = catalog.has(self.key)
        archived = known and catalog.is_archived(self.key)
        detail = catalog.detail(self.key) if known else None
        version = (catalog.version(self.key), id(detail), archived)
        if not force and version == self._version:
            return
        self._version = version
        self.set_class(archived, "-archived")
        if not known:
            self.shown = None
            self.query_one("#detail-header", Static).update(
                Text.assemble("Session ", _plain(self.key[1]), " is not in the catalog (yet).")
            )
            return
        if detail is None:
            catalog.want_detail(self.key)  # computed off the UI thread; CatalogChanged follows
            detail = catalog.detail(self.key)  # (or at once, when the feed runs inline)
            self._version = (catalog.version(self.key), id(detail), archived)
        if detail is not None:
            self.shown = detail
        self._refresh_header()
        self._show_heavy()
        if self.shown is None:
            self.query_one("#detail-kinds", Static).update(Text("loading its calls…", style="dim"))
            return
        self._draw(self.shown, archived)

    def _draw(self, d: SessionDetail, archived: bool) -> None:
        s, costs = d.summary, d.costs
        styles = theme_styles(self.app)
        bad = self.catalog.fleet.thresholds.context_share
        self.query_one("#detail-kinds", Static).update(sections.kinds(s, costs))
        self.query_one("#detail-models", Static).update(sections.models(s, costs))
        self.query_one("#detail-cache", Static).update(sections.cache(s, styles, bad))
        self.query_one("#detail-activity", Static).update(sections.activity(s, self.catalog.clock(), archived))
        self.query_one("#detail-tools", Static).update(sections.tools(s))
        self.query_one("#detail-subagents", Static).update(sections.subagents(s))
        self.query_one("#detail-timeline", Timeline).set_calls(costs.calls, d.compactions)
        self.query_one("#detail-tips", Static).update(sections.tips(d.tips, styles))

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the screen below."""
        self.dismiss()

    def action_copy_id(self) -> None:
        """Copy the session id to the clipboard (OSC 52) and say so."""
        sid = clean(self.key[1])
        self.app.copy_to_clipboard(sid)
        self.notify(f"Copied session id {sid}", title="Clipboard", markup=False)

    def action_copy_resume(self) -> None:
        """Copy the command that resumes the session (its id when it has none)."""
        s = self.summary
        command = s.resume_command if s is not None else None
        if not command:
            self.action_copy_id()
            return
        text = clean(command)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text}", title="Clipboard", markup=False)

    def action_tips(self) -> None:
        """Scroll to the tips (in a narrow pane they sit below the numbers)."""
        self.query_one("#detail-scroll", VerticalScroll).scroll_to_widget(
            self.query_one("#detail-tips-heading"), top=True, animate=False)

    def action_help(self) -> None:
        """Open the help screen."""
        self.post_message(HelpRequested())

    def action_scroll(self, direction: str) -> None:
        """j/k scroll like the arrows."""
        scroll = self.query_one("#detail-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down()
        else:
            scroll.scroll_up()

    # --- the header ---------------------------------------------------------------------------

    def _refresh_header(self) -> None:
        s = self.summary
        if s is None:
            return
        header = self.query_one("#detail-header", Static)
        now = self.catalog.clock()
        row = self.catalog.row(self.key)
        status = row.status if row is not None else "done"
        head = Text()
        head.append_text(_plain(s.title or "(untitled)", "bold"))
        head.append("\n")
        head.append_text(_plain(s.agent, "bold"))
        head.append(" · ")
        head.append_text(_plain(s.project or "?"))
        if s.git_branch:
            head.append(" · branch ")
            head.append_text(_plain(s.git_branch))
        head.append("\n")
        archived = self.has_class("-archived")
        head.append("archived" if archived else f"{status}", style="bold")
        if s.last_activity is not None:
            head.append(f" · last activity {fmt_age(now - s.last_activity)}")
        if s.open and status == WORKING:
            head.append(" · last call still open (a response may be streaming)")
        if status == "waiting" and not archived:
            head.append(" · its turn ended: waiting for you", style="bold")
        if row is not None and row.skewed:
            head.append(" · its last activity is dated in the future (a clock is wrong)")
        head.append("\nsession ")
        head.append_text(_plain(s.session_id, "bold"))
        head.append("   C copies it\nresume  ")
        if s.resume_command:
            head.append_text(_plain(s.resume_command))
            head.append("   c copies it", style="dim")
        else:
            head.append("—  (no safe command: the id is not plain)", style="dim")
        if archived:
            head.append("  (its transcript is gone: the CLI cannot resume it)", style="dim")
        head.append("\n")
        head.append(f"{fmt_tokens(s.usage.total)} tokens · {fmt_cost(s.cost, s.cost_partial)} · "
                    f"cache hit {fmt_rate(s.cache_hit_rate)} · {s.api_calls} API calls · "
                    f"{fmt_duration(s.duration)}")
        if s.turns_per_prompt is not None:
            head.append(f" · {s.turns_per_prompt:.0f} turns per prompt")
        mine = [w for w in self.catalog.windows if w.agent == s.agent]
        if mine:
            head.append("\nplan    ")
            for i, w in enumerate(mine):
                if i:
                    head.append(" · ", style="dim")
                head.append(window_text(w, now), style="bold" if w.source != "estimate" else "dim")
                head.append(f" ({'official' if w.source != 'estimate' else 'estimate'}, "
                            f"seen {fmt_age(max(now - w.observed_at, 0))})" if w.observed_at else "", style="dim")
        if self.shown is not None and self.shown.tips:
            n = len(self.shown.tips)
            head.append(f" · {n} tip{'s' if n != 1 else ''}", style="bold")
        if head != self._shown.get("header"):
            self._shown["header"] = head
            header.update(head)

    def _show_heavy(self) -> None:
        """Which heavy thresholds this session trips: the fleet's verdict, as the table shows it."""
        row = self.catalog.row(self.key)
        reasons = row.heavy if row is not None else ()
        widget = self.query_one("#detail-heavy", Static)
        line = "HEAVY: " + "; ".join(r.text for r in reasons) if reasons else ""
        if line == self._shown.get("heavy"):
            return
        self._shown["heavy"] = line
        widget.set_class(not reasons, "-none")
        widget.update(Text(line))
