"""Which sessions a table shows, and in which order: filters, a sort and project groups.

A :class:`FleetOrder` is built once from every row (:meth:`FleetOrder.build`, a pure
function of a list of rows, so it can run off the UI thread when the fleet is
large) and then kept up to date by the rows that change (:meth:`FleetOrder.update`:
a bisect per row, O(log n)): a tick that re-derives a few rows never re-sorts the
fleet. It answers what a virtual table asks -- how many rows, which one is at a
position, at which position a row is -- without a list of every row being built.

Every sort value ends with the session's key, so no two rows tie: the descending
order is exactly the ascending one read backwards. Grouped by project, a group
takes the place of its first member (in the order shown) and lists its members in
that order. The rows shown also keep running sums (:class:`Totals`), for a header
that follows the filter.

Pure Python, no Textual.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from tokdash.model.activity import WORKING
from tokdash.model.fleet import Row, sort_value
from tokdash.model.fleet_totals import Totals
from tokdash.model.store import SessionKey

Item = SessionKey | str
"""What a position holds: a session's key, or (grouped) a project path, for its group's row."""

BULK_SHARE = 16
"""An update touching more than one row in this many re-sorts once instead of a bisect per row
(inserting into a long list moves its tail: many inserts cost more than one merge)."""
CANCEL_EVERY = 4096
"""A build checks whether it is still wanted every this many rows."""


class Cancelled(Exception):
    """A build that nobody wants any more stopped early."""


@dataclass(frozen=True, slots=True)
class OrderParams:
    """What a table shows: which rows (filters) in which order (sort, groups)."""

    sort_id: str = "status"
    """A :func:`~tokdash.model.fleet.sort_value` id."""
    descending: bool = True
    needle: str = ""
    """Lower-cased text a row's haystack must contain ("" shows every row)."""
    only_working: bool = False
    grouped: bool = False

    @property
    def filtered(self) -> bool:
        """Some rows may be left out."""
        return bool(self.needle or self.only_working)

    def passes(self, row: Row) -> bool:
        """Does ``row`` show?"""
        return (not self.only_working or row.status == WORKING) and (not self.needle or self.needle in row.haystack)


