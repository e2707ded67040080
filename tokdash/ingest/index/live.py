"""What a long-lived index (a dashboard's) keeps between syncs, so a sync costs what is new.

A report runs one sync and exits; a dashboard syncs a few files several times a second.
Reading every file row, loading every touched session's records, and looking at every
known file again on each of those would make each sync cost the whole history. So an
:class:`~tokdash.ingest.index.Index` made with ``live=True`` keeps, between syncs:

- the ``files`` rows as last written (where each file's reading stopped);
- the sessions its syncs loaded, with all their records, in an ``IndexStore`` that
  is told after each commit that what it holds is what is stored (``IndexStore.settled``);
  it is let go when it grows past ``STORE_RECORDS`` (the next sync loads what it needs);
- the run's prices while the price fingerprint holds, and every session's archived flag.

All of it is what this connection wrote. When another connection has committed since
(``PRAGMA data_version`` moved: a report or the status line synced first), or a write
failed, it is all dropped and read again, so a sync never works from a stale copy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace

from tokdash.ingest.index.prices import _Prices
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.tables import FileRow
from tokdash.model.store import SessionKey

STORE_RECORDS = 60_000
"""A kept store holding more calls and events than this is let go after its sync (a first
build loads every session: that one is never kept)."""


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes when another connection commits (not when this one does)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


@dataclass
class Live:
    """The state kept between the syncs of one long-lived index (see the module's docstring)."""

    version: int | None = None
    """``data_version`` when the state below was last known to be what is stored."""
    rows: dict[str, FileRow] | None = None
    forgotten: set[str] | None = None
    store: IndexStore | None = None
    prices: _Prices | None = None
    price_fp: str | None = None
    archived: set[SessionKey] | None = None
    others_wrote: bool = True
    """The last :meth:`check` found another connection's commit (or had nothing to compare)."""
    _dirty: bool = field(default=False, repr=False)

    def check(self, conn: sqlite3.Connection) -> bool:
        """Inside a transaction: whether the kept state is still current; drops it when not."""
        now = data_version(conn)
        current = now == self.version and not self._dirty
        if not current:
            self.drop()
            self.version = now
        self.others_wrote = not current
        return current

    def drop(self) -> None:
        """Forget everything kept (it is read again from the index)."""
        self.rows = self.forgotten = self.store = self.prices = self.price_fp = self.archived = None
        self._dirty = False

    def failed(self) -> None:
        """A write did not commit: what is kept may differ from what is stored."""
        self._dirty = True

    def committing(self, written: list[FileRow], gone: set[str], dropped: set[str], store: IndexStore,
                   prices: _Prices, price_fp: str, archived: set[SessionKey]) -> None:
        """An update is about to commit these writes: keep what the index will hold after it.
        (If the commit fails, :meth:`failed` follows and all of it is dropped.)"""
        rows = self.rows
        if rows is not None:
            for path in dropped:
                rows.pop(path, None)
            for row in written:
                rows[row.path] = row
            for path in gone:
                if path in rows:
                    rows[path] = replace(rows[path], gone=True)
        records = sum(len(s.slots) + len(s.events) for s in store.sessions.values())
        if records > STORE_RECORDS:
            self.store = None
        else:
            store.settled(store._db)  # type: ignore[arg-type]
            self.store = store
        prices.resolved.clear()  # stored by this write
        self.prices, self.price_fp = prices, price_fp
        self.archived = set(archived)
