"""The header's figures (:class:`FleetStats`), kept as running sums of a set of rows.

Counting working sessions, unreadable lines or unpriced models is a pass over every
row; :class:`Totals` keeps those counts up to date as rows come, change and go, and
remembers which rows were active recently: only those can have calls in the
header's windows (last hour, today, the last 24 h, burn), so :meth:`Totals.stats`
costs what the recent rows cost, however many sessions the history holds.

Pure Python, no Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from tokdash.model.activity import BURN_WINDOW_SECONDS, NO_BURN, WAITING, WORKING, Burn, CallSeries, window_totals
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey


class Row(Protocol):
    """What the sums read of a fleet row (``tokdash.model.fleet.Row``)."""

    key: SessionKey
    summary: SessionSummary
    status: str
    archived: bool

RECENT_SECONDS = 2 * 86400.0
"""Sessions active this recently can have calls in the header's "last hour" and "today"
windows (a day in any time zone fits in two): their call series are kept."""
RECENT_MARGIN = 86400.0
"""Rows this much older than the windows are still kept among the recent ones: a clock set
back a little (NTP, a test) finds them there."""


@dataclass(slots=True)
class FleetStats:
    """What the header strip shows about every session at once."""

    sessions: int = 0
    working: int = 0
    waiting: int = 0
    hour_tokens: int = 0
    hour_cost: float = 0.0
    today_tokens: int = 0
    today_cost: float = 0.0
    day_tokens: int = 0
    """Tokens of the last 24 hours."""
    day_cost: float = 0.0
    burn: Burn = NO_BURN
    unpriced_models: list[str] = field(default_factory=list)
    bad_lines: int = 0
    archived: int = 0
    busy: bool = False
    """Some session spent within the burn window (the header's windows slide faster)."""


class Totals:
    """Running sums of a set of rows (the whole fleet, or the rows a filter shows).

    :meth:`add` and :meth:`remove` take the very row objects (a row's figures never
    change once derived; a changed session is a new row: remove the old, add the new).
    """

    __slots__ = ("sessions", "working", "waiting", "bad_lines", "archived", "_unpriced", "_recent")

    def __init__(self, rows: Iterable[Row] = (), now: float = 0.0) -> None:
        self.sessions = 0
        self.working = 0
        self.waiting = 0
        self.bad_lines = 0
        self.archived = 0
        self._unpriced: dict[str, int] = {}
        """Unpriced model -> how many rows name it."""
        self._recent: dict[SessionKey, Row] = {}
        """Rows recently active when added, in the order they were added (the order the sums
        of the windows are taken in, as a pass over the fleet's rows would)."""
        for row in rows:
            self.add(row, now)

    def add(self, row: Row, now: float) -> None:
        """Count ``row`` in (derived at ``now``)."""
        s = row.summary
        self.sessions += 1
        self.working += row.status == WORKING
        self.waiting += row.status == WAITING
        self.bad_lines += s.bad_lines
        self.archived += row.archived
        for model in s.unpriced_models:
            self._unpriced[model] = self._unpriced.get(model, 0) + 1
        # Time moves on: a row this old can only count again as a new row (a changed session).
        if s.last_activity is not None and s.last_activity >= now - RECENT_SECONDS - RECENT_MARGIN:
            self._recent[row.key] = row

    def remove(self, row: Row) -> None:
        """Count ``row`` out (the object :meth:`add` was given)."""
        s = row.summary
        self.sessions -= 1
        self.working -= row.status == WORKING
        self.waiting -= row.status == WAITING
        self.bad_lines -= s.bad_lines
        self.archived -= row.archived
        for model in s.unpriced_models:
            left = self._unpriced[model] - 1
            if left:
                self._unpriced[model] = left
            else:
                del self._unpriced[model]
        if self._recent.get(row.key) is row:
            del self._recent[row.key]

    def stats(self, now: float, series_of: Callable[[SessionKey], CallSeries]) -> FleetStats:
        """The header's figures at ``now``: the counts, and the windows over the recent rows."""
        stats = FleetStats(sessions=self.sessions, working=self.working, waiting=self.waiting,
                           bad_lines=self.bad_lines, archived=self.archived, unpriced_models=sorted(self._unpriced))
        cut = now - RECENT_SECONDS  # only sessions active in the last two days can count today
        series = []
        for key, r in self._recent.items():
            last = r.summary.last_activity
            if last is not None and last >= cut:
                series.append(series_of(key))
                stats.busy = stats.busy or now - last < BURN_WINDOW_SECONDS
        (stats.hour_tokens, stats.hour_cost), (stats.today_tokens, stats.today_cost), stats.burn = \
            window_totals(series, now)
        for one in series:
            tokens, cost = one.window(now - 86400.0, now)
            stats.day_tokens += tokens
            stats.day_cost += cost
        return stats
