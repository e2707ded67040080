"""The detail screen of one session: every number with its definition, a timeline, tips.

Opened with Enter on a sessions row, left with Esc. Everything shown is derived
on the UI thread from the app: the session's ``SessionSummary``, its records
(``app.session``) for the per-kind costs (``tokdash.model.costs``), the timeline
and the tips (``tokdash.model.insights``). Over the index, a session's records
may not be in memory yet: the screen asks for them (``app.want_records``) and
fills in when they arrive. The screen recomputes only when its session changed
(``version``, summary or archived flag), so an update to another session costs
nothing here. An archived session (its transcripts are gone; the index keeps its
numbers) gets the ``-archived`` class: a banner and a dimmed header.

Strings that come from a transcript (title, paths, model, tool and agent names,
ids) are shown as ``rich.text.Text`` with control characters removed, never as
markup: a ``[`` in a path cannot restyle the screen and an escape sequence
cannot reach the terminal.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from tokdash.model.activity import WORKING, fmt_age, fmt_duration, session_status
from tokdash.model.costs import SessionCosts, session_costs
from tokdash.model.heavy import HeavyThresholds, Tripped, heavy_reasons
from tokdash.model.insights import Tip, tips
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session, SessionKey
from tokdash.report import fmt_cost, fmt_rate, fmt_tokens
from tokdash.ui.messages import SessionsChanged
from tokdash.ui.timeline import Timeline


WIDE_COLUMNS = 140
"""Terminal width from which the numbers and the timeline/tips sit side by side."""
TICK_SECONDS = 10.0
"""How often the header's ages and the heavy verdict are brought up to date."""
HIT_GREEN = 0.70
"""Cache hit rate from which the rate is shown green."""
HIT_AMBER = 0.30
"""Cache hit rate from which the rate is shown amber (below: red)."""

HONESTY = (
    "Token counts are read from the agents' own transcripts. Input and output counts are lower "
    "bounds in some CLI versions (Claude Code 2.1.12–2.1.3x wrote placeholder outputs); cache "
    "counts are exact. Costs are estimates from a public price table (genai-prices, offline), "
    "priced per call; a model without a known price is shown as unpriced, never as $0."
)


ARCHIVED_NOTE = (
    "ARCHIVED: every transcript file of this session is gone (Claude Code deletes them after 30 days); "
    "its numbers come from tokdash's index."
)


def clean(text: str | None) -> str:
    """A transcript string made safe for the terminal: one line, no control characters."""
    if not text:
        return ""
    out = []
    for ch in text:
        if ch in "\n\r\t\u2028\u2029":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return "".join(out)


def plain(text: str | None, style: str = "") -> Text:
    """``clean(text)`` as Rich ``Text``: shown literally, never parsed as markup."""
    return Text(clean(text), style=style)


def _n(value: int) -> str:
    """An exact count with thousands separators."""
    return f"{value:,}"


