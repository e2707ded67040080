"""Activity over time: session status, burn rates, and windowed totals of the fleet.

Pure Python, no Textual. Everything takes ``now`` explicitly so a UI can run on an
injected clock (tests and snapshots freeze it).

A session's calls are kept as a :class:`CallSeries`: timestamps sorted, with
prefix sums of tokens and cost, so "tokens in the last hour" or "spend in the
last 5 minutes" is two bisections, whatever the session's length. A UI caches one
series per ``Session.version`` and recomputes windows freely.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime

from tokdash.model.store import Session

WORKING_SECONDS = 120.0
"""A session whose last activity is younger than this is *working*."""

OPEN_CALL_GRACE_SECONDS = 600.0
"""A last call without a stop reason keeps a session *working* for up to this long.

A long response (extended thinking, a slow tool) writes nothing for minutes, and
the open call is the only sign of life. Bounded because many Claude Code
versions never write a stop reason at all, and a transcript cut mid-response
must not read as working forever."""

IDLE_SECONDS = 1800.0
"""A session not working but active more recently than this is *idle*; older is *done*."""

BURN_WINDOW_SECONDS = 300.0
"""Burn rates (tokens/min, $/h) are measured over this trailing window."""

FUTURE_SKEW_SECONDS = 300.0
"""Activity dated more than this far after "now" comes from a wrong clock (or a corrupt line):
it makes no session working, and is flagged (see ``clock_skewed``)."""

WORKING, WAITING, IDLE, DONE = "working", "waiting", "idle", "done"
STATUSES = (WORKING, WAITING, IDLE, DONE)
STATUS_RANK = {WORKING: 3, WAITING: 2, IDLE: 1, DONE: 0}
"""Higher is more alive: the default sort puts working sessions first, then those waiting for
their human."""


def clock_skewed(last_activity: float | None, now: float) -> bool:
    """The session's last activity lies in the future beyond any clock drift."""
    return last_activity is not None and last_activity > now + FUTURE_SKEW_SECONDS


def session_status(last_activity: float | None, last_call_open: bool, now: float,
                   waiting_since: float | None = None) -> str:
    """``working``, ``waiting``, ``idle`` or ``done`` for a session last active at ``last_activity``.

    *waiting*: the agent ended its turn (``waiting_since``, nothing after it) less than
    ``IDLE_SECONDS`` ago: it waits for its human. A skewed future timestamp is *done*: a
    clock that runs ahead must not keep a session working for ever.
    """
    if last_activity is None or clock_skewed(last_activity, now):
        return DONE
    age = max(now - last_activity, 0.0)
    if waiting_since is not None:
        return WAITING if age < IDLE_SECONDS else DONE
    if age < WORKING_SECONDS or (last_call_open and age < OPEN_CALL_GRACE_SECONDS):
        return WORKING
    if age < IDLE_SECONDS:
        return IDLE
    return DONE


def next_status_change(last_activity: float | None, last_call_open: bool, now: float,
                       waiting_since: float | None = None) -> float:
    """The next moment ``session_status`` can change on its own (as time passes); inf if never."""
    if last_activity is None:
        return float("inf")
    if clock_skewed(last_activity, now):
        return last_activity - FUTURE_SKEW_SECONDS  # the clock catches up: it may work again
    marks = [IDLE_SECONDS] if waiting_since is not None else [WORKING_SECONDS, IDLE_SECONDS]
    if last_call_open and waiting_since is None:
        marks.append(OPEN_CALL_GRACE_SECONDS)
    future = [last_activity + m for m in marks if last_activity + m > now]
    return min(future) if future else float("inf")


class CallSeries:
    """One session's calls in time order, with prefix sums for windowed totals.

    Calls without a timestamp (0.0) are left out: they cannot fall in any window.
    Costs of unpriced models count as 0 here, as in the session's (lower-bound) cost.
    """

    __slots__ = ("times", "_tokens", "_costs")

    def __init__(self, calls: list[tuple[float, int, float]]) -> None:
        calls = sorted(c for c in calls if c[0])
        self.times: list[float] = [c[0] for c in calls]
        """Call timestamps, ascending (epoch seconds)."""
        tokens = [0]
        costs = [0.0]
        for _ts, tok, cost in calls:
            tokens.append(tokens[-1] + tok)
            costs.append(costs[-1] + cost)
        self._tokens = tokens
        self._costs = costs

    @classmethod
    def of(cls, session: Session, prices) -> CallSeries:
        """Build the series of ``session``, pricing each call with ``prices`` (a PriceBook)."""
        calls = []
        for slot in session.slots.values():
            c = slot.best
            cost = prices.cost(c.model, c.usage, fast=c.fast)
            calls.append((c.timestamp, c.usage.total, cost or 0.0))
        return cls(calls)

    def __len__(self) -> int:
        return len(self.times)

    def window(self, start: float, end: float) -> tuple[int, float]:
        """(tokens, cost) of the calls with ``start < timestamp <= end``."""
        i = bisect_right(self.times, start)
        j = bisect_right(self.times, end)
        if j <= i:
            return 0, 0.0
        return self._tokens[j] - self._tokens[i], self._costs[j] - self._costs[i]

    def first_after(self, t: float) -> float | None:
        """Timestamp of the first call strictly after ``t``, or None."""
        i = bisect_right(self.times, t)
        return self.times[i] if i < len(self.times) else None

    def count_since(self, t: float) -> int:
        """How many calls happened at or after ``t``."""
        return len(self.times) - bisect_left(self.times, t)


@dataclass(frozen=True, slots=True)
class Burn:
    """Spend over the trailing ``BURN_WINDOW_SECONDS``."""

    tokens_per_min: float = 0.0
    usd_per_hour: float = 0.0


NO_BURN = Burn()


def burn(series: CallSeries, now: float, window: float = BURN_WINDOW_SECONDS) -> Burn:
    """Tokens/min and $/h of ``series`` over ``(now - window, now]``."""
    tokens, cost = series.window(now - window, now)
    if not tokens and not cost:
        return NO_BURN
    return Burn(tokens / (window / 60.0), cost * (3600.0 / window))


def day_start(now: float) -> float:
    """Local midnight of the day ``now`` falls in (epoch seconds)."""
    d = datetime.fromtimestamp(now)
    return d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def window_totals(series: list[CallSeries], now: float) -> tuple[tuple[int, float], tuple[int, float], Burn]:
    """((tokens, cost) last hour, (tokens, cost) today, fleet burn) over many sessions' series."""
    h_tok = d_tok = b_tok = 0
    h_cost = d_cost = b_cost = 0.0
    midnight = day_start(now)
    hour_ago = now - 3600.0
    burn_from = now - BURN_WINDOW_SECONDS
    for s in series:
        t, c = s.window(midnight, now)
        d_tok += t
        d_cost += c
        t, c = s.window(hour_ago, now)
        h_tok += t
        h_cost += c
        t, c = s.window(burn_from, now)
        b_tok += t
        b_cost += c
    fleet_burn = Burn(b_tok / (BURN_WINDOW_SECONDS / 60.0), b_cost * (3600.0 / BURN_WINDOW_SECONDS))
    return (h_tok, h_cost), (d_tok, d_cost), fleet_burn
