"""The header strip: what the whole fleet is doing, in two or three lines."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from tokdash.format import clean, fmt_money, fmt_tokens
from tokdash.model.fleet import FleetStats
from tokdash.ui.styles import BAND_STYLE
from tokdash.ui.texts import HEADER_HONESTY, HEADER_HONESTY_SHORT


@dataclass(slots=True)
class HeaderState:
    """Everything the header shows; it redraws only when this changes."""

    stats: FleetStats
    sort: str = ""
    """e.g. ``last activity ▼``."""
    filter_text: str = ""
    only_working: bool = False
    grouped: bool = False
    loading: tuple[int, int] | None = None
    """(files read, files found) while the initial load runs."""
    note: str | None = None
    """What the initial load is doing, when it says more than "loading transcripts"."""
    shown: int = 0
    """Rows of sessions shown (after filters)."""
    gauges: tuple = ()
    """Plan windows and budgets (``tokdash.model.alerts.Segment``: text and band)."""
    notices: tuple[str, ...] = ()
    """Files a source could not read this time (a locked database), one line each."""


class HeaderStrip(Static):
    """Sessions working now, tokens and cost in the last hour and today, the burn rate, notices."""

    DEFAULT_CSS = """
    HeaderStrip { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._state: HeaderState | None = None
        self._text: Text | None = None
        self.styles_map: dict[str, Style] = {}

    def show(self, state: HeaderState, *, force: bool = False) -> bool:
        """Show ``state``; returns False (and redraws nothing) when it reads the same as before."""
        if not force and state == self._state:
            return False
        self._state = state
        return self._render_state(force)

    def on_resize(self) -> None:
        """Re-lay the lines for the new width (compact forms below ~120 cells)."""
        self._render_state(True)

    def _render_state(self, force: bool) -> bool:
        if self._state is None:
            return False
        # Before the first layout the strip has no size yet: it spans the screen, less padding.
        width = self.size.width or max(self.app.size.width - 2, 20)
        text = self.compose_text(self._state, width)
        if not force and self._text is not None and text == self._text:
            return False
        self._text = text
        self.update(text)
        return True

    def compose_text(self, state: HeaderState, width: int) -> Text:
        """The header's lines for a strip ``width`` cells wide."""
        st = self.styles_map.get
        s = state.stats
        wide = width >= 120
        sep = Text(" │ ", style=st("muted"))
        line1 = Text(no_wrap=True, overflow="ellipsis")
        line1.append("● " if s.working else "○ ", style=st("working") if s.working else st("muted"))
        line1.append(f"{s.working} working", style=st("bold"))
        if s.waiting:
            line1.append(" · ", style=st("muted"))
            line1.append(f"◆ {s.waiting} waiting for you" if wide else f"◆ {s.waiting} waiting", style=st("waiting"))
        filtered = bool(state.filter_text or state.only_working)
        line1.append(f" of {s.sessions}" + (" shown (filtered)" if filtered else ""), style=st("muted"))
        if s.archived:
            line1.append(f" ({s.archived} archived)", style=st("muted"))
        hour = "last hour" if wide else "1h"

        def money(tokens: int, cost: float) -> str:
            return f"{fmt_tokens(tokens)} tok {fmt_money(cost)}" if wide else f"{fmt_tokens(tokens)} {fmt_money(cost)}"

        parts = [
            (hour, money(s.hour_tokens, s.hour_cost)),
            ("today", money(s.today_tokens, s.today_cost)),
        ]
        if wide:
            parts.append(("24h", money(s.day_tokens, s.day_cost)))
        for label, value in parts:
            line1.append_text(sep)
            line1.append(label + " ", style=st("muted"))
            line1.append(value)
        burn = Text(no_wrap=True)
        burn.append("burn ", style=st("muted"))
        burn.append(f"{fmt_tokens(int(s.burn.tokens_per_min))} tok/min {fmt_money(s.burn.usd_per_hour)}/h",
                    style=st("warn") if s.burn.usd_per_hour else None)
        if wide or line1.cell_len + 3 + burn.cell_len <= width:
            line1.append_text(sep)
            line1.append_text(burn)
            burn = None

        line2 = Text(no_wrap=True, overflow="ellipsis")
        if state.gauges:
            # The plan windows and budgets lead, coloured by how full they are (the text
            # carries the figure, so the colour is not the only cue).
            for i, g in enumerate(state.gauges):
                if i:
                    line2.append(" · ", style=st("muted"))
                line2.append(clean(g.text, 60), style=st(BAND_STYLE.get(g.band, "")) if g.band != "none" else st("muted"))
            line2.append_text(sep)
        if burn is not None:
            line2.append_text(burn)
            line2.append_text(sep)
        line2.append("sort ", style=st("muted"))
        line2.append(state.sort, style=st("accent"))
        if state.grouped:
            line2.append(" · by project", style=st("accent"))
        if state.only_working:
            line2.append(" · only working", style=st("accent"))
        if state.filter_text:
            line2.append(" · filter ", style=st("muted"))
            line2.append(f"“{clean(state.filter_text)}”", style=st("accent"))
        if state.filter_text or state.only_working:
            line2.append(f" · {state.shown} shown", style=st("muted"))
        honesty = HEADER_HONESTY if wide else HEADER_HONESTY_SHORT
        room = width - 1 - line2.cell_len
        if room >= len(honesty) + 3:
            line2.append(" " * (room - len(honesty)))
            line2.append(honesty, style=st("muted"))

        lines = [line1, line2]
        notices = Text(no_wrap=True, overflow="ellipsis")
        if state.loading is not None:
            done, total = state.loading
            if state.note:
                notices.append(state.note + (f" {done}/{total} files" if total else ""), style=st("accent"))
            else:
                notices.append(f"loading transcripts {done}/{total} files…" if total else "finding transcripts…",
                               style=st("accent"))
        elif state.note:
            notices.append(state.note, style=st("accent"))
        if s.unpriced_models:
            if notices:
                notices.append(" · ", style=st("muted"))
            notices.append("⚠ unpriced: ", style=st("warn"))
            notices.append(", ".join(clean(m) for m in s.unpriced_models))
            notices.append(" (their cost is not counted; totals marked +)", style=st("muted"))
        for notice in state.notices[:2]:
            if notices:
                notices.append(" · ", style=st("muted"))
            notices.append("⚠ " + clean(notice, 120), style=st("warn"))
        if s.bad_lines:
            if notices:
                notices.append(" · ", style=st("muted"))
            notices.append(f"⚠ {s.bad_lines} unreadable line{'s' if s.bad_lines != 1 else ''} skipped",
                           style=st("warn"))
        if notices:
            lines.append(notices)
        # One line each, whatever the width: a wrapped line would change the strip's
        # height and shift the table under the mouse.
        text = Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text
