"""The tokdash app: the single writer of what screens read, its readers, and the screens over them.

Two ways to read, one writer (the UI thread):

**Over the persistent index** (the default). An *index thread* -- one thread, so
one ``Index`` and one SQLite connection, as the index requires -- does every
SQLite and transcript read (:class:`~tokdash.ui.index_feed.IndexFeed`); async
workers on the UI thread await it and apply its answers:

1. At launch, every session's stored summary (``first_look``): the whole table,
   archived sessions included, before a single transcript is read.
2. Then a sync of the bytes added since the last run of any tokdash, and the
   records (calls, events) of the sessions active in the last two days, which the
   header's windows and burn rates need, newest first. A session drilled into has
   its records loaded on demand.
3. Then, live: each batch of files the watcher reports is synced; the sessions whose
   stored summary changed (by this process or another tokdash) are applied.

**In memory** (``--no-cache``, the demo, or when the index cannot be used at all):
a thread worker reads transcript files (``Loader.read_file``) newest first and
posts :class:`BatchesRead` every ~100 ms; the UI thread merges them into the store
(``Loader.merge``). The watcher's files and, every ~2 s, the unterminated tails
that stopped growing are read the same way. One lock serialises file reads (the
readers share one ``Reader``, whose per-file offsets are not thread-safe).

Either way the app then posts :class:`SessionsChanged` to every screen, and each
screen refreshes what it shows for those sessions. Screens read sessions through
:meth:`TokdashApp.keys`, :meth:`~TokdashApp.summary`, :meth:`~TokdashApp.session`
and :meth:`~TokdashApp.series`, the same in both modes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tokdash.ingest.discovery import Roots, discover, resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.ingest.watcher import TAIL_SETTLE_SECONDS, Watcher, settled_tails
from tokdash.model.activity import (
    WORKING,
    CallSeries,
    burn,
    session_status,
)
from tokdash.model.heavy import HeavyConfigError, HeavyThresholds, Tripped, heavy_reasons, load_heavy_config
from tokdash.model.history import Fact, bucket_facts, facts_from_sessions
from tokdash.model.pricing import PriceBook, PriceConfigError, default_config_path, load_config_prices
from tokdash.model.records import Batch
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import Session, SessionKey, Store
from tokdash.sources import SOURCES
from tokdash.ui.index_feed import IndexFeed, IndexUpdate
from tokdash.ui.messages import BatchesRead, HistoryLoaded, IndexProgressed, IndexWarned, SessionsChanged

FIRST_POST_SECONDS = 0.03
"""The first batch of the initial load is posted this soon: the newest sessions show at once."""
POST_SECONDS = 0.1
"""Later batches of the initial load are posted this often (the UI merges ~10 per second)."""
TAIL_CHECK_SECONDS = 2.0
"""How often unterminated last lines are checked for having settled (in-memory mode)."""
NO_ROOTS_RETRY_SECONDS = 5.0
"""With no folder to watch yet, look again this often (a first agent run creates one)."""
RECENT_SECONDS = 2 * 86400.0
"""Sessions active this recently have their records in memory: the header's "last hour" and
"today" and the burn rates add up their calls (a day in any time zone fits in two)."""
RECORDS_CHUNK = 8
"""Recent sessions' records are loaded from the index this many at a time (newest first)."""
EMPTY_SERIES = CallSeries([])


def absolute(roots: Roots) -> Roots:
    """A copy of ``roots`` with absolute paths (the index names files absolutely)."""
    return Roots({a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()},
                 list(roots.problems))


