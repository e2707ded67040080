"""The fleet: what every session is doing now (status, burn, heavy), and the header's figures.

Pure Python, no Textual. One :class:`Fleet` holds a :class:`Row` per session:
its summary, its status, its spend rate over the burn window, the heavy
verdict, and *when* any of it next changes on its own as time passes (``due``).
The app keeps one fleet next to its catalog and brings it up to date in two
ways, both O(what changed):

- :meth:`Fleet.update` re-derives the sessions whose data changed;
- :meth:`Fleet.advance` re-derives the rows that are due (a status crossing a
  threshold, a burn window sliding, a "12s ago" turning into "13s ago") and
  nothing at all when none is due.

The heavy verdict is judged here, once, for the whole fleet: the spend-rate rule
compares a session with the *other* working sessions, so a change in any working
session's rate re-judges the working sessions, and nobody else recomputes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tokdash.format import next_age_change
from tokdash.model.activity import (
    BURN_WINDOW_SECONDS,
    NO_BURN,
    STATUS_RANK,
    WORKING,
    Burn,
    CallSeries,
    burn,
    next_status_change,
    session_status,
    window_totals,
)
from tokdash.model.heavy import HeavyThresholds, Tripped, heavy_reasons
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey

RECENT_SECONDS = 2 * 86400.0
"""Sessions active this recently can have calls in the header's "last hour" and "today"
windows (a day in any time zone fits in two): their call series are kept."""
TICK_SECONDS = 1.0
"""Resolution of ``due`` for rows whose burn window slides."""

ARCHIVED = "archived"
"""What the filter matches for a session whose transcript files are all gone."""


@dataclass(slots=True)
class Row:
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


@dataclass(slots=True)
class FleetStats:
    """What the header strip shows about every session at once."""

    sessions: int = 0
    working: int = 0
    hour_tokens: int = 0
    hour_cost: float = 0.0
    today_tokens: int = 0
    today_cost: float = 0.0
    burn: Burn = NO_BURN
    unpriced_models: list[str] = field(default_factory=list)
    bad_lines: int = 0
    archived: int = 0
    busy: bool = False
    """Some session spent within the burn window (the header's windows slide faster)."""


Lookup = Callable[[SessionKey], "tuple[SessionSummary, CallSeries, bool] | None"]
"""key -> (summary, call series, archived), or None when the session is gone."""


def derive(key: SessionKey, summary: SessionSummary, series: CallSeries, archived: bool, now: float) -> Row:
    """The row of one session at ``now``, heavy verdict aside (it needs the whole fleet)."""
    s = summary
    status = session_status(s.last_activity, s.open, now)
    b = NO_BURN
    due = next_status_change(s.last_activity, s.open, now)
    if s.last_activity is not None:
        age = now - s.last_activity
        due = min(due, now + next_age_change(age))
        if age < BURN_WINDOW_SECONDS:
            b = burn(series, now)
            due = min(due, now + TICK_SECONDS)  # the window slides: calls age out of it
    haystack = " ".join((s.agent, s.project, s.title, " ".join(s.models), s.session_id,
                         s.git_branch or "", ARCHIVED if archived else "")).lower()
    return Row(key, s, status, b, due=due, haystack=haystack, archived=archived)


class Fleet:
    """A row per session, kept up to date incrementally; the heavy verdict over the whole fleet."""

    def __init__(self, thresholds: HeavyThresholds | None = None) -> None:
        self.thresholds = thresholds or HeavyThresholds()
        """When a session counts as heavy."""
        self.rows: dict[SessionKey, Row] = {}
        """Every session's row."""
        self._working_rates: dict[SessionKey, float] = {}

    def row(self, key: SessionKey) -> Row | None:
        """The row of ``key``, if it is in the fleet."""
        return self.rows.get(key)

    def update(self, keys: Iterable[SessionKey], lookup: Lookup, now: float) -> set[SessionKey]:
        """Re-derive ``keys`` (their data changed); returns every row that changed, heavy
        verdicts that flipped elsewhere in the fleet included."""
        changed: set[SessionKey] = set()
        for key in keys:
            found = lookup(key)
            if found is None:
                if self.rows.pop(key, None) is not None:
                    changed.add(key)
                continue
            row = derive(key, *found, now)
            old = self.rows.get(key)
            if old is not None:
                row.heavy = old.heavy
            self.rows[key] = row
            changed.add(key)
        return changed | self._judge(changed)

    def advance(self, now: float, lookup: Lookup) -> set[SessionKey]:
        """Re-derive the rows that are due at ``now``; empty (and no work) when none is."""
        due = [k for k, r in self.rows.items() if r.due <= now]
        if not due:
            return set()
        return self.update(due, lookup, now)

    def next_due(self) -> float:
        """The earliest moment some row changes by itself."""
        return min((r.due for r in self.rows.values()), default=float("inf"))

    def _judge(self, keys: set[SessionKey]) -> set[SessionKey]:
        """Heavy verdicts of ``keys``, and of every working session when the fleet's rates moved."""
        rates = {k: r.burn.usd_per_hour for k, r in self.rows.items() if r.status == WORKING}
        moved = rates != self._working_rates
        self._working_rates = rates
        judge = (set(rates) | keys) if moved else keys
        flipped: set[SessionKey] = set()
        for key in judge:
            row = self.rows.get(key)
            if row is None:
                continue
            working = row.status == WORKING
            others = [r for k, r in rates.items() if k != key] if working else []
            s = row.summary
            verdict = heavy_reasons(s.usage.input + s.usage.output, s.context_pct,
                                    row.burn.usd_per_hour if working else 0.0, others, self.thresholds)
            if verdict != row.heavy:
                row.heavy = verdict
                flipped.add(key)
        return flipped

    # --- the header -------------------------------------------------------------------------

    def stats(self, now: float, series_of: Callable[[SessionKey], CallSeries],
              rows: Iterable[Row] | None = None) -> FleetStats:
        """The header's figures over ``rows`` (default: every session): sessions working now,
        tokens and cost in the last hour and today, the fleet's burn, notices."""
        chosen = list(self.rows.values()) if rows is None else list(rows)
        stats = FleetStats(sessions=len(chosen))
        cut = now - RECENT_SECONDS  # only sessions active in the last two days can count today
        series = []
        unpriced: set[str] = set()
        for r in chosen:
            s = r.summary
            unpriced.update(s.unpriced_models)
            stats.bad_lines += s.bad_lines
            stats.archived += r.archived
            if r.status == WORKING:
                stats.working += 1
            if s.last_activity is not None and s.last_activity >= cut:
                series.append(series_of(r.key))
                stats.busy = stats.busy or now - s.last_activity < BURN_WINDOW_SECONDS
        (stats.hour_tokens, stats.hour_cost), (stats.today_tokens, stats.today_cost), stats.burn = \
            window_totals(series, now)
        stats.unpriced_models = sorted(unpriced)
        return stats


# --- sorting ----------------------------------------------------------------------------------


def sort_value(row: Row, sort_id: str) -> tuple:
    """The key that orders rows by ``sort_id`` (``activity``, ``cost``, ``total``, ``hit``, ``burn``)."""
    s = row.summary
    last = s.last_activity or 0.0
    if sort_id == "activity":
        # Working sessions first, in a stable order (by start), so parallel agents do not
        # swap places every time one of them makes a call; then the rest by last activity.
        rank = STATUS_RANK[row.status]
        if row.status == WORKING:
            return (rank, s.first_activity or last, row.key)
        return (rank, last, row.key)
    if sort_id == "cost":
        primary: float = s.cost
    elif sort_id == "total":
        primary = s.usage.total
    elif sort_id == "hit":
        primary = -1.0 if s.cache_hit_rate is None else s.cache_hit_rate
    else:
        primary = row.burn.usd_per_hour
    return (primary, last, row.key)
