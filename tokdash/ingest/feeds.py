"""Feeds: where the catalog's data comes from. One interface, two implementations, one policy.

A :class:`Feed` reads transcripts (and, over the index, SQLite) on ONE thread of its
own and answers with :class:`FeedUpdate` values: summaries, call series and
archived flags of the sessions that changed. Everything derived from records --
summaries, series, a session's detail, history facts -- is computed on that
thread, so the UI thread (the single writer of the catalog) only swaps values in.

- :class:`IndexFeed` reads over the persistent index: the stored sessions at once
  (``first_look``), then the bytes added since the last run of any tokdash, then
  live syncs of the files the watcher reports.
- :class:`MemoryFeed` reads every transcript into an in-memory store (``--no-cache``,
  the demo), newest files first, posting what it has every ~100 ms.
- :func:`open_feed` is the policy every caller uses: the index, or memory when the
  index is unusable (:class:`ResilientFeed` switches over by itself, even mid-run,
  and says so once), so neither the dashboard nor a report asks which one it got.

Live methods take an ``emit`` callback, called on the feed's thread with each update
(the app posts it to the UI thread as a message); ``read_once`` answers a one-shot
command with one complete update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Callable
from pathlib import Path

from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import Emit, Feed, FeedUpdate, Warn
from tokdash.ingest.index import IndexUnavailable
from tokdash.ingest.index_feed import IndexFeed
from tokdash.model.pricing import PriceBook
from tokdash.model.store import SessionKey

if TYPE_CHECKING:  # annotations only: a report over the index loads neither the memory feed nor the detail's models
    from tokdash.ingest.memory_feed import MemoryFeed
    from tokdash.model.detail import SessionDetail
    from tokdash.model.history import Fact

__all__ = ["Feed", "FeedUpdate", "IndexFeed", "ResilientFeed", "open_feed"]



class ResilientFeed:
    """The index, or memory when the index is unusable: the one policy of every caller.

    Starts on the index feed; the first time it fails (the data dir is unwritable, the
    disk errs, SQLite cannot open the file) it warns once, switches to a memory feed
    for good and, in a live run, starts that one over (a complete update resets the
    catalog). Every method runs on the feed's thread, so the switch is never raced.

    Args:
        index: Makes the index feed (None: memory from the start, e.g. ``--no-cache``).
        memory: Makes the memory feed.
        warn: Where the one-line notice of a switch goes.
        catch: What counts as "the index is unusable". Reports catch ``IndexUnavailable``
            (anything else is a bug to surface); the dashboard catches any error, since a
            live view must keep going.
    """

    def __init__(self, index: Callable[[], IndexFeed] | None, memory: Callable[[], MemoryFeed], *,
                 warn: Warn, catch: tuple[type[BaseException], ...] = (IndexUnavailable,)) -> None:
        self._make_memory = memory
        self._warn = warn
        self._catch = catch
        self.feed: IndexFeed | MemoryFeed = index() if index is not None else memory()
        """The feed in use."""
        self._live = False
        """Started live (``start``) rather than read once: how a switch catches up."""
        self._behind = False
        """Switched to memory outside ``start``/``read_once``: the memory feed has read nothing yet."""

    @property
    def indexed(self) -> bool:
        """Reading over the index (which tells of unreadable files itself; memory does not)."""
        return isinstance(self.feed, IndexFeed)

    def _switch(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        self._warn(f"tokdash: the index cannot be used ({reason}); reading every transcript instead")
        try:
            self.feed.close()
        except Exception:  # noqa: BLE001 - a broken index may fail to close too
            pass
        self.feed = self._make_memory()
        self._behind = True

    def _catch_up(self, emit: Emit | None = None, recent_since: float | None = None) -> None:
        """After a switch outside a load, read what the index held: once (a report), or the
        live way (``start``, when a live caller gives ``emit``)."""
        if not self._behind:
            return
        if self._live and emit is None:
            return  # a live view catches up on its next refresh or tick, which emits
        self._behind = False
        if self._live:
            self.feed.start(emit, recent_since if recent_since is not None else 0.0)
        else:
            self.feed.read_once()

    def _run(self, name: str, *args, restart: Callable[[], object] | None = None, **kwargs):
        try:
            return getattr(self.feed, name)(*args, **kwargs)
        except self._catch as exc:
            if not self.indexed:
                raise
            self._switch(exc)
            return restart() if restart is not None else getattr(self.feed, name)(*args, **kwargs)

    def read_once(self, recent_since: float | None = None) -> FeedUpdate:
        """See :meth:`Feed.read_once`."""
        self._live, self._behind = False, False
        return self._run("read_once", recent_since, restart=lambda: self._fresh(self.feed.read_once, recent_since))

    def start(self, emit: Emit, recent_since: float) -> None:
        """See :meth:`Feed.start`; after a switch the memory feed starts over."""
        self._live, self._behind = True, False
        self._run("start", emit, recent_since, restart=lambda: self._fresh(self.feed.start, emit, recent_since))

    def _fresh(self, fn: Callable, *args):
        self._behind = False  # this very call reads everything
        return fn(*args)

    def refresh(self, files: list[tuple[str, Path]], emit: Emit, recent_since: float) -> None:
        """See :meth:`Feed.refresh`; after a switch the memory feed reads everything."""
        if self._behind:
            self._catch_up(emit, recent_since)
            return
        self._run("refresh", files, emit, recent_since, restart=lambda: self._catch_up(emit, recent_since))

    def tick(self, emit: Emit, recent_since: float) -> None:
        """See :meth:`Feed.tick`; after a switch the memory feed reads everything first."""
        if self._behind:
            self._catch_up(emit, recent_since)
            return
        self._run("tick", emit, recent_since, restart=lambda: self._catch_up(emit, recent_since))

    def detail(self, key: SessionKey) -> SessionDetail | None:
        """See :meth:`Feed.detail`."""
        return self._run("detail", key, restart=lambda: (self._catch_up(), self.feed.detail(key))[1])

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """See :meth:`Feed.facts`. After a switch in a report, the memory feed reads everything
        first: a history report is never silently empty."""
        self._catch_up()
        return self._run("facts", since, until, restart=lambda: (self._catch_up(), self.feed.facts(since, until))[1])

    def close(self) -> None:
        """See :meth:`Feed.close`."""
        self.feed.close()


def open_feed(roots: Roots, prices: PriceBook, *, cache: bool = True, index_roots: Roots | None = None,
              data_dir: Path | None = None, config_path: Path | None = None, warn: Warn,
              live: bool = False, clock: Callable[[], float] | None = None) -> ResilientFeed:
    """The feed for ``roots`` by the one policy: the index (covering ``index_roots``, default
    ``roots``), or memory with ``cache=False`` or when the index is unusable."""
    agents = list(roots.by_agent)

    def index() -> IndexFeed:
        return IndexFeed(index_roots or roots, prices, agents=agents, data_dir=data_dir,
                         config_path=config_path, warn=warn)

    def memory() -> MemoryFeed:
        from tokdash.ingest.memory_feed import MemoryFeed

        return MemoryFeed(roots, prices, clock=clock)

    catch: tuple[type[BaseException], ...] = (Exception,) if live else (IndexUnavailable,)
    return ResilientFeed(index if cache else None, memory, warn=warn, catch=catch)
