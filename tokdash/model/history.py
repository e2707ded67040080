"""History: spend grouped by day, ISO week, month, project or model.

Pure functions over *facts*: the usage of one or more API calls of one session
and one model at one moment. The index hands over facts already summed per
15-minute bucket (every time zone in use is a whole number of quarter hours from
UTC, so a bucket never straddles a local midnight); the in-memory path hands over
one fact per call. Either way each call is grouped by its *own* timestamp, so a
session that runs past midnight splits across two days.

The rows returned here are what the report prints and what a History screen
draws: ``HistoryRow.session_keys`` are the sessions behind a bar or a row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from tokdash.model.records import Usage

GROUPINGS = ("daily", "weekly", "monthly", "projects", "models")
"""The ways history can be grouped (the report's sub-commands)."""
PERIODS = ("daily", "weekly", "monthly")
BUCKET_SECONDS = 900
"""Facts may be pre-summed per bucket of this size (UTC-aligned quarter hours)."""
UNKNOWN_PERIOD = "unknown"
"""Label of calls whose line had no timestamp."""
PICO = 10**12
"""Costs are summed as integer pico-dollars, so a total does not depend on the order
(or the pre-summing) of the calls it adds up; one call's cost is exact to 1e-12 USD."""

SessionKey = tuple[str, str]


@dataclass(slots=True)
class Fact:
    """Usage of ``calls`` API calls of one session and one model at ``ts`` (or in the bucket starting at ``ts``)."""

    ts: float
    """Epoch seconds (UTC); 0 when the lines had no timestamp."""
    agent: str
    session_id: str
    model: str
    usage: Usage
    calls: int = 1
    cost_pico: int = 0
    """USD of the priced calls among them, in pico-dollars (see ``to_pico``)."""
    unpriced_calls: int = 0
    """Calls whose model has no known price (their cost is missing from ``cost_pico``)."""

    @property
    def session_key(self) -> SessionKey:
        """(agent, session_id)."""
        return (self.agent, self.session_id)


@dataclass(slots=True)
class SessionInfo:
    """What history needs to know about a session: where it ran."""

    project: str
    project_name: str


@dataclass(slots=True)
class HistoryRow:
    """One day, week, month, project or model."""

    key: str
    """``2026-03-02``, ``2026-W10``, ``2026-03``, a project path or a model id."""
    label: str
    """What a person reads: the key, or a project's short name."""
    start: date | None = None
    """First day of a period (None for projects, models and the unknown period)."""
    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    cost_pico: int = 0
    session_keys: set[SessionKey] = field(default_factory=set)
    model_tokens: Counter = field(default_factory=Counter)
    unpriced: set[str] = field(default_factory=set)

    @property
    def cost(self) -> float:
        """USD of the priced calls."""
        return self.cost_pico / PICO

    @property
    def sessions(self) -> int:
        """Distinct sessions with calls in this row."""
        return len(self.session_keys)

    @property
    def models(self) -> list[str]:
        """Models used, most tokens first (ties by name)."""
        return [m for m, _ in sorted(self.model_tokens.items(), key=lambda kv: (-kv[1], kv[0]))]

    def add(self, fact: Fact) -> None:
        """Count one fact into this row."""
        self.usage.add(fact.usage)
        self.calls += fact.calls
        self.cost_pico += fact.cost_pico
        self.session_keys.add(fact.session_key)
        self.model_tokens[fact.model] += fact.usage.total
        if fact.unpriced_calls:
            self.unpriced.add(fact.model)

    def to_json(self, grouping: str) -> dict:
        """The report's JSON object. Field names are a contract for scripts: keep them stable."""
        head: dict = {"period": self.key} if grouping in PERIODS else {"key": self.key}
        if grouping in PERIODS:
            head["start"] = self.start.isoformat() if self.start else None
        if grouping == "projects":
            head["project_name"] = self.label
        return head | _usage_json(self.usage, self.calls, self.cost_pico, self.unpriced) | {
            "sessions": self.sessions,
            "models": self.models,
        }


def to_pico(cost: float | None) -> int:
    """One call's USD as integer pico-dollars (0 for an unpriced call)."""
    return round(cost * PICO) if cost else 0


def _usage_json(u: Usage, calls: int, cost_pico: int, unpriced: set[str]) -> dict:
    return {
        "input_tokens": u.input,
        "output_tokens": u.output,
        "reasoning_tokens": u.reasoning,
        "cache_write_tokens": u.cache_write,
        "cache_write_5m_tokens": u.cache_write_5m,
        "cache_write_1h_tokens": u.cache_write_1h,
        "cache_read_tokens": u.cache_read,
        "total_tokens": u.total,
        "web_searches": u.web_search,
        "api_calls": calls,
        "cost_usd": round(cost_pico / PICO, 6),
        "cost_partial": bool(unpriced),
        "unpriced_models": sorted(unpriced),
    }


def period_of(ts: float, grouping: str, tz: tzinfo | None = None) -> tuple[str, date | None]:
    """(label, first day) of the day, ISO week (Monday first) or month holding ``ts``.

    ``tz`` None means the local time zone of this machine.
    """
    if ts <= 0:
        return UNKNOWN_PERIOD, None
    day = datetime.fromtimestamp(ts, tz).date()
    if grouping == "daily":
        return day.isoformat(), day
    if grouping == "weekly":
        year, week, weekday = day.isocalendar()
        return f"{year}-W{week:02d}", day - timedelta(days=weekday - 1)
    if grouping == "monthly":
        return f"{day.year}-{day.month:02d}", day.replace(day=1)
    raise ValueError(f"not a period grouping: {grouping!r}")


def filter_facts(
    facts: Iterable[Fact],
    sessions: dict[SessionKey, SessionInfo],
    *,
    agent: str = "all",
    since: float | None = None,
    until: float | None = None,
    project: str | None = None,
) -> Iterable[Fact]:
    """Facts of ``agent`` in [since, until) whose session's project path or name contains ``project``.

    With ``since`` or ``until`` set, calls without a timestamp are left out.
    """
    needle = project.lower() if project else None
    for f in facts:
        if agent != "all" and f.agent != agent:
            continue
        if since is not None and (f.ts <= 0 or f.ts < since):
            continue
        if until is not None and (f.ts <= 0 or f.ts >= until):
            continue
        if needle:
            info = sessions.get(f.session_key)
            if info is None or (needle not in info.project.lower() and needle not in info.project_name.lower()):
                continue
        yield f


def group(
    facts: Iterable[Fact],
    grouping: str,
    sessions: dict[SessionKey, SessionInfo],
    tz: tzinfo | None = None,
) -> list[HistoryRow]:
    """Group facts into rows: periods oldest first (unknown last); projects and models costliest first."""
    rows: dict[str, HistoryRow] = {}
    key_of = _key_function(grouping, sessions, tz)
    for f in facts:
        key, label, start = key_of(f)
        row = rows.get(key)
        if row is None:
            row = rows[key] = HistoryRow(key, label, start)
        row.add(f)
    out = list(rows.values())
    if grouping in PERIODS:
        out.sort(key=lambda r: (r.start is None, r.start or date.min, r.key))
    else:
        out.sort(key=lambda r: (-r.cost_pico, -r.usage.total, r.key))
    return out


def _key_function(
    grouping: str, sessions: dict[SessionKey, SessionInfo], tz: tzinfo | None
) -> Callable[[Fact], tuple[str, str, date | None]]:
    if grouping in PERIODS:
        cache: dict[float, tuple[str, str, date | None]] = {}

        def by_period(f: Fact) -> tuple[str, str, date | None]:
            hit = cache.get(f.ts)
            if hit is None:
                label, start = period_of(f.ts, grouping, tz)
                hit = cache[f.ts] = (label, label, start)
            return hit

        return by_period
    if grouping == "projects":

        def by_project(f: Fact) -> tuple[str, str, date | None]:
            info = sessions.get(f.session_key)
            if info is None:
                return "", "?", None
            return info.project, info.project_name, None

        return by_project
    if grouping == "models":
        return lambda f: (f.model, f.model, None)
    raise ValueError(f"unknown grouping: {grouping!r} (one of {', '.join(GROUPINGS)})")


def history_json(rows: list[HistoryRow], grouping: str) -> dict:
    """``{"rows": [...], "totals": {...}}`` for scripts."""
    total = Usage()
    calls = 0
    cost = 0
    keys: set[SessionKey] = set()
    models: Counter = Counter()
    unpriced: set[str] = set()
    for r in rows:
        total.add(r.usage)
        calls += r.calls
        cost += r.cost_pico
        keys |= r.session_keys
        models.update(r.model_tokens)
        unpriced |= r.unpriced
    totals = _usage_json(total, calls, cost, unpriced) | {
        "sessions": len(keys),
        "models": [m for m, _ in sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))],
    }
    return {"rows": [r.to_json(grouping) for r in rows], "totals": totals}


