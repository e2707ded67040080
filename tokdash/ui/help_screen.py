"""The help screen: every key, every formula and every rule tokdash uses.

Keys are read from the screens' own ``BINDINGS`` (bindings are data), so the help
cannot drift from what the keys do. Numbers in the rules (status ages, heavy
thresholds, tip thresholds) are read from the modules that apply them, for the
same reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tokdash.model import activity, heavy, insights
from tokdash.model.heavy import HeavyThresholds
from tokdash.model.pricing import CACHE_READ_FACTOR, CACHE_WRITE_1H_FACTOR, CACHE_WRITE_5M_FACTOR

FALLBACK_SESSION_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓  j k", "move between sessions"),
    ("enter", "open the session's detail"),
    ("s / S", "cycle the sort column / flip its direction"),
    ("/", "filter by text"),
    ("a", "only working sessions"),
    ("g", "group by project"),
    ("h", "history: spend per day, project and model"),
    ("?", "this help"),
    ("q", "quit"),
)
"""Shown when the sessions screen's bindings cannot be read."""


def _fmt_seconds(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _pct(share: float) -> str:
    return f"{share * 100:g} %"


def heavy_keys() -> str:
    """``io_tokens = 80000, context_percent = 80, ...``: the config keys and their defaults,
    read from ``tokdash.model.heavy`` (its key table and ``HeavyThresholds``'s defaults)."""
    defaults = HeavyThresholds()
    parts = []
    for key, (attr, scale) in heavy._KEYS.items():
        parts.append(f"{key} = {round(getattr(defaults, attr) / scale, 6):g}")
    return ", ".join(parts)


class HelpScreen(Screen):
    """Every key and every formula."""

    BINDINGS = [
        Binding("escape,backspace,question_mark", "close", "Close", tooltip="Back to where you were", id="help.close"),
        Binding("j", "scroll('down')", "Down", show=False, tooltip="Scroll down (also ↓, pgdn, end)", id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, tooltip="Scroll up (also ↑, pgup, home)", id="help.up"),
    ]

    DEFAULT_CSS = """
    HelpScreen #help-scroll { padding: 0 1; }
    HelpScreen .help-heading { text-style: bold; color: $accent; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll"):
            yield Static(Text("tokdash help — Esc closes", style="bold"), markup=False)
            yield Static("Keys", classes="help-heading", markup=False)
            yield Static(id="help-keys", markup=False)
            yield Static("Formulas", classes="help-heading", markup=False)
            yield Static(self._formulas(), id="help-formulas", markup=False)
            yield Static("Status, heavy sessions, dedup", classes="help-heading", markup=False)
            yield Static(id="help-rules", markup=False)
            yield Static("Tips", classes="help-heading", markup=False)
            yield Static(self._tips(), id="help-tips", markup=False)
            yield Static("Honesty", classes="help-heading", markup=False)
            yield Static(self._honesty(), id="help-honesty", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-keys", Static).update(self._keys())
        self.query_one("#help-rules", Static).update(self._rules())
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        """Back to the screen below."""
        self.app.pop_screen()

    def action_scroll(self, direction: str) -> None:
        """j/k scroll like the arrows."""
        scroll = self.query_one("#help-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down()
        else:
            scroll.scroll_up()

    # --- keys --------------------------------------------------------------------------------

    def _rows(self, bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        """(keys, what they do) of visible-or-documented bindings, keys of one action grouped."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for b in Binding.make_bindings(bindings):
            text = b.tooltip or b.description
            if not text:
                continue
            grouped.setdefault((b.action, text), []).append(self.app.get_key_display(b))
        return [(" ".join(dict.fromkeys(keys)), text) for (_action, text), keys in grouped.items()]

    def _session_rows(self) -> list[tuple[str, str]]:
        try:
            from tokdash.ui.sessions_screen import SessionsScreen
        except ImportError:
            return list(FALLBACK_SESSION_KEYS)
        # Each class's own BINDINGS only: DataTable's cursor keys are covered by the first row.
        rows = self._rows(vars(SessionsScreen).get("BINDINGS", []))
        try:
            from tokdash.ui.sessions_table import SessionsTable

            rows += self._rows(vars(SessionsTable).get("BINDINGS", []))
        except ImportError:
            pass
        rows.insert(0, ("↑ ↓ / click", "move between sessions; enter opens one"))
        return rows

    def _history_rows(self) -> list[tuple[str, str]]:
        try:
            from tokdash.ui.history_screen import DayBars, HistoryScreen
        except ImportError:
            return []
        return (self._rows(DayBars.BINDINGS) + self._rows(HistoryScreen.BINDINGS)
                + [("tab", "between the bars and the project and model tables; enter lists their sessions")])

    def _history_sessions_rows(self) -> list[tuple[str, str]]:
        try:
            from tokdash.ui.history_screen import HistorySessionsScreen
        except ImportError:
            return []
        return [("↑ ↓ enter", "pick a session, open its detail")] + self._rows(HistorySessionsScreen.BINDINGS)

    def _keys(self) -> RenderableType:
        from tokdash.ui.detail_screen import SessionDetailScreen

        sections = [
            ("Sessions", self._session_rows()),
            ("Session detail", self._rows(SessionDetailScreen.BINDINGS)),
            ("History", self._history_rows()),
            ("History sessions", self._history_sessions_rows()),
            ("Everywhere", self._rows(type(self.app).BINDINGS) + [("ctrl+p", "command palette: find a session by name")]),
            ("Help", self._rows(self.BINDINGS)),
        ]
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
        t.add_column("where", style="bold", no_wrap=True)
        t.add_column("keys", no_wrap=True)
        t.add_column("does", ratio=1)
        for where, rows in sections:
            seen = set()
            first = True
            for keys, does in rows:
                if (keys, does) in seen:
                    continue
                seen.add((keys, does))
                t.add_row(Text(where if first else ""), Text(keys), Text(does))
                first = False
        return t

    # --- formulas and rules ---------------------------------------------------------------------

    @staticmethod
    def _table(rows: list[tuple[str, str]]) -> Table:
        t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
        t.add_column("name", style="bold", no_wrap=True)
        t.add_column("rule", ratio=1)
        for name, rule in rows:
            t.add_row(Text(name), Text(rule))
        return t

    def _formulas(self) -> RenderableType:
        return self._table([
            ("total tokens", "input + output + cache write + cache read (reasoning is part of output). Input is "
                             "uncached input: Codex's cached part is moved to cache read."),
            ("cache hit rate", "cache_read / (input + cache_write + cache_read): the share of input-side tokens "
                               "served from the cache. Green ≥ 70 %, amber 30–70 %, red < 30 %."),
            ("context", "the last main-chain call's input + cache read + cache write, against the model's "
                        "context window (Claude 200k, or 1M when a call was larger or the model says [1m])."),
            ("cost per call", "input × input price + output × output price + 5m writes × 5m-write price + 1h writes "
                              "× 1h-write price + cache reads × read price + web searches × fee per search. Summed "
                              "per call, never priced on a session's totals."),
            ("cache prices", f"where the price table lacks them (Claude): 5-minute write {CACHE_WRITE_5M_FACTOR:g}× "
                             f"input, 1-hour write {CACHE_WRITE_1H_FACTOR:g}× input, read {CACHE_READ_FACTOR:g}× input."),
            ("long context", "a request whose input side (input + cache write + cache read) is above a model's tier "
                             "threshold (e.g. 200k) is priced wholly at the tier's rates."),
            ("fast mode", "token prices × the model's fast-mode multiplier from the table (e.g. 6× for Opus 4.6); "
                          "the web-search fee is not multiplied."),
            ("web search", "server-side searches billed per request ($10 per 1,000 for Claude)."),
            ("unpriced", "a model without a known price is shown as unpriced; costs that include it end in + "
                         "(a lower bound), never $0."),
            ("burn rate", f"tokens/min and $/h over the last {_fmt_seconds(activity.BURN_WINDOW_SECONDS)}."),
            ("duration", "first to last activity of the session (calls and events)."),
            ("history", "each API call counts on the day of its own timestamp, in local time. Bars show cost per "
                        "day (tokens when nothing in the window has a price); the tables sum the same 30 days per "
                        "project (working directory) and per model."),
        ])

    def _rules(self) -> RenderableType:
        h = getattr(self.app, "heavy_thresholds", None) or HeavyThresholds()
        return self._table([
            ("working", f"last activity less than {_fmt_seconds(activity.WORKING_SECONDS)} ago, or the last call "
                        f"still open (no stop reason) and less than {_fmt_seconds(activity.OPEN_CALL_GRACE_SECONDS)} "
                        "ago."),
            ("idle", f"not working, last activity less than {_fmt_seconds(activity.IDLE_SECONDS)} ago."),
            ("done", "anything older."),
            ("archived", "every transcript file of the session is gone (Claude Code deletes them after 30 days); "
                         "tokdash's index keeps its numbers. Shown dimmed as ◌ archived."),
            ("default sort", "working first (by start time, so parallel agents keep their places), then by last "
                             "activity. s cycles cost, total, cache hit and burn rate; S reverses."),
            ("heavy", f"any of: input + output above {h.io_tokens:,} tokens; context above "
                      f"{_pct(h.context_share)} of the window; spend over the last "
                      f"{_fmt_seconds(activity.BURN_WINDOW_SECONDS)} above {h.rate_factor:g}× the median $/h of the "
                      f"other working sessions and above ${h.rate_floor:g}/h (with at least {h.min_fleet} others). "
                      "The detail screen names the threshold that tripped."),
            ("[heavy]", "keys of the config file's [heavy] table, with their defaults: " + heavy_keys() + "."),
            ("dedup", "each API call is counted once across every file, keyed by message and request id, keeping "
                      "its most complete copy (a main-chain copy over a replay, else the larger total)."),
        ])

    def _tips(self) -> RenderableType:
        i = insights
        return self._table([
            ("tips", "computed from the session's own numbers, each with the figure that triggered it and an "
                     "estimated saving; none when healthy, none below "
                     f"${i.MIN_SAVING_USD:g}. Savings count a tool result as sent once, then re-read from the "
                     "cache by every later call until compaction."),
            ("low cache hit", f"hit rate below {_pct(i.LOW_CACHE_HIT_RATE)} (≥ {i.CACHE_TIP_MIN_CALLS} calls); "
                              f"saving: reaching {_pct(i.CACHE_HIT_TARGET)}."),
            ("idle rewrite", "a call after a gap longer than the cache lifetime (5 min, 1 h for 1-hour writes) that "
                             f"wrote ≥ {i.IDLE_REWRITE_MIN_TOKENS:,} tokens; saving: write minus read price."),
            ("re-reads", f"the same file read {i.REREAD_MIN}+ times unchanged in one context; whole-file reads "
                         f"≥ {i.WHOLE_READ_BYTES // 1000} KB ({i.WHOLE_READ_MIN_COUNT}+)."),
            ("Write vs Edit", f"{i.WRITE_OVER_MIN}+ Writes to files already read or written."),
            ("large outputs", f"a tool result ≥ {i.LARGE_OUTPUT_BYTES // 1000} KB (~{i.BYTES_PER_TOKEN} bytes per "
                              "token)."),
            ("near the window", f"context ≥ {_pct(i.CONTEXT_NEAR_PCT)}: compact, don't clear."),
            ("thrashing", f"{i.THRASH_RUN_CALLS}+ main-chain calls in a row with no edit while the context grows."),
            ("wide search", f"{i.SEARCH_MIN}+ Grep/Glob/Read in the main chain and no sub-agent."),
            ("small turns", f"{i.SMALL_TURNS_MIN}+ calls of an expensive model (output ≥ "
                            f"${i.EXPENSIVE_OUTPUT_PER_MTOK:g}/M) with ≤ {i.SMALL_TURN_OUTPUT_TOKENS} output tokens; "
                            "saving: the same calls on a cheaper model."),
        ])

    def _honesty(self) -> RenderableType:
        from tokdash.ui.detail_screen import HONESTY

        return Group(
            Text(HONESTY),
            Text("Strings from transcripts (paths, titles, prompts, model and tool names) are shown as plain text, "
                 "with control characters removed.", style="dim"),
        )
