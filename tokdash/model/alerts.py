"""What a screen shows of budgets and plan windows: header gauges, and alerts once per crossing.

- :func:`gauges` turns plan windows and budget statuses into plain text segments with a
  band name each (``5h 42 % ↻19:00``, ``7d 12 %``, ``day $12.00/$20.00``): the dashboard's
  header colours them by band, a report prints them as they are.
- :class:`AlertTracker` raises an :class:`Alert` the first time a limit crosses one of the
  ``alert_at`` thresholds in a period, not on every refresh. Its state is plain values,
  stored by the caller between runs, so a restart does not raise the same crossing again;
  a new period (tomorrow, next week) or a raised limit arms the thresholds again.
- An alert carries its terminal notifications, sanitised: the bell, OSC 9 (iTerm2,
  Windows Terminal, kitty, WezTerm) and OSC 777 (foot, Ghostty, VTE terminals, urxvt).

Pure: no I/O, no Textual, no clock (``now`` is passed in).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tokdash.format import clean
from tokdash.model.budget import BudgetStatus
from tokdash.model.limits import ESTIMATE, PlanWindow, window_band

BELL = "\a"
KEEP_DAYS = 40
"""Crossings remembered this long after they were last seen (a month's period, and a margin)."""


@dataclass(frozen=True, slots=True)
class Segment:
    """One gauge: its text and band (``ok``, ``warn``, ``bad``, ``none``)."""

    text: str
    band: str
    kind: str = "budget"
    """``window`` (a plan window), ``estimate`` or ``budget``."""


def window_text(w: PlanWindow, now: float) -> str:
    """``5h 42 % ↻19:00`` (the reset shown when it is less than a day away), or an estimate's
    ``5h est. $3.40``."""
    if w.source == ESTIMATE:
        return f"{clean(w.window, 24)} est. ${(w.cost_usd or 0.0):,.2f}"
    text = f"{clean(w.window, 24)} {w.used_percent:.0f} %"
    if w.resets_at is not None and now < w.resets_at <= now + 86400:
        text += " ↻" + datetime.fromtimestamp(w.resets_at).strftime("%H:%M")
    return text


def gauges(windows: Iterable[PlanWindow], statuses: Iterable[BudgetStatus], now: float) -> list[Segment]:
    """The header's segments: plan windows first (official, then estimates), then the period
    budgets (day, week, month; session limits belong to a session's own view)."""
    out = []
    windows = list(windows)
    several = len({w.agent for w in windows}) > 1
    named: set[str] = set()
    for w in windows:
        text = window_text(w, now)
        if several and w.agent not in named:
            named.add(w.agent)  # whose windows these are, said once per agent
            text = f"{clean(w.agent, 24)} {text}"
        if w.source == ESTIMATE:
            out.append(Segment(text, "none", "estimate"))
        elif w.used_percent is not None:
            out.append(Segment(text, window_band(w.used_percent), "window"))
    for s in statuses:
        if s.limit_key in ("daily_usd", "weekly_usd", "monthly_usd"):
            out.append(Segment(s.gauge(), s.band, "budget"))
    return out


# --- notifications -------------------------------------------------------------------------


def osc9(message: str) -> str:
    """An OSC 9 desktop notification carrying ``message`` (sanitised to one plain line)."""
    return f"\x1b]9;{clean(message, 200)}\x07"


def osc777(title: str, body: str) -> str:
    """An OSC 777 ``notify`` notification; ``;`` separates its fields, so none is left inside one."""
    t = clean(title, 80).replace(";", ",")
    b = clean(body, 200).replace(";", ",")
    return f"\x1b]777;notify;{t};{b}\x07"


@dataclass(frozen=True, slots=True)
class Alert:
    """A limit crossed ``threshold`` percent in its period."""

    status: BudgetStatus
    threshold: float

    @property
    def title(self) -> str:
        """``tokdash: daily budget 80 %``."""
        return f"tokdash: {self.status.name} budget {self.threshold:g} %"

    @property
    def message(self) -> str:
        """One line for a notification or a hook's ``systemMessage``."""
        if self.threshold >= 100:
            lead = "over budget"
        else:
            lead = f"{self.threshold:g} % of the budget reached"
        return clean(f"tokdash: {lead}: {self.status.reason()}", 300)

    @property
    def severity(self) -> str:
        """``error`` at or over 100 %, else ``warning`` (a Textual notification's severity)."""
        return "error" if self.threshold >= 100 else "warning"

    def terminal(self, *, bell: bool, desktop: bool) -> str:
        """What to write to the terminal for this alert: the bell and/or both desktop
        notifications (a terminal ignores the OSC it does not know)."""
        out = BELL if bell else ""
        if desktop:
            out += osc9(self.message) + osc777(self.title, self.message)
        return out


class AlertTracker:
    """Remembers which thresholds each limit already crossed in its period.

    ``state`` is what :meth:`state` returned last time (stored by the caller: a file in the
    data dir), so crossings survive a restart.
    """

    def __init__(self, alert_at: Iterable[float], state: dict | None = None) -> None:
        self.alert_at = tuple(sorted(set(alert_at)))
        self._fired: dict[str, list[float]] = {}
        """status key -> [highest threshold raised, when last seen]."""
        raw = (state or {}).get("fired", {})
        if isinstance(raw, dict):
            for k, v in raw.items():
                if isinstance(k, str) and isinstance(v, list) and len(v) == 2 and all(
                        isinstance(x, int | float) and not isinstance(x, bool) for x in v):
                    self._fired[k] = [float(v[0]), float(v[1])]
        self.changed = False
        """The state moved since it was loaded (the caller saves it then)."""

    def check(self, statuses: Iterable[BudgetStatus], now: float) -> list[Alert]:
        """The alerts to raise now: for each limit, the highest threshold it crossed that was
        not raised yet in its period (one alert even when a jump crosses several)."""
        out = []
        for s in statuses:
            pct = s.percent
            reached = [t for t in self.alert_at if pct >= t]
            top = max(reached) if reached else 0.0
            entry = self._fired.get(s.key)
            before = entry[0] if entry is not None else 0.0
            if top > before:
                out.append(Alert(s, top))
            if entry is None or top != before or now - entry[1] > 3600:
                # A limit raised (or spend withdrawn) lowers the mark: the thresholds above arm again.
                self._fired[s.key] = [top, now]
                self.changed = True
        for k in [k for k, (_t, seen) in self._fired.items() if now - seen > KEEP_DAYS * 86400]:
            del self._fired[k]
            self.changed = True
        return out

    def state(self) -> dict:
        """Plain values to store."""
        return {"fired": {k: list(v) for k, v in sorted(self._fired.items())}}