def facts_from_sessions(sessions, prices) -> list[Fact]:
    """One fact per deduplicated call of in-memory ``Session`` objects (the path without the index).

    ``prices`` is a ``PriceBook`` (anything with ``cost``).
    """
    out: list[Fact] = []
    for s in sessions:
        for slot in s.slots.values():
            c = slot.best
            cost = prices.cost(c.model, c.usage, fast=c.fast)
            out.append(
                Fact(c.timestamp, s.agent, s.session_id, c.model, c.usage.copy(), 1,
                     to_pico(cost), 1 if cost is None else 0)
            )
    return out


def bucket_of(ts: float) -> float:
    """The start of the UTC-aligned quarter hour holding ``ts`` (0 stays 0)."""
    return float(int(ts // BUCKET_SECONDS) * BUCKET_SECONDS) if ts > 0 else 0.0


# --- a window of days, for a UI ---------------------------------------------------------------


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[float, float]:
    """[start, end) of a calendar day in ``tz`` (None: local time), as epoch seconds."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return start.timestamp(), end.timestamp()


def bucket_facts(facts: Iterable[Fact]) -> list[Fact]:
    """Facts summed per (quarter hour, session, model), as the index hands them over.

    Grouping is per bucket afterwards, so the result groups exactly like the input
    (costs are integers: the sums do not depend on the order)."""
    out: dict[tuple[float, str, str, str], Fact] = {}
    for f in facts:
        b = bucket_of(f.ts)
        k = (b, f.agent, f.session_id, f.model)
        acc = out.get(k)
        if acc is None:
            out[k] = Fact(b, f.agent, f.session_id, f.model, f.usage.copy(), f.calls, f.cost_pico, f.unpriced_calls)
        else:
            acc.usage.add(f.usage)
            acc.calls += f.calls
            acc.cost_pico += f.cost_pico
            acc.unpriced_calls += f.unpriced_calls
    return list(out.values())


@dataclass(slots=True)
class HistoryWindow:
    """What a History view shows for ``days`` calendar days from ``first_day``."""

    first_day: date
    days: list[HistoryRow]
    """One row per day, oldest first; a day without calls has an empty row."""
    projects: list[HistoryRow]
    """Per project, costliest first."""
    models: list[HistoryRow]
    """Per model, costliest first."""
    total: HistoryRow
    """Everything in the window."""

    @property
    def last_day(self) -> date:
        """The window's last day."""
        return self.first_day + timedelta(days=len(self.days) - 1)


def history_window(
    facts: Iterable[Fact],
    sessions: dict[SessionKey, SessionInfo],
    first_day: date,
    days: int,
    tz: tzinfo | None = None,
) -> HistoryWindow:
    """Spend per day (every day of the window, empty ones too), per project and per model.

    Only facts in ``[first_day, first_day + days)`` (local days in ``tz``) count; calls
    without a timestamp never fall in a window.
    """
    since = day_bounds(first_day, tz)[0]
    until = day_bounds(first_day + timedelta(days=days - 1), tz)[1]
    inside = [f for f in facts if f.ts > 0 and since <= f.ts < until]
    by_day = {r.key: r for r in group(inside, "daily", sessions, tz)}
    rows = []
    for i in range(days):
        d = first_day + timedelta(days=i)
        rows.append(by_day.get(d.isoformat()) or HistoryRow(d.isoformat(), d.isoformat(), d))
    total = HistoryRow("total", "total")
    for f in inside:
        total.add(f)
    return HistoryWindow(first_day, rows, group(inside, "projects", sessions, tz), group(inside, "models", sessions, tz),
                         total)


def sessions_of(
    facts: Iterable[Fact],
    grouping: str,
    key: str,
    sessions: dict[SessionKey, SessionInfo],
    tz: tzinfo | None = None,
) -> list[tuple[SessionKey, HistoryRow]]:
    """The sessions behind one row of ``group(facts, grouping, ...)`` (the row keyed ``key``),
    each with its own share of that row's usage and cost; costliest first."""
    key_of = _key_function(grouping, sessions, tz)
    rows: dict[SessionKey, HistoryRow] = {}
    for f in facts:
        if key_of(f)[0] != key:
            continue
        row = rows.get(f.session_key)
        if row is None:
            row = rows[f.session_key] = HistoryRow(f"{f.agent}:{f.session_id}", f.session_id)
        row.add(f)
    return sorted(rows.items(), key=lambda kv: (-kv[1].cost_pico, -kv[1].usage.total, kv[0]))
