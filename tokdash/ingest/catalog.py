"""The session catalog: the single-writer state every screen reads, and the one way to open it.

:class:`SessionCatalog` holds what is known about every session -- its summary,
its call series when it is recent, whether it is archived, the fleet's rows
(status, burn, heavy) -- and nothing that needs I/O to answer. Feeds compute those
values on their own thread; the owner of the catalog (the app's UI thread, or a
one-shot command) takes them in with :meth:`SessionCatalog.apply`. Screens read it
through :class:`CatalogView`, a protocol with no Textual in it, so a screen never
needs the app, and the app never asks which feed it has.

:func:`open_catalog` is what reports and the status line use: one complete read
through :func:`~tokdash.ingest.feeds.open_feed` (the index, or memory when the
index is unusable), the same policy as the dashboard's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import FeedUpdate, Warn
from tokdash.ingest.feeds import ResilientFeed, open_feed
from tokdash.model.activity import BURN_WINDOW_SECONDS, CallSeries
from tokdash.model.fleet import Fleet, FleetStats, Row
from tokdash.model.heavy import HeavyThresholds
from tokdash.model.pricing import PriceBook
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey

if TYPE_CHECKING:  # annotations only: a report does not load the detail's and history's models
    from tokdash.model.detail import SessionDetail
    from tokdash.model.history import Fact

EMPTY_SERIES = CallSeries([])


def _now() -> float:
    return time.time()  # looked up at each call: tests patch time.time


@dataclass(frozen=True, slots=True)
class Changes:
    """What one :meth:`SessionCatalog.apply` (or a tick) changed."""

    sessions: frozenset[SessionKey] = frozenset()
    """Sessions whose data (summary, series, archived flag) changed or that came or went."""
    rows: frozenset[SessionKey] = frozenset()
    """Sessions whose row (status, burn, heavy, age) reads differently now; includes ``sessions``."""
    state: bool = False
    """The loading state (progress, note, pending records) changed."""
    details: frozenset[SessionKey] = frozenset()
    """Sessions whose detail (costs, tips) arrived."""

    def __bool__(self) -> bool:
        return bool(self.sessions or self.rows or self.state or self.details)

    def __or__(self, other: Changes) -> Changes:
        return Changes(self.sessions | other.sessions, self.rows | other.rows, self.state or other.state,
                       self.details | other.details)


class CatalogView(Protocol):
    """What a screen may read. Implemented by :class:`SessionCatalog`; no Textual here."""

    tz: tzinfo | None
    loading: bool
    load_progress: tuple[int, int]
    load_note: str | None
    load_seconds: float | None
    records_pending: bool
    looked_in: list[str]
    problems: list[str]
    fleet: Fleet
    gauges: list
    windows: list
    notices: list[str]

    def clock(self) -> float: ...
    def keys(self) -> list[SessionKey]: ...
    def has(self, key: SessionKey) -> bool: ...
    def summary(self, key: SessionKey) -> SessionSummary: ...
    def series(self, key: SessionKey) -> CallSeries: ...
    def is_archived(self, key: SessionKey) -> bool: ...
    def version(self, key: SessionKey) -> int: ...
    def row(self, key: SessionKey) -> Row | None: ...
    def stats(self, rows: Iterable[Row] | None = None) -> FleetStats: ...
    def detail(self, key: SessionKey) -> SessionDetail | None: ...
    def want_detail(self, key: SessionKey) -> None: ...
    def history_facts(self, since: float, until: float) -> Awaitable[list[Fact]]: ...


async def _no_facts(_since: float, _until: float) -> list[Fact]:
    return []


class SessionCatalog:
    """Every session known, as the feed last told it; written by one thread only.

    Args:
        clock: Now, in epoch seconds (tests and snapshots pass a frozen clock).
        thresholds: When a session counts as heavy.
        tz: Time zone of the History screen's days (None: local time).
        looked_in: Human lines naming every folder read (for the empty state).
        problems: Folders that exist but cannot be read.
        want_detail: Asks the owner to fetch a session's detail (off the UI thread).
        facts: Fetches history facts (off the UI thread).
    """

    def __init__(self, *, clock: Callable[[], float] | None = None, thresholds: HeavyThresholds | None = None,
                 tz: tzinfo | None = None, looked_in: Iterable[str] = (), problems: Iterable[str] = (),
                 want_detail: Callable[[SessionKey], None] | None = None,
                 facts: Callable[[float, float], Awaitable[list[Fact]]] | None = None) -> None:
        self.clock: Callable[[], float] = clock or _now
        self.tz = tz
        """Time zone of the History screen (None: local time)."""
        self.looked_in = list(looked_in)
        self.problems = list(problems)
        self.fleet = Fleet(thresholds)
        """A row per session: status, burn, heavy over the fleet."""
        self.loading = True
        """True until the initial load has finished."""
        self.load_progress: tuple[int, int] = (0, 0)
        """(files read, files to read) of the initial load."""
        self.load_note: str | None = None
        """What the initial load is doing, when it says more than "loading transcripts"."""
        self.load_seconds: float | None = None
        """How long the initial load took."""
        self.records_pending = False
        """Recent sessions' call series are still on their way (over the index)."""
        self.archived: frozenset[SessionKey] = frozenset()
        """Sessions whose transcript files are all gone (known from the index only)."""
        self.gauges: list = []
        """The header's plan-window and budget gauges (``tokdash.model.alerts.Segment``)."""
        self.windows: list = []
        """Plan windows in force (``tokdash.model.limits.PlanWindow``), official or estimated."""
        self.notices: list[str] = []
        """Files a source could not read this time (a locked database), one line each."""
        self.unreadable: dict[str, str] = {}
        """Files and folders that exist but could not be read this time, path -> why."""
        self.budgets: list = []
        """Every configured budget with its spend (``tokdash.model.budget.BudgetStatus``)."""
        self._summaries: dict[SessionKey, SessionSummary] = {}
        self._series: dict[SessionKey, CallSeries] = {}
        self._versions: dict[SessionKey, int] = {}
        self._details: dict[SessionKey, tuple[int, SessionDetail]] = {}
        self._want_detail = want_detail
        self._facts = facts or _no_facts

    def unreadable_lines(self, most: int = 5) -> list[str]:
        """The files that could not be read this time, one line each (at most ``most``, then
        how many more): a session in one of them is missing from the totals until it reads."""
        items = sorted(self.unreadable.items())
        lines = [f"could not read {path}: {why}" for path, why in items[:most]]
        if len(items) > most:
            lines.append(f"… and {len(items) - most} more files that could not be read")
        return lines

    def unreadable_notice(self) -> str | None:
        """One header line for the files that could not be read, or None."""
        if not self.unreadable:
            return None
        n = len(self.unreadable)
        first = min(self.unreadable)
        return (f"could not read {first}: {self.unreadable[first]}" if n == 1
                else f"{n} files could not be read (first {first}: {self.unreadable[first]})")

    # --- writing (the owner's thread only) ---------------------------------------------------

    def apply(self, update: FeedUpdate) -> Changes:
        """Take in what a feed learnt; returns what changed."""
        changed: set[SessionKey] = set()
        if update.complete:
            gone = set(self._summaries) - update.summaries.keys()
            changed |= gone
            for key in gone:
                self._drop(key)
        for key in update.removed:
            if key in self._summaries:
                self._drop(key)
                changed.add(key)
        for key, s in update.summaries.items():
            self._summaries[key] = s
            changed.add(key)
        for key, series in update.series.items():
            if key in self._summaries:
                self._series[key] = series
                changed.add(key)
        if update.archived is not None:
            archived = frozenset(k for k in update.archived if k in self._summaries)
            changed |= archived ^ self.archived
            self.archived = archived
        for key in changed:
            self._versions[key] = self._versions.get(key, 0) + 1
        state = self._apply_state(update)
        if update.unreadable is not None and update.unreadable != self.unreadable:
            self.unreadable = dict(update.unreadable)
            state = True
        rows = self.fleet.update(changed, self._lookup, self.clock()) if changed else set()
        return Changes(frozenset(changed), frozenset(rows | changed), state)

    def slices(self, update: FeedUpdate, size: int) -> list[FeedUpdate]:
        """``update`` as consecutive updates of at most ``size`` sessions each, for an owner that
        takes in a first load of 50,000 sessions a slice per turn of its loop.

        Applied in turn, starting now (before any other update), they leave the catalog as
        ``update`` applied whole: a complete update's sessions gone (and its removals) go
        first, with its progress and note; each session's series rides with its summary; the
        archived set, the unreadable files and the end of the load come last. Heavy verdicts
        are judged slice by slice, as for sessions arriving one by one (the fleet's drift rule)."""
        if len(update.summaries) <= size:
            return [update]
        removed = set(update.removed)
        if update.complete:
            removed |= self._summaries.keys() - update.summaries.keys()
        keys = list(update.summaries)
        parts = [FeedUpdate({k: update.summaries[k] for k in chunk},
                            {k: update.series[k] for k in chunk if k in update.series})
                 for chunk in (keys[i: i + size] for i in range(0, len(keys), size))]
        first, last = parts[0], parts[-1]
        first.removed = removed
        first.series.update((k, s) for k, s in update.series.items() if k not in update.summaries)
        first.progress, first.note = update.progress, update.note
        last.archived, last.unreadable = update.archived, update.unreadable
        last.loaded, last.seconds, last.pending = update.loaded, update.seconds, update.pending
        return parts

    def _apply_state(self, update: FeedUpdate) -> bool:
        before = (self.loading, self.load_progress, self.load_note, self.records_pending)
        if update.progress is not None:
            self.load_progress = update.progress
        if update.note is not None:
            self.load_note = update.note or None
        if update.loaded:
            self.loading = False
            self.load_note = None
            if update.seconds is not None:
                self.load_seconds = update.seconds
        if update.pending is not None:
            self.records_pending = update.pending
        return before != (self.loading, self.load_progress, self.load_note, self.records_pending)

    def advance(self) -> Changes:
        """Bring the rows that are due up to date (time passing); no work when none is."""
        rows = self.fleet.advance(self.clock(), self._lookup)
        return Changes(rows=frozenset(rows)) if rows else Changes()

    def set_limits(self, gauges: list, windows: list, notices: list[str], budgets: list | None = None) -> Changes:
        """Take in the gauges, plan windows, notices and budget statuses the owner read; a change
        of state when any of them moved."""
        new = (list(gauges), list(windows), list(notices), list(budgets or []))
        if new == (self.gauges, self.windows, self.notices, self.budgets):
            return Changes()
        self.gauges, self.windows, self.notices, self.budgets = new
        return Changes(state=True)

    def set_detail(self, key: SessionKey, version: int, detail: SessionDetail | None) -> None:
        """Keep a detail the owner fetched for ``key`` at ``version``."""
        if detail is None:
            self._details.pop(key, None)
        else:
            self._details[key] = (version, detail)

    def _drop(self, key: SessionKey) -> None:
        self._summaries.pop(key, None)
        self._series.pop(key, None)
        self._details.pop(key, None)

    def _lookup(self, key: SessionKey) -> tuple[SessionSummary, CallSeries, bool] | None:
        s = self._summaries.get(key)
        if s is None:
            return None
        return s, self._series.get(key, EMPTY_SERIES), key in self.archived

    # --- reading ---------------------------------------------------------------------------

    def keys(self) -> list[SessionKey]:
        """Every session: (agent, session id)."""
        return list(self._summaries)

    def summaries(self) -> list[SessionSummary]:
        """Every session's summary."""
        return list(self._summaries.values())

    def has(self, key: SessionKey) -> bool:
        """Is ``key`` a known session?"""
        return key in self._summaries

    def summary(self, key: SessionKey) -> SessionSummary:
        """Every number of one session. KeyError if unknown."""
        return self._summaries[key]

    def series(self, key: SessionKey) -> CallSeries:
        """The session's calls with running sums (windows, burn); empty when it is not recent
        or its records have not arrived. KeyError if unknown."""
        if key not in self._summaries:
            raise KeyError(key)
        return self._series.get(key, EMPTY_SERIES)

    def is_archived(self, key: SessionKey) -> bool:
        """Every transcript file of ``key`` is gone; its numbers come from the index."""
        return key in self.archived

    def version(self, key: SessionKey) -> int:
        """Bumped on every change of ``key`` (a screen redraws only when it moved)."""
        return self._versions.get(key, 0)

    def bad_lines(self) -> int:
        """Transcript lines that did not decode, over every session."""
        return sum(s.bad_lines for s in self._summaries.values())

    def row(self, key: SessionKey) -> Row | None:
        """The fleet's row of ``key`` (status, burn, heavy)."""
        return self.fleet.row(key)

    def stats(self, rows: Iterable[Row] | None = None) -> FleetStats:
        """The header's figures over ``rows`` (default: every session)."""
        return self.fleet.stats(self.clock(), self.series, rows)

    def detail(self, key: SessionKey) -> SessionDetail | None:
        """The detail of ``key`` as last fetched for its current version; None while it is on
        its way (see :meth:`want_detail`)."""
        hit = self._details.get(key)
        if hit is None or hit[0] != self.version(key):
            return None
        return hit[1]

    def want_detail(self, key: SessionKey) -> None:
        """Ask for ``key``'s detail; the owner fetches it and announces ``key`` changed."""
        if self._want_detail is not None and self.has(key):
            self._want_detail(key)

    def history_facts(self, since: float, until: float) -> Awaitable[list[Fact]]:
        """Usage per session, model and quarter hour in ``[since, until)`` of the sessions shown."""
        return self._facts(since, until)