class TokdashApp(App[int]):
    """The live dashboard of what AI coding agents spend, per session.

    Args:
        roots: Where to read transcripts from (the agents shown).
        clock: Returns "now" in epoch seconds; ``time.time`` by default. Tests and
            snapshots pass a frozen clock. File-settling checks always use the
            real time, since they compare with file modification times.
        watch: Follow the files live (watcher + tail checks). Off for snapshots.
        background_load: Read at start-up on workers. Off when the caller seeds the
            app synchronously (see :meth:`load_sync`).
        prices: A price book; by default the bundled table plus the config file's
            overrides. When one is given, the index prices without the config file too.
        heavy: Heavy-session thresholds; by default the config file's ``[heavy]`` table.
        cache: Start from the persistent index (see the module docstring); False reads
            every transcript into memory, as ``--no-cache`` does.
        index_roots: The roots the index covers (default ``roots``). The command line
            passes every agent's roots, as reports do, so all share one index.
        data_dir: Where the index lives (default: the platform data dir).
        tz: Time zone of the History screen's days (None: this machine's local time).
    """

    CSS_PATH = "tokdash.tcss"
    TITLE = "tokdash"

    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit tokdash"),
    ]

    def __init__(
        self,
        roots: Roots,
        *,
        clock: Callable[[], float] | None = None,
        watch: bool = True,
        background_load: bool = True,
        prices: PriceBook | None = None,
        heavy: HeavyThresholds | None = None,
        cache: bool = True,
        index_roots: Roots | None = None,
        data_dir: Path | None = None,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__()
        self.roots = absolute(roots) if cache else roots
        """The folders read (and watched)."""
        self.agents = set(roots.by_agent)
        """The agents shown (the index may hold others)."""
        self.clock: Callable[[], float] = clock or time.time
        """Now, in epoch seconds (injectable)."""
        self.tz = tz
        """Time zone of the History screen (None: local time)."""
        self.store = Store()
        """In memory: every session, deduplicated. Over the index: the sessions whose records
        are loaded (recent ones, and those drilled into). Written only on the UI thread."""
        self.loader = Loader(self.roots, self.store)
        self._watch_enabled = watch
        self._background_load = background_load
        self._notes: list[tuple[str, str]] = []
        """(message, severity) to show once mounted: config problems found while starting."""
        for problem in roots.problems:
            self._notes.append((problem, "warning"))
        self._config_ok = True
        self.prices = prices if prices is not None else self._load_prices()
        """Prices of every model (a PriceBook)."""
        self.heavy_thresholds = heavy if heavy is not None else self._load_heavy()
        """When a session counts as heavy."""
        self.indexed = cache
        """Reading over the persistent index (False: in memory, by choice or after a fallback)."""
        self.loading = background_load
        """True until the initial load (or, over the index, the initial sync) has finished."""
        self.load_progress: tuple[int, int] = (0, 0)
        """(files read, files found) of the initial load."""
        self.load_note: str | None = None
        """What the initial load is doing, for the header (over the index)."""
        self.history_seconds: float | None = None
        """How long the initial load took."""
        self.archived: set[SessionKey] = set()
        """Sessions whose transcript files are all gone (known from the index only)."""
        self._catalog: dict[SessionKey, SessionSummary] = {}
        """Over the index: every session's summary, as the index computed it."""
        self._wanted: set[SessionKey] = set()
        """Sessions whose records were asked of the index and have not arrived."""
        self._index_roots = absolute(index_roots or roots)
        self._data_dir = data_dir
        self._index_config = default_config_path() if prices is None and self._config_ok else None
        self._feed: IndexFeed | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._warned: set[str] = set()
        self._read_lock = threading.Lock()
        self._stop = asyncio.Event()
        self._summaries: dict[SessionKey, tuple[int, SessionSummary]] = {}
        self._series: dict[SessionKey, tuple[int, CallSeries]] = {}
        self._facts: dict[SessionKey, tuple[int, list[Fact]]] = {}
        self._tails_tried: dict[str, tuple[int, float]] = {}

    # --- configuration ----------------------------------------------------------

    def _load_prices(self) -> PriceBook:
        at = datetime.fromtimestamp(self.clock(), UTC)
        try:
            overrides = load_config_prices(default_config_path())
        except PriceConfigError as exc:
            # A broken config must not stop the dashboard: use the bundled table and say so.
            self._notes.append((f"Price overrides ignored: {exc}", "error"))
            self._config_ok = False
            overrides = {}
        return PriceBook(overrides, at=at)

    def _load_heavy(self) -> HeavyThresholds:
        try:
            return load_heavy_config(default_config_path())
        except HeavyConfigError as exc:
            self._notes.append((f"Heavy-session thresholds ignored: {exc}", "error"))
            return HeavyThresholds()

    # --- what screens read ------------------------------------------------------

    def keys(self) -> list[SessionKey]:
        """Every session shown: (agent, session id)."""
        if self.indexed:
            return list(self._catalog)
        return list(self.store.sessions)

    def has(self, key: SessionKey) -> bool:
        """Is ``key`` a session shown?"""
        return key in self._catalog if self.indexed else key in self.store.sessions

    def session(self, key: SessionKey) -> Session | None:
        """The session's records (calls, events), or None while they are not loaded (see
        :meth:`want_records`) or when the session is unknown."""
        return self.store.sessions.get(key)

    def is_archived(self, key: SessionKey) -> bool:
        """Every transcript file of ``key`` is gone; its numbers come from the index."""
        return key in self.archived

    def summary(self, key: SessionKey) -> SessionSummary:
        """Every number of one session. KeyError if unknown.

        Over the index, the summary the index computed (off the UI thread); in memory,
        computed here and cached per ``Session.version``.
        """
        if self.indexed:
            return self._catalog[key]
        session = self.store.sessions[key]
        hit = self._summaries.get(key)
        if hit is not None and hit[0] == session.version:
            return hit[1]
        s = summarize(session, self.prices)
        self._summaries[key] = (session.version, s)
        return s

    def series(self, key: SessionKey) -> CallSeries:
        """The session's calls in time order with running sums (windowed totals, burn rate).

        Empty while the session's records are not loaded. KeyError if unknown.
        """
        session = self.store.sessions.get(key)
        if session is None:
            if self.has(key):
                return EMPTY_SERIES
            raise KeyError(key)
        hit = self._series.get(key)
        if hit is not None and hit[0] == session.version:
            return hit[1]
        s = CallSeries.of(session, self.prices)
        self._series[key] = (session.version, s)
        return s

    def bad_lines(self) -> int:
        """Transcript lines that did not decode, over every session shown."""
        if self.indexed:
            return sum(s.bad_lines for s in self._catalog.values())
        return sum(self.store.bad_lines.values())

    @property
    def records_pending(self) -> bool:
        """Some sessions' records were asked of the index and have not arrived yet."""
        return bool(self._wanted)

    def want_records(self, key: SessionKey) -> None:
        """Load ``key``'s records from the index (for the detail screen); a no-op if they are
        loaded, asked for already, or the app reads in memory. ``SessionsChanged`` follows."""
        if not self.indexed or key in self.store.sessions or key in self._wanted or not self.has(key):
            return
        self._wanted.add(key)
        self._load_records([key])

    def heavy(self, key: SessionKey) -> tuple[Tripped, ...]:
        """Which heavy-session thresholds ``key`` trips now (empty: not heavy).

        The same rule the sessions table applies: tokens, context share, and spend
        rate against the median of the *other* working sessions.
        """
        now = self.clock()
        rates: dict[SessionKey, float] = {}
        for k in self.keys():
            s = self.summary(k)
            if session_status(s.last_activity, s.open, now) == WORKING:
                rates[k] = burn(self.series(k), now).usd_per_hour
        s = self.summary(key)
        others = [r for k, r in rates.items() if k != key] if key in rates else []
        return heavy_reasons(s.usage.input + s.usage.output, s.context_pct, rates.get(key, 0.0), others,
                             self.heavy_thresholds)

    async def history_facts(self, since: float, until: float) -> list[Fact]:
        """Usage per session, model and quarter hour in ``[since, until)`` of the sessions shown.

        Over the index, grouped in SQL on the index thread; in memory, from the store,
        re-derived only for sessions that changed since the last call.
        """
        if self.indexed and self._pool is not None and self._feed is not None:
            try:
                facts = await self._on_index(self._feed.facts, since, until)
            except Exception as exc:  # noqa: BLE001 - any index failure: read in memory instead
                self._fall_back(exc)
            else:
                return [f for f in facts if f.agent in self.agents and (f.agent, f.session_id) in self._catalog]
        out: list[Fact] = []
        for key, session in list(self.store.sessions.items()):
            hit = self._facts.get(key)
            if hit is None or hit[0] != session.version:
                hit = (session.version, bucket_facts(facts_from_sessions([session], self.prices)))
                self._facts[key] = hit
            out.extend(f for f in hit[1] if f.ts > 0 and since <= f.ts < until)
        return out

    # --- screens ----------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """The sessions screen."""
        from tokdash.ui.sessions_screen import SessionsScreen

        return SessionsScreen()

    def open_detail(self, key: SessionKey) -> None:
        """Drill into one session (the detail screen, when it is installed)."""
        try:
            from tokdash.ui.detail_screen import SessionDetailScreen
        except ImportError:
            self.notify("The session detail view is not available in this build.", severity="warning")
            return
        self.push_screen(SessionDetailScreen(key))

    def open_history(self) -> None:
        """Spend per day, project and model (the History screen)."""
        from tokdash.ui.history_screen import HistoryScreen

        self.push_screen(HistoryScreen())

    def action_open_history(self) -> None:
        """The History screen (key ``h``)."""
        self.open_history()

    def action_help(self) -> None:
        """Every key, column and formula (the help screen, when installed)."""
        try:
            from tokdash.ui.help_screen import HelpScreen
        except ImportError:
            self.notify(
                "Keys: ↑↓/j k move · Enter details · s/S sort · / filter · a only working · g group · "
                "h history · ^p find a session · q quit. Cache hit = cache read / (input + cache write + "
                "cache read). In/out can be lower bounds in some CLI versions (cache counts are exact); "
                "costs are estimates from a public price table.",
                title="Help", timeout=15, markup=False,
            )
            return
        self.push_screen(HelpScreen())

    # --- start-up ---------------------------------------------------------------

    def on_mount(self) -> None:
        """Report start-up problems, start reading and following the files."""
        for message, severity in self._notes:
            self.notify(message, severity=severity, timeout=12, markup=False)  # type: ignore[arg-type]
        if self.indexed:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokdash-index")
            self._feed = self._new_feed()
        if self._background_load:
            if self.indexed:
                self._start_from_index()
            else:
                self._load_history()
        if self._watch_enabled:
            self._watch()
            self.set_interval(TAIL_CHECK_SECONDS, self._check_tails)

    def on_unmount(self) -> None:
        """Stop the watcher (its awatch loop waits on this event) and let go of the index."""
        self._stop.set()
        if self._pool is not None:
            if self._feed is not None:
                self._pool.submit(self._feed.close)
            self._pool.shutdown(wait=False, cancel_futures=False)

    def load_sync(self) -> None:
        """Read everything now, on the calling thread (tests and snapshots seed data this way).

        Over the index: the stored sessions, a sync, and the recent sessions' records,
        with an ``Index`` of this thread's own, closed afterwards.
        """
        if self.indexed:
            feed = self._new_feed()
            try:
                first = feed.first_look()
                if first is not None:
                    self._apply_index(first)
                self._apply_index(feed.sync(hot_since=self.clock() - RECENT_SECONDS))
                self._apply_index(feed.load(feed.hot(self.clock() - RECENT_SECONDS)))
            except Exception as exc:  # noqa: BLE001 - any index failure: read in memory instead
                self._fall_back(exc, run=False)
            finally:
                feed.close()
        if not self.indexed:
            with self._read_lock:
                self.loader.load_all(finalize=True)
        self.loading = False

    # --- over the index ------------------------------------------------------------

    def _new_feed(self) -> IndexFeed:
        return IndexFeed(self._index_roots, data_dir=self._data_dir, config_path=self._index_config,
                         warn=self._index_warned)

    def _on_index(self, fn: Callable, *args, **kwargs):
        """Run ``fn`` on the index thread; await the result."""
        assert self._pool is not None
        return asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def _index_warned(self, message: str) -> None:
        """A notice from the index (busy, could not save, moved a damaged file aside); any thread."""
        if self.is_running:
            self.post_message(IndexWarned(message))
        else:
            self._notes.append((message, "warning"))

    @on(IndexWarned)
    def _show_index_warning(self, message: IndexWarned) -> None:
        """Each distinct notice once: a full disk must not flood the screen on every append."""
        if message.text not in self._warned:
            self._warned.add(message.text)
            self.notify(message.text, severity="warning", timeout=12, markup=False)

    def _progress(self, done: int, total: int) -> None:
        """The index is reading files (called on the index thread)."""
        self.post_message(IndexProgressed(done, total))

    @on(IndexProgressed)
    def _show_progress(self, message: IndexProgressed) -> None:
        if self.loading:
            self.load_progress = (message.done, message.total)
            self._announce(frozenset())

    @work(exclusive=True, group="index", exit_on_error=False, name="index reader")
    async def _start_from_index(self) -> None:
        """The stored sessions at once; then the new bytes; then the recent sessions' records."""
        assert self._feed is not None
        feed = self._feed
        started = time.perf_counter()
        try:
            self.load_note = "opening the index…"
            first = await self._on_index(feed.first_look)
            if first is not None:
                self.load_note = "reading new transcript bytes…"
                self._announce(self._apply_index(first))
            else:
                self.load_note = "building the index (first run: every transcript is read once)"
                self._announce(frozenset())
            since = self.clock() - RECENT_SECONDS
            update = await self._on_index(feed.sync, hot_since=since, progress=self._progress)
            changed = self._apply_index(update)
            self.loading = False
            self.load_note = None
            self.history_seconds = time.perf_counter() - started
            self._announce(changed)
            hot = await self._on_index(feed.hot, since)
            self._wanted.update(hot)
            for i in range(0, len(hot), RECORDS_CHUNK):
                update = await self._on_index(feed.load, hot[i : i + RECORDS_CHUNK])
                self._announce(self._apply_index(update))
            self._wanted.difference_update(hot)
        except Exception as exc:  # noqa: BLE001 - any index failure: read in memory instead
            self._fall_back(exc)

    @work(group="records", exit_on_error=False, name="record loader")
    async def _load_records(self, keys: list[SessionKey]) -> None:
        """Fetch sessions' records from the index (a drill-down)."""
        if self._feed is None or self._pool is None:
            return
        try:
            update = await self._on_index(self._feed.load, keys)
        except Exception as exc:  # noqa: BLE001
            self._fall_back(exc)
            return
        self._wanted.difference_update(keys)
        if self.indexed:
            self._announce(self._apply_index(update) | frozenset(keys))

    def _apply_index(self, update: IndexUpdate) -> frozenset[SessionKey]:
        """Take what the index thread read into the app (UI thread: the single writer)."""
        changed: set[SessionKey] = set()
        if update.complete:
            gone = set(self._catalog) - update.summaries.keys()
            changed |= gone
            for key in gone:
                self._forget(key)
        for key in update.removed:
            if key in self._catalog:
                self._forget(key)
                changed.add(key)
        for key, s in update.summaries.items():
            if key[0] in self.agents:
                self._catalog[key] = s
                changed.add(key)
        if update.archived is not None:
            archived = {k for k in update.archived if k[0] in self.agents}
            changed |= archived ^ self.archived
            self.archived = archived
        for key, session in update.sessions.items():
            if key[0] not in self.agents or key not in self._catalog:
                continue
            old = self.store.sessions.get(key)
            # A new object stands for the session now: caches keyed by version must miss.
            session.version = old.version + 1 if old is not None else max(session.version, 1)
            self.store.sessions[key] = session
            changed.add(key)
        return frozenset(changed)

    def _forget(self, key: SessionKey) -> None:
        self._catalog.pop(key, None)
        self.store.sessions.pop(key, None)
        self.archived.discard(key)

    def _fall_back(self, exc: BaseException, *, run: bool = True) -> None:
        """The index cannot be used: say so and read every transcript in memory instead."""
        if not self.indexed or self._stop.is_set():
            return  # already in memory, or the app is closing (its index thread is shut down)
        reason = str(exc) or type(exc).__name__
        message = f"The index cannot be used ({reason}); reading every transcript instead."
        self.indexed = False
        known = frozenset(self._catalog)
        self._catalog.clear()
        self.archived.clear()
        self._wanted.clear()
        self.store = Store()
        self.loader = Loader(self.roots, self.store)
        self._summaries.clear()
        self._series.clear()
        self._facts.clear()
        self.load_note = None
        if not run:
            self._notes.append((message, "warning"))
            return
        self.notify(message, severity="warning", timeout=12, markup=False)
        self.loading = True
        self._announce(known)
        self._load_history()

    # --- workers: reading in memory, off the UI thread -------------------------------

    @work(thread=True, exclusive=True, group="history", exit_on_error=False, name="history loader")
    def _load_history(self) -> None:
        """Read every transcript, newest first, posting a batch every ~100 ms."""
        worker = get_current_worker()
        started = time.perf_counter()
        files = discover(self.roots)
        total = len(files)
        self.post_message(BatchesRead([], files_done=0, files_total=total))
        pending: list[tuple[str, Batch]] = []
        last_post = time.perf_counter()
        interval = FIRST_POST_SECONDS
        failed = 0
        loader = self.loader
        for done, (agent, path) in enumerate(files, 1):
            if worker.is_cancelled:
                return
            try:
                # A file that stopped changing a while ago is complete even without a final
                # newline; a live one's half-written last line is left for later.
                settled = time.time() - os.stat(path).st_mtime >= TAIL_SETTLE_SECONDS
                with self._read_lock:
                    batch = loader.read_file(agent, path, finalize=settled)
            except OSError:
                failed += 1
                continue
            if batch is not None:
                self._warm_prices(batch)
                pending.append((agent, batch))
            now = time.perf_counter()
            if now - last_post >= interval:
                self.post_message(BatchesRead(pending, files_done=done, files_total=total))
                pending = []
                last_post = now
                interval = POST_SECONDS
        self.post_message(BatchesRead(pending, files_done=total, files_total=total))
        self.post_message(HistoryLoaded(total - failed, time.perf_counter() - started))
        if failed:
            self.call_from_thread(self.notify, f"{failed} transcript files could not be read", severity="warning")

    def _read_paths(self, paths: list[tuple[str, Path | str]], finalize: bool) -> list[tuple[str, Batch]]:
        """Read new bytes of ``paths`` (on a worker thread)."""
        out: list[tuple[str, Batch]] = []
        with self._read_lock:
            for agent, path in paths:
                try:
                    batch = self.loader.read_file(agent, path, finalize=finalize)
                except OSError:
                    continue  # deleted or unreadable between the event and the read
                if batch is not None:
                    self._warm_prices(batch)
                    out.append((agent, batch))
        return out

    def _warm_prices(self, batch: Batch) -> None:
        """Resolve the batch's models here, on the reading thread.

        The first lookup of a model loads and searches the price table (~0.5 s for
        the first one); done lazily it would freeze the UI thread during the merge.
        """
        for model in {c.model for c in batch.calls}:
            self.prices.resolve(model)

    @work(exclusive=True, group="watch", exit_on_error=False, name="file watcher")
    async def _watch(self) -> None:
        """Follow every root: sync (or, in memory, re-read) the files the watcher reports."""
        watcher = Watcher(self.roots)
        while not self._stop.is_set():
            if not await asyncio.to_thread(watcher.watch_dirs):
                try:
                    await asyncio.wait_for(self._stop.wait(), NO_ROOTS_RETRY_SECONDS)
                except TimeoutError:
                    pass
                continue
            async for changes in watcher.changes(self._stop):
                await self.refresh_files(changes)

    async def refresh_files(self, files: list[tuple[str, Path]]) -> None:
        """Read what was appended to ``files`` (what the watcher does on a change).

        Over the index: a sync of those files on the index thread, then what changed is
        applied here. In memory: the files are read on a thread and merged (``BatchesRead``).
        """
        if self.indexed and self._feed is not None and self._pool is not None:
            try:
                update = await self._on_index(self._feed.sync, files, hot_since=self.clock() - RECENT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - any index failure: read in memory instead
                self._fall_back(exc)
                return
            if self.indexed:
                self._announce(self._apply_index(update))
            return
        batches = await asyncio.to_thread(self._read_paths, files, False)
        if batches:
            self.post_message(BatchesRead(batches))

    def _check_tails(self) -> None:
        """Every ~2 s (in memory): read unterminated last lines that stopped growing, with
        ``finalize``. (The index reads complete-but-unterminated lines as reports do.)"""
        if self.indexed:
            return
        if not self._read_lock.acquire(blocking=False):
            return  # a read is running; try again next time rather than block the UI
        try:
            tails = settled_tails(self.loader.reader)
            fresh: list[tuple[str, str]] = []
            for path in tails:
                st = self.loader.reader.files[path]
                sig = (st.size, st.mtime)
                # A tail that did not decode stays unread: retry only once it changes.
                if self._tails_tried.get(path) != sig:
                    self._tails_tried[path] = sig
                    fresh.append((st.source.name, path))
        finally:
            self._read_lock.release()
        if fresh:
            self._read_tails(fresh)

    @work(thread=True, group="tails", exit_on_error=False, name="tail reader")
    def _read_tails(self, paths: list[tuple[str, str]]) -> None:
        batches = self._read_paths(paths, True)
        if batches:
            self.post_message(BatchesRead(batches))

    # --- the single writer -------------------------------------------------------

    @on(BatchesRead)
    def _merge_batches(self, message: BatchesRead) -> None:
        """Merge read batches into the store and tell every screen which sessions changed."""
        if self.indexed:
            return  # a straggler from before a mode change
        if message.files_total and self.loading:
            self.load_progress = (message.files_done, message.files_total)
        changed: set[SessionKey] = set()
        for agent, batch in message.batches:
            changed |= self.loader.merge(agent, batch)
        if changed or message.files_total:
            self._announce(frozenset(changed))

    @on(HistoryLoaded)
    def _finish_loading(self, message: HistoryLoaded) -> None:
        """The history is in: drop the progress notice (and show the empty state if need be)."""
        self.loading = False
        self.history_seconds = message.seconds
        self._announce(frozenset())

    def _announce(self, keys: frozenset[SessionKey]) -> None:
        for screen in self.screen_stack:
            screen.post_message(SessionsChanged(keys))

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes a notification, never a crash."""
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name or 'worker'} failed: {event.worker.error!r}",
                        severity="error", timeout=12, markup=False)


def run(args) -> int:
    """Run the dashboard for parsed command-line ``args`` (claude_dir, codex_dir, agent, demo, no_cache)."""
    agent = getattr(args, "agent", "all") or "all"
    agents = list(SOURCES) if agent == "all" else [agent]
    fleet = None
    tmp = None
    saved: dict[int, object] = {}
    try:
        if getattr(args, "demo", False):
            from tokdash.demo import Fleet

            tmp = tempfile.mkdtemp(prefix="tokdash-demo-")
            fleet = Fleet(tmp)
            fleet.write_history()
            fleet.start()
            claude_dirs, codex_dirs = [str(fleet.claude_dir)], [str(fleet.codex_dir)]
        else:
            claude_dirs, codex_dirs = getattr(args, "claude_dir", None), getattr(args, "codex_dir", None)
        roots = resolve_roots(agents, claude_dirs, codex_dirs)
        # One index covers every agent's roots, as for reports (which filter by agent too).
        # The demo's fleet lives in a temporary folder: indexing it would only leave a
        # stale index behind in the data dir.
        cache = fleet is None and not getattr(args, "no_cache", False)
        index_roots = resolve_roots(list(SOURCES), claude_dirs, codex_dirs) if cache else None
        app = TokdashApp(roots, cache=cache, index_roots=index_roots)
        if fleet is not None:
            # A closed terminal or tmux pane (SIGHUP) or a kill (SIGTERM) would end the
            # process without running ``finally``: exit the app instead, so the demo's
            # temporary folder is removed.
            for name in ("SIGHUP", "SIGTERM"):  # SIGHUP does not exist on Windows
                sig = getattr(signal, name, None)
                if sig is not None:
                    saved[sig] = signal.signal(sig, lambda *_: app.call_later(app.exit))
        app.run()
        return app.return_code or 0
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if fleet is not None:
            fleet.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