class FleetOrder:
    """The rows shown and their order, kept up to date row by row (see the module's text)."""

    def __init__(self, params: OrderParams) -> None:
        self.params = params
        self._entries: list[tuple] = []
        """Sort values of the rows shown, ascending (each ends with the row's key)."""
        self._value: dict[SessionKey, tuple] = {}
        """Shown row -> its sort value (the entry to find when it changes)."""
        self._rows: dict[SessionKey, Row] = {}
        """Shown row -> the row object it was placed with."""
        self.totals = Totals()
        """Running sums of the rows shown (the header of a filtered table)."""
        self._groups: dict[str, list[tuple]] = {}
        """Grouped: project -> its shown members' sort values, ascending."""
        self._group_keys: dict[str, list[SessionKey]] = {}
        """Grouped: project -> the same members' keys, in the same order (copied at C speed)."""
        self._best: dict[str, tuple] = {}
        """Grouped: project -> the sort value of its first member as shown."""
        self._ranks: list[tuple[tuple, str]] = []
        """Grouped: (best member's value, project), ascending."""
        self._items: list[Item] | None = None
        """Grouped: every position's item, built when first asked after a change."""

    # --- building and keeping up to date ---------------------------------------------------

    @classmethod
    def build(cls, rows: Iterable[Row], params: OrderParams, now: float,
              cancelled: Callable[[], bool] | None = None) -> FleetOrder:
        """The order of ``rows`` (a list the caller owns: this may run on another thread).
        Raises :class:`Cancelled` when ``cancelled()`` turns true meanwhile."""
        order = cls(params)
        passes, sort_id = params.passes, params.sort_id
        values, shown = order._value, order._rows
        for i, row in enumerate(rows):
            if cancelled is not None and i % CANCEL_EVERY == 0 and cancelled():
                raise Cancelled
            if passes(row):
                values[row.key] = sort_value(row, sort_id)
                shown[row.key] = row
        order._entries = sorted(values.values())
        order.totals = Totals(shown.values(), now)
        if params.grouped:
            groups = order._groups
            for value in order._entries:  # ascending, so every group's list is too
                groups.setdefault(shown[value[-1]].summary.project, []).append(value)
            for project, members in groups.items():
                order._group_keys[project] = [v[-1] for v in members]
                order._best[project] = members[-1] if params.descending else members[0]
            order._ranks = sorted((best, project) for project, best in order._best.items())
        return order

    def update(self, keys: Iterable[SessionKey], rows: Mapping[SessionKey, Row], now: float) -> set[str]:
        """Place ``keys`` again from ``rows`` (their rows changed, came or went); returns the
        projects whose group changed (grouped; else empty)."""
        keys = list(keys)
        params = self.params
        bulk = len(keys) * BULK_SHARE > len(self._entries) + 64
        gone: set[SessionKey] = set()
        added: list[tuple] = []
        touched: set[str] = set()
        for key in keys:
            old = self._value.pop(key, None)
            if old is not None:
                row = self._rows.pop(key)
                self.totals.remove(row)
                if bulk:
                    gone.add(key)
                else:
                    del self._entries[bisect_left(self._entries, old)]
                if params.grouped:
                    self._leave(row.summary.project, old)
                    touched.add(row.summary.project)
            row = rows.get(key)
            if row is not None and params.passes(row):
                value = sort_value(row, params.sort_id)
                self._value[key] = value
                self._rows[key] = row
                self.totals.add(row, now)
                if bulk:
                    added.append(value)
                else:
                    insort(self._entries, value)
                if params.grouped:
                    self._join(row.summary.project, value)
                    touched.add(row.summary.project)
        if bulk and (gone or added):
            # A value that went and came back is in both: keep what _value holds now.
            entries = [e for e in self._entries if e[-1] not in gone] if gone else self._entries
            entries.extend(added)
            entries.sort()  # one sorted run and a tail: a merge, not a full sort
            self._entries = entries
        if touched:
            self._items = None
        for project in touched:
            self._rerank(project)
        return touched

    def _leave(self, project: str, value: tuple) -> None:
        members = self._groups[project]
        i = bisect_left(members, value)
        del members[i]
        del self._group_keys[project][i]

    def _join(self, project: str, value: tuple) -> None:
        members = self._groups.setdefault(project, [])
        i = bisect_left(members, value)
        members.insert(i, value)
        self._group_keys.setdefault(project, []).insert(i, value[-1])

    def _rerank(self, project: str) -> None:
        members = self._groups.get(project)
        if not members:  # (a member may have come and gone in one update)
            self._groups.pop(project, None)
            self._group_keys.pop(project, None)
        best = (members[-1] if self.params.descending else members[0]) if members else None
        old = self._best.get(project)
        if best == old:
            return
        if old is not None:
            del self._ranks[bisect_left(self._ranks, (old, project))]
            del self._best[project]
        if best is not None:
            self._best[project] = best
            insort(self._ranks, (best, project))

    # --- what a table asks --------------------------------------------------------------------

    def __len__(self) -> int:
        if self.params.grouped:
            return len(self._entries) + len(self._groups)
        return len(self._entries)

    def item(self, index: int) -> Item:
        """What position ``index`` shows (IndexError past the end)."""
        if self.params.grouped:
            return self._grouped()[index]
        n = len(self._entries)
        if not -n <= index < n:
            raise IndexError(index)
        if index < 0:
            index += n
        return self._entries[n - 1 - index if self.params.descending else index][-1]

    def index(self, item: Item) -> int:
        """The position of ``item``; ValueError when it is not shown."""
        if self.params.grouped:
            if item not in self:
                raise ValueError(item)
            return self._grouped().index(item)
        value = self._value.get(item)  # type: ignore[arg-type]
        if value is None:
            raise ValueError(item)
        i = bisect_left(self._entries, value)
        return len(self._entries) - 1 - i if self.params.descending else i

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return self.params.grouped and item in self._groups
        return item in self._value

    def __iter__(self) -> Iterator[Item]:
        if self.params.grouped:
            return iter(self._grouped())
        entries = reversed(self._entries) if self.params.descending else iter(self._entries)
        return (value[-1] for value in entries)

    def row(self, key: SessionKey) -> Row | None:
        """The row ``key`` was placed with, if it shows."""
        return self._rows.get(key)

    def groups(self) -> list[str]:
        """Grouped: the projects with a group row (in no particular order)."""
        return list(self._groups)

    def members(self, project: str) -> list[Row]:
        """Grouped: the rows of ``project``'s group, in the order shown."""
        values = self._groups.get(project, [])
        return [self._rows[v[-1]] for v in (reversed(values) if self.params.descending else values)]

    def _grouped(self) -> list[Item]:
        if self._items is None:
            descending = self.params.descending
            items: list[Item] = []
            for _best, project in (reversed(self._ranks) if descending else self._ranks):
                items.append(project)
                keys = self._group_keys[project]
                items.extend(reversed(keys) if descending else keys)
            self._items = items
        return self._items
