"""The sessions screen's order: which rows its table shows, kept up to date, built afresh when asked.

:class:`OrderedRows` is the half of :class:`~tokdash.ui.screens.sessions.SessionsScreen`
that owns its :class:`~tokdash.model.fleet_order.FleetOrder`: rows that changed are
placed again (a bisect each) and the table is told which rows to make again; a new
order (a sort key, a filter keystroke, grouping) is built at once for up to
:data:`INLINE_ROWS` sessions, beyond on a worker thread from a snapshot of the rows,
then brought up to date with what changed meanwhile and shown (a result no longer
wanted is dropped). :class:`TableRows` is that order as the table reads it.
"""

from __future__ import annotations

from textual import work
from textual.worker import get_current_worker

from tokdash.model.fleet import Row
from tokdash.model.fleet_order import Cancelled, FleetOrder, OrderParams
from tokdash.model.store import SessionKey
from tokdash.ui.widgets.session_rows import group_spec, row_key, session_spec
from tokdash.ui.widgets.sessions_table import RowSpec, SessionsTable

INLINE_ROWS = 5_000
"""Up to this many sessions a new order is computed at once on the UI thread (a few ms);
beyond, on a worker thread."""


def _item(rk: str) -> SessionKey | str | None:
    """A table row key as the order names it: a session's key, or a group's project."""
    if rk.startswith("group:"):
        return rk[6:]
    agent, sep, sid = rk.partition(":")
    return (agent, sid) if sep else None


class TableRows:
    """An order as the table reads it: row keys (``agent:sid``, ``group:<project>``) by position."""

    def __init__(self, order: FleetOrder) -> None:
        self.order = order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int) -> str:
        item = self.order.item(index)
        return f"group:{item}" if isinstance(item, str) else row_key(item)

    def __contains__(self, rk: object) -> bool:
        item = _item(rk) if isinstance(rk, str) else None
        return item is not None and item in self.order

    def index(self, rk: str) -> int:
        """The position of row ``rk``; ValueError when it is not shown."""
        item = _item(rk)
        if item is None:
            raise ValueError(rk)
        return self.order.index(item)


class OrderedRows:
    """The order half of the sessions screen (a mixin: the screen holds the filters, the sort,
    the catalog and the state named in its ``__init__``)."""

    def params(self) -> OrderParams:
        """What the table is asked to show: the filters, the sort, the grouping."""
        return OrderParams("project" if self.sort_key == "name" else self.sort_key, self.descending,
                           self.filter_text.lower().strip(), self.only_working, self.grouped)

    @property
    def order_pending(self) -> bool:
        """A worker is building the order asked for (the table shows the previous one)."""
        return self._build_dirty is not None

    def visible(self) -> list[Row]:
        """Sessions that pass the filters, in display order (groups aside)."""
        order = self._order
        return [order.row(item) for item in order if not isinstance(item, str)]  # type: ignore[misc]

    def _spec_of(self, rk: str) -> RowSpec | None:
        """The spec of row ``rk`` now (the table asks when it draws the row)."""
        if rk.startswith("group:"):
            project = rk[6:]
            members = self._order.members(project)
            return group_spec(project, members) if members else None
        agent, _, sid = rk.partition(":")
        row = self.catalog.fleet.rows.get((agent, sid))
        if row is None:
            return None
        return session_spec(row, self.catalog.clock(), self.catalog.fleet.thresholds.context_share)

    def _sync_rows(self, changed) -> None:
        """Place the rows that changed again and let the table make them again."""
        if self._build_dirty is not None:
            self._build_dirty |= changed
        groups = self._order.update(changed, self.catalog.fleet.rows, self.catalog.clock())
        stale = [row_key(k) for k in changed] + [f"group:{p}" for p in groups]
        self.query_one(SessionsTable).sync({}, self._rows, stale=stale, restyle=self._restyle)
        self._restyle = False
        self._update_empty()

    def _rebuild(self) -> None:
        """Build the order asked for: at once when the fleet is small, else on a worker."""
        self._build_gen += 1
        params = self.params()
        rows = list(self.catalog.fleet.rows.values())  # a snapshot (a C-level copy)
        if len(rows) <= INLINE_ROWS:
            self._build_dirty = None
            self._install(FleetOrder.build(rows, params, self.catalog.clock()))
        else:
            self._build_dirty = set()
            self._build_order(self._build_gen, rows, params, self.catalog.clock())

    # A description, or Textual would make one of the arguments' reprs: 50,000 rows, seconds.
    @work(thread=True, exclusive=True, group="order", exit_on_error=False, name="table order",
          description="table order")
    def _build_order(self, gen: int, rows: list[Row], params: OrderParams, now: float) -> None:
        worker = get_current_worker()
        try:
            order = FleetOrder.build(rows, params, now,
                                     cancelled=lambda: worker.is_cancelled or gen != self._build_gen)
        except Cancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._built, gen, order)

    def _built(self, gen: int, order: FleetOrder) -> None:
        """A worker's order arrived: bring it up to date with what changed meanwhile, show it."""
        if gen != self._build_gen or self._build_dirty is None:
            return  # another order was asked for since
        dirty, self._build_dirty = self._build_dirty, None
        order.update(dirty, self.catalog.fleet.rows, self.catalog.clock())
        self._install(order)
        self._update_header(force=True)

    def _install(self, order: FleetOrder) -> None:
        """Show ``order`` (group rows are summed again: their members may differ)."""
        self._order = order
        self._rows = TableRows(order)
        groups = [f"group:{project}" for project in order.groups()]
        table = self.query_one(SessionsTable)
        table.sync({}, self._rows, stale=groups, restyle=self._restyle)
        self._restyle = False
        if self._jump is not None and self._jump in order:
            table.pinned = False
            table.move_to(row_key(self._jump))
            self._jump = None
        self._update_empty()
