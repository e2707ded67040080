"""Plan windows: how much of a subscription's rolling usage window is used, and when it resets.

Agent CLIs on a flat-rate plan report their own plan windows: a share used of a
5-hour window, a 7-day window, sometimes a per-model weekly one. Those are the
**official** figures (``source="official"``); nothing else on disk knows the plan's
limit. tokdash may also *estimate* the current 5-hour block from the transcripts
(``source="estimate"``): tokens and dollars since the block started, never a share,
since the limit behind a share is unknown. An estimate is always labelled so.

Pure functions: sources hand over raw windows (``used_percent``, ``window_minutes``,
``resets_at``) and the moment they were seen; this module classifies them, drops
placeholder snapshots and picks the newest real one. No agent is named here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

TYPE_CHECKING = False  # typing costs a status line 3 ms to import; checkers read this as True
if TYPE_CHECKING:  # the status line imports this module on every render: only what it needs
    from tokdash.model.history import Fact

OFFICIAL = "official"
ESTIMATE = "estimate"

FIVE_HOURS = 300
"""``window_minutes`` of the 5-hour window."""
SEVEN_DAYS = 10080
"""``window_minutes`` of the weekly window."""
_LABELS = {FIVE_HOURS: "5h", SEVEN_DAYS: "7d"}

BLOCK_SECONDS = FIVE_HOURS * 60
"""Length of a 5-hour block (what an estimate covers)."""

WINDOW_WARN = 75.0
"""A plan window at or above this share (%) is filling up (amber)..."""
WINDOW_BAD = 90.0
"""...and at or above this it is nearly spent (red)."""

_MAX_EPOCH = 253402214400.0
"""9999-12-30: a reset time past this is a corrupt figure, not a date."""


@dataclass(frozen=True, slots=True)
class PlanWindow:
    """One plan window of one agent, as last seen (official) or estimated from transcripts."""

    agent: str
    window: str
    """``5h``, ``7d``, or another label made from the window's length (``1h``, ``30d``,
    ``90m``) or from the name the agent gave it (``7d-opus``)."""
    used_percent: float | None
    """0-100 as the agent reported it; None for an estimate (the plan's limit is unknown)."""
    resets_at: float | None
    """Epoch seconds when the window resets (an estimate: when its block ends), if known."""
    observed_at: float
    """Epoch seconds when the figure was seen (an official figure is only as fresh as the
    last call that carried it) or computed (an estimate)."""
    source: str = OFFICIAL
    """``official`` (the agent's own figure) or ``estimate`` (tokdash's, from transcripts)."""
    window_minutes: int | None = None
    """The window's length as reported, when it was."""
    tokens: int | None = None
    """An estimate's tokens since the block started (None for official figures)."""
    cost_usd: float | None = None
    """An estimate's dollars since the block started (None for official figures)."""

    def to_json(self) -> dict:
        """The ``report limits --json`` object. Field names are a contract for scripts."""
        out = {
            "agent": self.agent,
            "window": self.window,
            "used_percent": self.used_percent,
            "resets_at": _iso(self.resets_at),
            "observed_at": _iso(self.observed_at),
            "source": self.source,
        }
        if self.source == ESTIMATE:
            out["tokens"] = self.tokens
            out["cost_usd"] = None if self.cost_usd is None else round(self.cost_usd, 6)
        return out


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- reading raw figures leniently ------------------------------------------------------------


def number(value: object) -> float | None:
    """A finite number from a JSON value: an int, a float or a numeric string; else None.

    Some builds send figures as strings (``"42.0"``); a bool is not a number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        v = float(value)
    elif isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def percent(value: object) -> float | None:
    """A used share in percent, clamped to 0-100; None when it is not a number."""
    v = number(value)
    return None if v is None else min(max(v, 0.0), 100.0)


def epoch(value: object) -> float | None:
    """A reset time in epoch seconds (a value in milliseconds is scaled down); None if absent or absurd."""
    v = number(value)
    if v is None or v <= 0:
        return None
    if v > 1e11:  # milliseconds: no second-resolution epoch reaches this before the year 5138
        v /= 1000.0
    return v if v < _MAX_EPOCH else None


def window_label(minutes: int | None) -> str | None:
    """``5h`` for 300 minutes, ``7d`` for 10080, else ``<n>d``, ``<n>h`` or ``<n>m``; None without a length."""
    if minutes is None or minutes <= 0:
        return None
    if minutes in _LABELS:
        return _LABELS[minutes]
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def minutes_of(value: object) -> int | None:
    """A window length in whole minutes, or None."""
    v = number(value)
    if v is None or v <= 0 or v > 10 * 366 * 1440:
        return None
    return int(round(v))


def from_raw(agent: str, raw: object, observed_at: float, *, label: str | None = None) -> PlanWindow | None:
    """One window from its raw figures: ``{used_percent, window_minutes, resets_at}``.

    The window is classified by ``window_minutes`` (the slot it came in says nothing:
    newer plans send only a weekly primary), or named ``label`` when the agent names
    its windows. ``resets_at`` may be absent in favour of the legacy ``resets_in_seconds``
    (counted from ``observed_at``). None for a window that is null, has no used share,
    or whose length is neither given nor implied by ``label``.
    """
    if not isinstance(raw, Mapping):
        return None
    used = percent(raw.get("used_percent", raw.get("used_percentage")))
    if used is None:
        return None
    minutes = minutes_of(raw.get("window_minutes"))
    name = window_label(minutes) or label
    if name is None:
        return None
    resets = epoch(raw.get("resets_at"))
    if resets is None:
        left = number(raw.get("resets_in_seconds"))
        if left is not None and left > 0:
            resets = observed_at + left
    return PlanWindow(agent, name, used, resets, observed_at, OFFICIAL, minutes)


def is_placeholder(raw: object) -> bool:
    """A window whose every figure is zero or absent (what some builds send before they know)."""
    if not isinstance(raw, Mapping):
        return True
    for key in ("used_percent", "used_percentage", "window_minutes", "resets_at", "resets_in_seconds"):
        v = number(raw.get(key))
        if v:
            return False
    return True


def real_windows(windows: Iterable[object]) -> bool:
    """Does a snapshot hold at least one real window (not null, not all zeros)?"""
    return any(not is_placeholder(w) for w in windows)


def newest(windows: Iterable[PlanWindow]) -> list[PlanWindow]:
    """The newest window per (agent, window), most useful first: 5h, 7d, then the rest by name."""
    best: dict[tuple[str, str], PlanWindow] = {}
    for w in windows:
        key = (w.agent, w.window)
        old = best.get(key)
        if old is None or w.observed_at > old.observed_at:
            best[key] = w
    return sorted(best.values(), key=order)


def order(w: PlanWindow) -> tuple:
    """Sort key: by agent, then 5h, 7d, other windows; official before estimate."""
    rank = {"5h": 0, "7d": 1}.get(w.window, 2)
    return (w.agent, rank, w.window, w.source != OFFICIAL)


def window_band(used_percent: float | None) -> str:
    """``ok``, ``warn`` (from 75 %), ``bad`` (from 90 %) or ``none`` without a share."""
    if used_percent is None:
        return "none"
    if used_percent >= WINDOW_BAD:
        return "bad"
    if used_percent >= WINDOW_WARN:
        return "warn"
    return "ok"


# --- the status line's rate_limits ---------------------------------------------------------

_NAMED = {"five_hour": (FIVE_HOURS, "5h"), "seven_day": (SEVEN_DAYS, "7d")}
"""Window names in the status line's ``rate_limits`` object whose length is known."""


def statusline_windows(agent: str, rate_limits: object, observed_at: float) -> list[PlanWindow]:
    """The windows of a status-line ``rate_limits`` object (``{five_hour: {...}, seven_day: {...}}``).

    Lenient: a window may be absent or null, figures may be strings, and extra windows
    (``seven_day_opus``) are kept under a label made from their name. Placeholder
    windows (all zero) are dropped.
    """
    if not isinstance(rate_limits, Mapping):
        return []
    out = []
    for name, raw in rate_limits.items():
        if not isinstance(name, str) or not isinstance(raw, Mapping) or is_placeholder(raw):
            continue
        minutes, label = _NAMED.get(name, (None, None))
        if label is None:
            label = _label_of_name(name)
            if label is None:
                continue
        fixed = dict(raw)
        if minutes is not None and minutes_of(fixed.get("window_minutes")) is None:
            fixed["window_minutes"] = minutes
        w = from_raw(agent, fixed, observed_at, label=label)
        if w is not None:
            out.append(w)
    return out


def _label_of_name(name: str) -> str | None:
    """``seven_day_opus`` -> ``7d-opus``; a name that is not ``<known window>_<word>`` gives None."""
    for prefix, (_minutes, label) in _NAMED.items():
        if name.startswith(prefix + "_"):
            rest = name[len(prefix) + 1:]
            if rest and rest.replace("_", "").isalnum() and len(rest) <= 24:
                return f"{label}-{rest.replace('_', '-')}"
    return None


# --- an estimate of the current 5-hour block ------------------------------------------------


def estimate_block(agent: str, facts: Iterable[Fact], now: float) -> PlanWindow | None:
    """The current 5-hour block of ``agent`` from its history facts, as an estimate; None when idle.

    A block starts at the top of the hour (UTC) of the first call after a quiet spell of
    5 hours or more, and lasts 5 hours; a call after its end starts the next one. That is
    how plan windows behave for most users, and what other tools show: it says what was
    spent in the block, not which share of the plan that is.
    """
    mine = [f for f in facts if f.agent == agent and 0 < f.ts <= now]
    times = sorted({f.ts for f in mine})
    if not times:
        return None
    start = end = None
    last = None
    for ts in times:
        if start is None or ts >= end or (last is not None and ts - last >= BLOCK_SECONDS):  # type: ignore[operator]
            start = ts - ts % 3600
            end = start + BLOCK_SECONDS
        last = ts
    if end is None or now >= end:
        return None
    tokens = 0
    pico = 0
    for f in mine:
        if f.ts >= start:  # type: ignore[operator]
            tokens += f.usage.total
            pico += f.cost_pico
    return PlanWindow(agent, "5h", None, end, now, ESTIMATE, FIVE_HOURS, tokens, pico / 1e12)