# --- one-shot commands --------------------------------------------------------------------------


@dataclass
class OpenCatalog:
    """A catalog read once for a report, with the feed that can answer history questions."""

    catalog: SessionCatalog
    feed: ResilientFeed
    closed: bool = field(default=False)

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """History facts of the sessions read (see :meth:`Feed.facts`)."""
        return self.feed.facts(since, until)

    def close(self) -> None:
        """Let go of the index (its last connection folds the WAL into the database file)."""
        if not self.closed:
            self.closed = True
            self.feed.close()


def open_catalog(roots: Roots, prices: PriceBook, *, cache: bool = True, index_roots: Roots | None = None,
                 config_path: Path | None = None, warn: Warn, thresholds: HeavyThresholds | None = None,
                 clock: Callable[[], float] | None = None, series: bool = True) -> OpenCatalog:
    """Every session under ``roots``, read once: from the index, or in memory with
    ``cache=False`` or when the index is unusable (one line through ``warn`` then).

    ``series``: also read the calls of the sessions active within the burn window, which the
    spend-rate rule of the heavy verdict needs (a status line that only counts working
    sessions goes without, and stays fast)."""
    feed = open_feed(roots, prices, cache=cache, index_roots=index_roots, config_path=config_path, warn=warn,
                     clock=clock)
    catalog = SessionCatalog(clock=clock, thresholds=thresholds, looked_in=roots.describe(), problems=roots.problems)
    try:
        # Series of the sessions active within the burn window: the spend-rate rule needs them.
        catalog.apply(feed.read_once(catalog.clock() - BURN_WINDOW_SECONDS if series else None))
    except BaseException:
        feed.close()
        raise
    return OpenCatalog(catalog, feed)