def _local(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


class SessionDetailScreen(Screen):
    """Every number of one session, with its definition; its timeline and tips."""

    BINDINGS = [
        Binding("escape,backspace", "back", "Back", tooltip="Back to the sessions", id="detail.back"),
        Binding("c", "copy_id", "Copy id", tooltip="Copy the session id to the clipboard (OSC 52)", id="detail.copy_id"),
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

    def __init__(self, key: SessionKey) -> None:
        super().__init__()
        self.key: SessionKey = key
        """(agent, session id) of the session shown."""
        self.summary: SessionSummary | None = None
        """The summary last shown."""
        self.costs: SessionCosts | None = None
        """The per-kind costs last shown."""
        self.tips: list[Tip] = []
        """The tips last shown."""
        self._version: tuple | None = None
        self._shown: dict[str, object] = {}
        """What the time-dependent lines show now, so a tick repaints only on a change."""

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
                    yield from self._section("Tips", Static(id="detail-tips", markup=False))
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
        self.refresh_from_store(force=True)
        self.query_one("#detail-scroll").focus()
        # "3m ago" ages and the fleet's spend rates move without this session changing.
        self.set_interval(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        """Bring the time-dependent lines up to date (each repaints only if its text changed)."""
        if self.is_current and self.summary is not None:
            self._refresh_header()
            self._show_heavy(self.summary)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Two columns side by side on a wide terminal, one below the other in a narrow pane."""
        self.query_one("#detail-columns").set_class(width >= WIDE_COLUMNS, "-wide")

    # --- live updates -----------------------------------------------------------------------

    @on(SessionsChanged)
    def _redraw_if_mine(self, message: SessionsChanged) -> None:
        """The app merged new records: redraw if they touched this session."""
        if self.key in message.keys:
            self.refresh_from_store()

    def refresh_from_store(self, *, force: bool = False) -> None:
        """Re-read this session from the app; a no-op when nothing about it changed."""
        app = self.app
        known = app.has(self.key) if hasattr(app, "has") else self.key in app.store.sessions
        session: Session | None = app.session(self.key) if hasattr(app, "session") else app.store.sessions.get(self.key)
        archived = bool(getattr(app, "is_archived", lambda _k: False)(self.key))
        summary_now = app.summary(self.key) if known else None
        version = (None if session is None else session.version, id(summary_now), archived)
        if not force and version == self._version:
            return
        self._version = version
        self.set_class(archived, "-archived")
        if not known:
            self.summary, self.costs, self.tips = None, None, []
            self.query_one("#detail-header", Static).update(
                Text.assemble("Session ", plain(self.key[1]), " is not in the store (yet).")
            )
            return
        if session is None:
            # Over the index, the records of an older session are loaded on demand.
            self.summary, self.costs, self.tips = summary_now, None, []
            self._refresh_header()
            self.query_one("#detail-kinds", Static).update(Text("loading its calls from the index…", style="dim"))
            want = getattr(app, "want_records", None)
            if callable(want):
                want(self.key)
            return
        summary = summary_now
        costs = session_costs(session, self.app.prices)
        self.summary, self.costs = summary, costs
        self.tips = tips(session, summary, self.app.prices, costs)
        compactions = [e.timestamp for e in session.events.values() if e.kind == "compaction" and e.timestamp]
        self._refresh_header()
        self._show_heavy(summary)
        self.query_one("#detail-kinds", Static).update(self._kinds(summary, costs))
        self.query_one("#detail-models", Static).update(self._models(summary, costs))
        self.query_one("#detail-cache", Static).update(self._cache(summary))
        self.query_one("#detail-activity", Static).update(self._activity(summary))
        self.query_one("#detail-tools", Static).update(self._tools(summary))
        self.query_one("#detail-subagents", Static).update(self._subagents(summary))
        self.query_one("#detail-timeline", Timeline).set_calls(costs.calls, compactions)
        self.query_one("#detail-tips", Static).update(self._tips(self.tips))

    # --- actions ------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the screen below."""
        self.app.pop_screen()

    def action_copy_id(self) -> None:
        """Copy the session id to the clipboard (OSC 52) and say so."""
        sid = clean(self.key[1])
        self.app.copy_to_clipboard(sid)
        self.notify(f"Copied session id {sid}", title="Clipboard", markup=False)

    def action_help(self) -> None:
        """Open the help screen."""
        from tokdash.ui.help_screen import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_scroll(self, direction: str) -> None:
        """j/k scroll like the arrows."""
        scroll = self.query_one("#detail-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down()
        else:
            scroll.scroll_up()

    # --- sections -------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.app.clock()

    def _refresh_header(self) -> None:
        s = self.summary
        if s is None:
            return
        header = self.query_one("#detail-header", Static)
        now = self._now()
        status = session_status(s.last_activity, s.open, now)
        head = Text()
        head.append_text(plain(s.title or "(untitled)", "bold"))
        head.append("\n")
        head.append_text(plain(s.agent, "bold"))
        head.append(" · ")
        head.append_text(plain(s.project or "?"))
        if s.git_branch:
            head.append(" · branch ")
            head.append_text(plain(s.git_branch))
        head.append("\n")
        archived = self.has_class("-archived")
        head.append("archived" if archived else f"{status}", style="bold")
        if s.last_activity is not None:
            head.append(f" · last activity {fmt_age(now - s.last_activity)}")
        if s.open and status == WORKING:
            head.append(" · last call still open (a response may be streaming)")
        head.append("\nsession ")
        head.append_text(plain(s.session_id, "bold"))
        head.append("   c copies it\nresume  ")
        head.append_text(plain(s.resume_command))
        if archived:
            head.append("  (its transcript is gone: the CLI cannot resume it)", style="dim")
        head.append("\n")
        head.append(f"{fmt_tokens(s.usage.total)} tokens · {fmt_cost(s.cost, s.cost_partial)} · "
                    f"cache hit {fmt_rate(s.cache_hit_rate)} · {s.api_calls} API calls · "
                    f"{fmt_duration(s.duration)}")
        if self.tips and self.costs is not None:
            n = len(self.tips)
            head.append(f" · {n} tip{'s' if n != 1 else ''}", style="bold")
        if head != self._shown.get("header"):
            self._shown["header"] = head
            header.update(head)

    def _show_heavy(self, s: SessionSummary) -> None:
        reasons = self._heavy_reasons(s)
        widget = self.query_one("#detail-heavy", Static)
        line = "HEAVY: " + "; ".join(r.text for r in reasons) if reasons else ""
        if line == self._shown.get("heavy"):
            return
        self._shown["heavy"] = line
        widget.set_class(not reasons, "-none")
        widget.update(Text(line))

    def _heavy_reasons(self, s: SessionSummary) -> tuple[Tripped, ...]:
        """Which heavy thresholds this session trips.

        The spend-rate rule needs the whole fleet: ask the app (``app.heavy(key)``, the rule
        the sessions table applies). An app without it gets the two rules that need only
        this session, against ``app.heavy_thresholds`` or the defaults.
        """
        hook = getattr(self.app, "heavy", None)
        if callable(hook):
            return tuple(hook(self.key))
        thresholds = getattr(self.app, "heavy_thresholds", None) or HeavyThresholds()
        return heavy_reasons(s.usage.input + s.usage.output, s.context_pct, 0.0, [], thresholds)

    def _kinds(self, s: SessionSummary, costs: SessionCosts) -> RenderableType:
        u, c = s.usage, costs.by_kind
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), expand=False, show_edge=False)
        t.add_column("kind", no_wrap=True)
        t.add_column("tokens", justify="right", no_wrap=True)
        t.add_column("cost", justify="right", no_wrap=True)
        t.add_column("what it is", style="dim", ratio=1)
        partial = s.cost_partial
        rows = [
            ("input", u.input, c.input, "uncached input (Codex: minus cached)"),
            ("output", u.output, c.output,
             "incl. thinking" + (f" ({_n(u.reasoning)} reasoning)" if u.reasoning else "/reasoning")),
            ("cache write 5m", u.cache_write_5m, c.cache_write_5m, "to the 5-minute cache (~1.25× input)"),
            ("cache write 1h", u.cache_write_1h, c.cache_write_1h, "to the 1-hour cache (~2× input)"),
            ("cache read", u.cache_read, c.cache_read, "served from the cache (~0.1× input)"),
        ]
        for name, tokens, cost, definition in rows:
            t.add_row(Text(name), Text(_n(tokens)), Text(fmt_cost(cost, partial)), Text(definition))
        if u.web_search or c.web_search:
            t.add_row(Text("web search"), Text(f"{_n(u.web_search)} req"), Text(fmt_cost(c.web_search, partial)),
                      Text("server-side searches, per request"))
        t.add_row(Text("total", style="bold"), Text(_n(u.total), style="bold"),
                  Text(fmt_cost(s.cost, partial), style="bold"),
                  Text("input + output + cache write + cache read"))
        if partial:
            return Group(t, Text.assemble(
                ("+ lower bound: no price for ", "dim"), plain(", ".join(s.unpriced_models), "dim")))
        return t

    def _models(self, s: SessionSummary, costs: SessionCosts) -> RenderableType:
        t = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), show_edge=False)
        t.add_column("model", overflow="fold", ratio=1)
        for name in ("calls", "input", "output", "cache w", "cache r", "total", "cost"):
            t.add_column(name, justify="right", no_wrap=True)
        for model in s.models:
            m = s.by_model[model]
            u = m.usage
            cost = Text(fmt_cost(m.cost)) if m.priced else Text("unpriced", style="dim")
            t.add_row(plain(model), Text(str(m.calls)), Text(fmt_tokens(u.input)), Text(fmt_tokens(u.output)),
                      Text(fmt_tokens(u.cache_write)), Text(fmt_tokens(u.cache_read)), Text(fmt_tokens(u.total)),
                      cost)
        if not s.models:
            return Text("no API calls yet", style="dim")
        return t

    def _hit_style(self, rate: float | None) -> str:
        theme = self.app.theme_variables
        if rate is None:
            return ""
        if rate >= HIT_GREEN:
            return f"bold {theme.get('success', 'green')}"
        if rate >= HIT_AMBER:
            return f"bold {theme.get('warning', 'yellow')}"
        return f"bold {theme.get('error', 'red')}"

    def _cache(self, s: SessionSummary) -> RenderableType:
        u = s.usage
        rate = s.cache_hit_rate
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
        t.add_column("name", no_wrap=True)
        t.add_column("value", no_wrap=True)
        t.add_column("definition", style="dim", ratio=1)
        t.add_row(
            Text("cache hit"),
            Text(fmt_rate(rate), style=self._hit_style(rate)),
            Text(f"cache read / (input + cache write + cache read) = {fmt_tokens(u.cache_read)} / "
                 f"{fmt_tokens(u.input_side)}"),
        )
        pct = s.context_pct
        if s.context_window:
            width = 10
            filled = min(width, round((pct or 0.0) * width))
            bar = Text("█" * filled, style=self._context_style(pct))
            bar.append("░" * (width - filled), style="dim")
            bar.append(f" {(pct or 0.0) * 100:.0f} %")
            value = bar
            definition = (f"{fmt_tokens(s.context_tokens)} of {fmt_tokens(s.context_window)}: the last "
                          "main-chain call's input + cache read + cache write")
        else:
            value = Text(fmt_tokens(s.context_tokens) if s.context_tokens else "—")
            definition = "last main-chain call's input + cache read + cache write (window unknown)"
        t.add_row(Text("context"), value, Text(definition))
        t.add_row(Text("compactions"), Text(str(s.compactions)),
                  Text("times the conversation was summarised to free context"))
        return t

    def _context_style(self, pct: float | None) -> str:
        theme = self.app.theme_variables
        if pct is None or pct < 0.5:
            return theme.get("success", "green")
        if pct < 0.8:
            return theme.get("warning", "yellow")
        return theme.get("error", "red")

    def _activity(self, s: SessionSummary) -> RenderableType:
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
        t.add_column("name", no_wrap=True)
        t.add_column("value", no_wrap=True)
        t.add_column("definition", style="dim", ratio=1)
        now = self._now()
        rows: list[tuple[str, Text, str]] = [
            ("API calls", Text(_n(s.api_calls)), "billed calls after dedup, sub-agents' too"),
            ("assistant turns", Text(_n(s.assistant_turns)), "main-chain calls only"),
            ("prompts", Text(_n(s.prompts)), "typed by a human (not tool results or summaries)"),
            ("rate-limit hits", Text(_n(s.rate_limits)), "usage-limit and 429 notices"),
            ("API errors", Text(_n(s.api_errors)), "other API errors the CLI recorded"),
            ("first activity", Text(_local(s.first_activity)), "local time"),
            ("last activity", Text(_local(s.last_activity)),
             fmt_age(now - s.last_activity) if s.last_activity is not None else ""),
            ("duration", Text(fmt_duration(s.duration)), "first to last activity"),
            ("CLI version", plain(s.cli_version or "—"), "the latest the transcript names"),
            ("git branch", plain(s.git_branch or "—"), "the latest the transcript names"),
            ("files", Text(str(len(s.paths))),
             "transcripts: main and sub-agents" + (" (all deleted since)" if self.has_class("-archived") else "")),
        ]
        if s.forked_from:
            rows.append(("forked from", plain(s.forked_from), "the session this one was forked from"))
        if s.bad_lines:
            rows.append(("unreadable lines", Text(_n(s.bad_lines)), "not JSON: skipped, not counted"))
        for name, value, definition in rows:
            t.add_row(Text(name), value, Text(definition))
        return t

    def _tools(self, s: SessionSummary) -> RenderableType:
        if not s.tool_uses:
            return Text("none", style="dim")
        out = Text()
        items = sorted(s.tool_uses.items(), key=lambda kv: (-kv[1], kv[0]))
        for i, (name, count) in enumerate(items):
            if i:
                out.append("  ·  ", style="dim")
            out.append_text(plain(name))
            out.append(f" {count}", style="bold")
        out.append(f"\n{_n(s.tool_use_count)} tool uses in all, sub-agents included", style="dim")
        return out

    def _subagents(self, s: SessionSummary) -> RenderableType:
        if not s.subagents:
            return Text("none", style="dim")
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_edge=False)
        t.add_column("agent", overflow="fold", ratio=1)
        t.add_column("model", overflow="fold", ratio=1)
        for name in ("calls", "tokens", "cost"):
            t.add_column(name, justify="right", no_wrap=True)
        for a in s.subagents:
            models = ", ".join(m for m, _ in a.models.most_common())
            t.add_row(plain(a.agent_id), plain(models), Text(str(a.calls)), Text(fmt_tokens(a.usage.total)),
                      Text(fmt_cost(a.cost)))
        return t

    def _tips(self, found: list[Tip]) -> RenderableType:
        if not found:
            return Text("No tips: this session's numbers look healthy.", style="dim")
        parts: list[RenderableType] = []
        good = self.app.theme_variables.get("success", "green")
        for i, tip in enumerate(found):
            line = Text("▸ ", style="bold")
            line.append_text(plain(tip.title, "bold"))
            saving = _saving(tip)
            if saving:
                line.append(f"  saves ≈ {saving}", style=f"bold {good}")
            if i:
                parts.append(Text(""))
            parts.append(line)
            parts.append(Padding(plain(tip.figure), (0, 0, 0, 2)))
            parts.append(Padding(plain(tip.detail, "dim"), (0, 0, 0, 2)))
        return Group(*parts)


def _saving(tip: Tip) -> str:
    """A tip's estimated saving as one phrase, e.g. ``$0.42 (12.3k tokens)``."""
    bits = []
    if tip.saving_usd is not None:
        bits.append(fmt_cost(tip.saving_usd))
    if tip.saving_tokens:
        tokens = f"{fmt_tokens(tip.saving_tokens)} tokens"
        bits.append(f"({tokens})" if bits else tokens)
    return " ".join(bits)
