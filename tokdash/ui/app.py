"""The tokdash app: the store's single writer, its reader workers, and the screens over them.

Data flow (one writer):

1. A thread worker reads transcript files (``Loader.read_file``) off the UI thread
   and posts :class:`BatchesRead`: first the whole history, newest files first, in
   batches posted every ~100 ms so the newest sessions show at once and the UI
   never freezes; then whatever the file watcher reports, and every ~2 s the
   unterminated tails that stopped growing (read with ``finalize``).
2. The app, on the UI thread, merges the batches into the store
   (``Loader.merge``) and posts :class:`SessionsChanged` to every screen.
3. Each screen refreshes what it shows for those sessions.

One lock serialises file reads, because the history loader, the watcher and the
tail check share one ``Reader`` (its per-file offsets are not thread-safe).
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
from datetime import UTC, datetime
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
from tokdash.model.pricing import PriceBook, PriceConfigError, default_config_path, load_config_prices
from tokdash.model.records import Batch
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import SessionKey, Store
from tokdash.sources import SOURCES
from tokdash.ui.messages import BatchesRead, HistoryLoaded, SessionsChanged

FIRST_POST_SECONDS = 0.03
"""The first batch of the initial load is posted this soon: the newest sessions show at once."""
POST_SECONDS = 0.1
"""Later batches of the initial load are posted this often (the UI merges ~10 per second)."""
TAIL_CHECK_SECONDS = 2.0
"""How often unterminated last lines are checked for having settled."""
NO_ROOTS_RETRY_SECONDS = 5.0
"""With no folder to watch yet, look again this often (a first agent run creates one)."""


class TokdashApp(App[int]):
    """The live dashboard of what AI coding agents spend, per session.

    Args:
        roots: Where to read transcripts from.
        clock: Returns "now" in epoch seconds; ``time.time`` by default. Tests and
            snapshots pass a frozen clock. File-settling checks always use the
            real time, since they compare with file modification times.
        watch: Follow the files live (watcher + tail checks). Off for snapshots.
        background_load: Read the history on a worker at start-up. Off when the
            caller seeds the store synchronously (see :meth:`load_sync`).
        prices: A price book; by default the bundled table plus the config file's overrides.
        heavy: Heavy-session thresholds; by default the config file's ``[heavy]`` table.
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
    ) -> None:
        super().__init__()
        self.roots = roots
        """The folders read."""
        self.clock: Callable[[], float] = clock or time.time
        """Now, in epoch seconds (injectable)."""
        self.store = Store()
        """Every session, deduplicated; written only on the UI thread."""
        self.loader = Loader(roots, self.store)
        self._watch_enabled = watch
        self._background_load = background_load
        self._notes: list[tuple[str, str]] = []
        """(message, severity) to show once mounted: config problems found while starting."""
        for problem in roots.problems:
            self._notes.append((problem, "warning"))
        self.prices = prices if prices is not None else self._load_prices()
        """Prices of every model (a PriceBook)."""
        self.heavy_thresholds = heavy if heavy is not None else self._load_heavy()
        """When a session counts as heavy."""
        self.loading = background_load
        """True until the initial load of the history has finished."""
        self.load_progress: tuple[int, int] = (0, 0)
        """(files read, files found) of the initial load."""
        self.history_seconds: float | None = None
        """How long the initial load took."""
        self._read_lock = threading.Lock()
        self._stop = asyncio.Event()
        self._summaries: dict[SessionKey, tuple[int, SessionSummary]] = {}
        self._series: dict[SessionKey, tuple[int, CallSeries]] = {}
        self._tails_tried: dict[str, tuple[int, float]] = {}

    # --- configuration ----------------------------------------------------------

    def _load_prices(self) -> PriceBook:
        at = datetime.fromtimestamp(self.clock(), UTC)
        try:
            overrides = load_config_prices(default_config_path())
        except PriceConfigError as exc:
            # A broken config must not stop the dashboard: use the bundled table and say so.
            self._notes.append((f"Price overrides ignored: {exc}", "error"))
            overrides = {}
        return PriceBook(overrides, at=at)

    def _load_heavy(self) -> HeavyThresholds:
        try:
            return load_heavy_config(default_config_path())
        except HeavyConfigError as exc:
            self._notes.append((f"Heavy-session thresholds ignored: {exc}", "error"))
            return HeavyThresholds()

    # --- what screens read ------------------------------------------------------

    def summary(self, key: SessionKey) -> SessionSummary:
        """Every number of one session, cached per ``Session.version``. KeyError if unknown."""
        session = self.store.sessions[key]
        hit = self._summaries.get(key)
        if hit is not None and hit[0] == session.version:
            return hit[1]
        s = summarize(session, self.prices)
        self._summaries[key] = (session.version, s)
        return s

    def series(self, key: SessionKey) -> CallSeries:
        """The session's calls in time order with running sums (windowed totals, burn rate)."""
        session = self.store.sessions[key]
        hit = self._series.get(key)
        if hit is not None and hit[0] == session.version:
            return hit[1]
        s = CallSeries.of(session, self.prices)
        self._series[key] = (session.version, s)
        return s

    def heavy(self, key: SessionKey) -> tuple[Tripped, ...]:
        """Which heavy-session thresholds ``key`` trips now (empty: not heavy).

        The same rule the sessions table applies: tokens, context share, and spend
        rate against the median of the *other* working sessions.
        """
        now = self.clock()
        rates: dict[SessionKey, float] = {}
        for k in list(self.store.sessions):
            s = self.summary(k)
            if session_status(s.last_activity, s.open, now) == WORKING:
                rates[k] = burn(self.series(k), now).usd_per_hour
        s = self.summary(key)
        others = [r for k, r in rates.items() if k != key] if key in rates else []
        return heavy_reasons(s.usage.input + s.usage.output, s.context_pct, rates.get(key, 0.0), others,
                             self.heavy_thresholds)

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

    def action_help(self) -> None:
        """Every key, column and formula (the help screen, when installed)."""
        try:
            from tokdash.ui.help_screen import HelpScreen
        except ImportError:
            self.notify(
                "Keys: ↑↓/j k move · Enter details · s/S sort · / filter · a only working · g group · "
                "^p find a session · q quit. Cache hit = cache read / (input + cache write + cache read). "
                "In/out can be lower bounds in some CLI versions (cache counts are exact); costs are "
                "estimates from a public price table.",
                title="Help", timeout=15, markup=False,
            )
            return
        self.push_screen(HelpScreen())

    # --- start-up ---------------------------------------------------------------

    def on_mount(self) -> None:
        """Report start-up problems, start reading the history and following the files."""
        for message, severity in self._notes:
            self.notify(message, severity=severity, timeout=12, markup=False)  # type: ignore[arg-type]
        if self._background_load:
            self._load_history()
        if self._watch_enabled:
            self._watch()
            self.set_interval(TAIL_CHECK_SECONDS, self._check_tails)

    def on_unmount(self) -> None:
        """Stop the watcher (its awatch loop waits on this event)."""
        self._stop.set()

    def load_sync(self) -> None:
        """Read every file now, on the calling thread (tests and snapshots seed data this way)."""
        with self._read_lock:
            self.loader.load_all(finalize=True)
        self.loading = False

    # --- workers: reading, off the UI thread -------------------------------------

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
        for done, (agent, path) in enumerate(files, 1):
            if worker.is_cancelled:
                return
            try:
                # A file that stopped changing a while ago is complete even without a final
                # newline; a live one's half-written last line is left for later.
                settled = time.time() - os.stat(path).st_mtime >= TAIL_SETTLE_SECONDS
                with self._read_lock:
                    batch = self.loader.read_file(agent, path, finalize=settled)
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
        """Follow every root: re-read the files the watcher reports, in a thread."""
        watcher = Watcher(self.roots)
        while not self._stop.is_set():
            if not await asyncio.to_thread(watcher.watch_dirs):
                try:
                    await asyncio.wait_for(self._stop.wait(), NO_ROOTS_RETRY_SECONDS)
                except TimeoutError:
                    pass
                continue
            async for changes in watcher.changes(self._stop):
                batches = await asyncio.to_thread(self._read_paths, changes, False)
                if batches:
                    self.post_message(BatchesRead(batches))

    def _check_tails(self) -> None:
        """Every ~2 s: read unterminated last lines that stopped growing, with ``finalize``."""
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
    """Run the dashboard for parsed command-line ``args`` (claude_dir, codex_dir, agent, demo)."""
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
            roots = resolve_roots(agents, [str(fleet.claude_dir)], [str(fleet.codex_dir)])
        else:
            roots = resolve_roots(agents, getattr(args, "claude_dir", None), getattr(args, "codex_dir", None))
        app = TokdashApp(roots)
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
