"""The fleet: what every session is doing now (status, burn, heavy), and the header's figures.

Pure Python, no Textual. One :class:`Fleet` holds a :class:`Row` per session:
its summary, its status, its spend rate over the burn window, the heavy
verdict, and *when* any of it next changes on its own as time passes (``due``).
The app keeps one fleet next to its catalog and brings it up to date in two
ways, both O(what changed):

- :meth:`Fleet.update` re-derives the sessions whose data changed;
- :meth:`Fleet.advance` re-derives the rows that are due (a status crossing a
  threshold, a burn window sliding, a "12s ago" turning into "13s ago"): a heap of
  due times hands them over, so a second with nothing due costs nothing, however
  many sessions there are.

The heavy verdict is judged here, once, for the whole fleet: the spend-rate rule
compares a session with the *other* working sessions, so a change in any working
session's rate re-judges the working sessions (a set kept as rows change, never
gathered by a pass over every row), and nobody else recomputes it. The header's
counts are running sums too (:class:`~tokdash.model.fleet_totals.Totals`).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tokdash.format import next_age_change
from tokdash.model.activity import (
    BURN_WINDOW_SECONDS,
    DONE,
    NO_BURN,
    STATUS_RANK,
    WAITING,
    WORKING,
    Burn,
    CallSeries,
    burn,
    clock_skewed,
    next_status_change,
    session_status,
)
from tokdash.model.fleet_totals import RECENT_SECONDS, FleetStats, Totals  # noqa: F401 - RECENT_SECONDS: re-exported
from tokdash.model.heavy import HeavyThresholds, Tripped, heavy_reasons
from tokdash.model.projects import _parts, project_labels
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey

TYPICAL_DRIFT = 0.02
"""The typical session cost (the cost rule's yardstick) may move this much (relative) before
every session is judged again; a smaller drift re-judges only the sessions that changed."""

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
    label: str = ""
    """The project's shortest unique label (``worktrees/2``), among every project of the fleet."""
    skewed: bool = False
    """Its last activity is dated in the future (a wrong clock, or a corrupt line)."""


Lookup = Callable[[SessionKey], "tuple[SessionSummary, CallSeries, bool] | None"]
"""key -> (summary, call series, archived), or None when the session is gone."""


def derive(key: SessionKey, summary: SessionSummary, series: CallSeries, archived: bool, now: float) -> Row:
    """The row of one session at ``now``, heavy verdict aside (it needs the whole fleet)."""
    s = summary
    status = session_status(s.last_activity, s.open, now, s.waiting_since)
    b = NO_BURN
    due = next_status_change(s.last_activity, s.open, now, s.waiting_since)
    if s.last_activity is not None and not clock_skewed(s.last_activity, now):
        age = max(now - s.last_activity, 0.0)
        due = min(due, now + next_age_change(age))
        if age < BURN_WINDOW_SECONDS:
            b = burn(series, now)
            due = min(due, now + TICK_SECONDS)  # the window slides: calls age out of it
    haystack = " ".join((s.agent, s.project, s.title, " ".join(s.models), s.session_id,
                         s.git_branch or "", ARCHIVED if archived else "")).lower()
    return Row(key, s, status, b, due=due, haystack=haystack, archived=archived,
               skewed=clock_skewed(s.last_activity, now))


_ABSENT = object()
HEAP_SLACK = 64
"""The due heap is compacted once it holds this many more entries than twice the rows."""


class Fleet:
    """A row per session, kept up to date incrementally; the heavy verdict over the whole fleet."""

    def __init__(self, thresholds: HeavyThresholds | None = None) -> None:
        self.thresholds = thresholds or HeavyThresholds()
        """When a session counts as heavy."""
        self.rows: dict[SessionKey, Row] = {}
        """Every session's row."""
        self.totals = Totals()
        """The header's counts over every row, kept as rows change."""
        self._working_rates: dict[SessionKey, float] = {}
        """Working sessions -> their $/h (the rate rule's fleet), kept as rows change."""
        self._rates_moved = False
        """Some working session's rate changed (or one started or stopped working) since the last judging."""
        self._costs: list[float] = []
        """Every session's cost, ascending (the history the cost rule compares with)."""
        self._cost_of: dict[SessionKey, float] = {}
        self._typical: float | None = None
        self._members: dict[str, dict[SessionKey, None]] = {}
        """Project path -> the sessions that ran there."""
        self._named: dict[str, set[str]] = {}
        """Last folder name -> the projects ending in it: only these can share a label."""
        self._renamed: set[str] = set()
        """Last folder names whose projects came or went since the labels were computed."""
        self._labels: dict[str, str] = {}
        self._due: list[tuple[float, int, SessionKey]] = []
        """(due, sequence, key) of every row with a finite due time; an entry is current while
        its sequence is the key's in ``_due_seq`` (older ones are skipped when popped)."""
        self._due_seq: dict[SessionKey, int] = {}
        self._seq = 0

    def row(self, key: SessionKey) -> Row | None:
        """The row of ``key``, if it is in the fleet."""
        return self.rows.get(key)

    def label(self, project: str) -> str:
        """The shortest unique label of a project path among the fleet's projects."""
        return self._labels.get(project) or project_labels([project]).get(project, "?")

    def typical_cost(self, key: SessionKey | None = None) -> float | None:
        """The median cost of the fleet's sessions other than ``key`` (None without any)."""
        costs = self._costs
        mine = self._cost_of.get(key) if key is not None else None
        n = len(costs) - (mine is not None)
        if n <= 0:
            return None
        if mine is None:
            return costs[n // 2] if n % 2 else (costs[n // 2 - 1] + costs[n // 2]) / 2
        skip = bisect_left(costs, mine)

        def at(i: int) -> float:  # the i-th cost of the others
            return costs[i + 1] if i >= skip else costs[i]

        return at(n // 2) if n % 2 else (at(n // 2 - 1) + at(n // 2)) / 2

    def update(self, keys: Iterable[SessionKey], lookup: Lookup, now: float) -> set[SessionKey]:
        """Re-derive ``keys`` (their data changed); returns every row that changed, labels and
        heavy verdicts that moved elsewhere in the fleet included."""
        changed: set[SessionKey] = set()
        rates = self._working_rates
        for key in keys:
            found = lookup(key)
            old = self.rows.get(key)
            rate_before = rates.get(key, _ABSENT)
            if old is not None:
                self._forget(key, old)
            if found is not None:
                row = derive(key, *found, now)
                if old is not None:
                    row.heavy = old.heavy
                self.rows[key] = row
                self._remember(key, row, now)
            if old is not None or found is not None:
                changed.add(key)
            if rates.get(key, _ABSENT) != rate_before:
                self._rates_moved = True
        changed |= self._relabel()
        return changed | self._judge(changed)

    def advance(self, now: float, lookup: Lookup) -> set[SessionKey]:
        """Re-derive the rows that are due at ``now``; empty (and no work) when none is."""
        heap, current = self._due, self._due_seq
        due: list[SessionKey] = []
        while heap and heap[0][0] <= now:
            _when, seq, key = heapq.heappop(heap)
            if current.get(key) == seq:
                del current[key]
                due.append(key)
        if not due:
            return set()
        return self.update(due, lookup, now)

    def next_due(self) -> float:
        """The earliest moment some row changes by itself."""
        heap, current = self._due, self._due_seq
        while heap and current.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return heap[0][0] if heap else float("inf")

    def stats(self, now: float, series_of: Callable[[SessionKey], CallSeries],
              rows: Iterable[Row] | None = None) -> FleetStats:
        """The header's figures over ``rows`` (default: every session, from the running sums):
        sessions working now, tokens and cost in the last hour and today, the fleet's burn, notices."""
        totals = self.totals if rows is None else Totals(rows, now)
        return totals.stats(now, series_of)

    # --- bookkeeping of the fleet-wide yardsticks ----------------------------------------------

    def _remember(self, key: SessionKey, row: Row, now: float) -> None:
        cost = row.summary.cost
        insort(self._costs, cost)
        self._cost_of[key] = cost
        project = row.summary.project
        members = self._members.get(project)
        if members is None:
            members = self._members[project] = {}
            name = _last_name(project)
            self._named.setdefault(name, set()).add(project)
            self._renamed.add(name)
        members[key] = None
        row.label = self._labels.get(project, "")
        if row.status == WORKING:
            self._working_rates[key] = row.burn.usd_per_hour
        self.totals.add(row, now)
        if row.due < float("inf"):  # (never due: not in the heap; NaN is never due either)
            self._seq += 1
            self._due_seq[key] = self._seq
            heapq.heappush(self._due, (row.due, self._seq, key))
            if len(self._due) > 2 * len(self.rows) + HEAP_SLACK:
                self._compact_due()

    def _forget(self, key: SessionKey, row: Row) -> None:
        cost = self._cost_of.pop(key, None)
        if cost is not None:
            i = bisect_left(self._costs, cost)
            if i < len(self._costs) and self._costs[i] == cost:
                del self._costs[i]
        project = row.summary.project
        members = self._members.get(project)
        if members is not None:
            members.pop(key, None)
            if not members:
                del self._members[project]
                self._labels.pop(project, None)
                name = _last_name(project)
                self._named[name].discard(project)
                self._renamed.add(name)
        self._working_rates.pop(key, None)
        self.totals.remove(row)
        self._due_seq.pop(key, None)
        del self.rows[key]

    def _compact_due(self) -> None:
        """Drop the heap's outdated entries (each re-derivation leaves one behind)."""
        current = self._due_seq
        self._due = [e for e in self._due if current.get(e[2]) == e[1]]
        heapq.heapify(self._due)

    def _relabel(self) -> set[SessionKey]:
        """Labels again of the projects whose last folder name some project came with or left;
        rows whose label moved. (A label is the shortest unique tail of a path: paths ending in
        different names never share one, so the labels of the others cannot move.)"""
        if not self._renamed:
            return set()
        renamed, self._renamed = self._renamed, set()
        moved = set()
        for name in renamed:
            projects = self._named.get(name, set())
            labels = project_labels(projects)
            for project, label in labels.items():
                if self._labels.get(project) == label:
                    continue
                self._labels[project] = label
                for key in self._members[project]:
                    row = self.rows[key]
                    if row.label != label:
                        row.label = label
                        moved.add(key)
            if not projects:
                del self._named[name]
        return moved

    def _judge(self, keys: set[SessionKey]) -> set[SessionKey]:
        """Heavy verdicts of ``keys``; of every working session when the fleet's rates moved; of
        every session when the typical cost drifted."""
        rates = self._working_rates
        judge = set(keys)
        if self._rates_moved:
            # Sessions that stopped working are among ``keys`` (their row changed).
            judge |= rates.keys()
            self._rates_moved = False
        typical = self.typical_cost()
        old = self._typical
        if (typical is None) != (old is None) or (
                typical is not None and old is not None and abs(typical - old) > TYPICAL_DRIFT * max(old, 1e-9)):
            self._typical = typical
            judge = set(self.rows)
        history = len(self.rows) - 1
        flipped: set[SessionKey] = set()
        for key in judge:
            row = self.rows.get(key)
            if row is None:
                continue
            working = row.status == WORKING
            verdict = heavy_reasons(
                row.summary, self.thresholds,
                rate=row.burn.usd_per_hour if working else 0.0,
                other_rates=[r for k, r in rates.items() if k != key] if working else (),
                typical_cost=self.typical_cost(key), history=history, live=row.status != DONE)
            if verdict != row.heavy:
                row.heavy = verdict
                flipped.add(key)
        return flipped


def _last_name(project: str) -> str:
    """The last folder name of a project path ("" for a path of none), as labels split it."""
    parts = _parts(project)
    return parts[-1] if parts else ""


# --- sorting ----------------------------------------------------------------------------------


def _num(row: Row, value: float | None) -> tuple:
    """A numeric sort key; rows without a value sort below every number."""
    return (value is not None, value if value is not None else 0.0, row.summary.last_activity or 0.0, row.key)


SORT_KEYS: dict[str, Callable[[Row], tuple]] = {
    "agent": lambda r: (r.summary.agent, r.label, r.key),
    "project": lambda r: (r.label.lower(), r.summary.project, r.key),
    "title": lambda r: (r.summary.title.lower(), r.key),
    "models": lambda r: (",".join(r.summary.models), r.key),
    "turns": lambda r: _num(r, r.summary.assistant_turns),
    "per_prompt": lambda r: _num(r, r.summary.turns_per_prompt),
    "tools": lambda r: _num(r, r.summary.tool_use_count),
    "input": lambda r: _num(r, r.summary.usage.input),
    "output": lambda r: _num(r, r.summary.usage.output),
    "cache_write": lambda r: _num(r, r.summary.usage.cache_write),
    "cache_read": lambda r: _num(r, r.summary.usage.cache_read),
    "total": lambda r: _num(r, r.summary.usage.total),
    "hit": lambda r: _num(r, r.summary.cache_hit_rate),
    "ctx": lambda r: _num(r, r.summary.context_pct),
    "cost": lambda r: _num(r, r.summary.cost),
    "burn": lambda r: _num(r, r.burn.usd_per_hour),
    "last": lambda r: _num(r, r.summary.last_activity),
    "duration": lambda r: _num(r, r.summary.duration),
    "heavy": lambda r: (len(r.heavy), r.summary.cost, r.key),
}
"""Sort key of every sortable column (besides ``status``, the default order)."""


def sort_value(row: Row, sort_id: str) -> tuple:
    """The key that orders rows by ``sort_id``: ``status`` (the default: working, then waiting
    for their human, then the rest by last activity) or any key of :data:`SORT_KEYS`."""
    if sort_id in SORT_KEYS:
        return SORT_KEYS[sort_id](row)
    s = row.summary
    last = s.last_activity or 0.0
    # Working sessions first, in a stable order (by start), so parallel agents do not swap
    # places every time one of them makes a call; then those waiting for their human (the
    # longest wait first); then the rest by their last activity.
    rank = STATUS_RANK[row.status]
    if row.status == WORKING:
        return (rank, s.first_activity or last, row.key)
    if row.status == WAITING:
        return (rank, -(s.waiting_since or last), row.key)
    return (rank, last, row.key)
