"""The tokdash app: it owns the catalog and the feed, runs the workers, and navigates.

One writer, one reader thread:

- The **feed** (``tokdash.ingest.feeds``: the index, or memory when the index is
  unusable) runs on one thread of its own. At launch it loads (over the index:
  every stored summary at once, then the new bytes, then the recent sessions' call
  series); then, live, it reads the files the watcher reports and, every ~2 s, the
  unterminated tails that stopped growing. It answers with ``FeedUpdate`` values,
  posted to the UI thread as :class:`~tokdash.ui.messages.FeedUpdated` (consecutive
  ones coalesce).
- The **UI thread** applies each update to the :class:`SessionCatalog` -- the state
  every screen reads -- and posts :class:`~tokdash.ui.messages.CatalogChanged` to
  every screen on the stack. Once a second it lets the catalog's fleet re-derive the
  rows that are due (a status aging, a burn window sliding).

Screens are given the catalog; they never import this module. They navigate by
posting messages (a session chosen, the history or the help requested), which
bubble up to the handlers here.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tokdash.ingest.catalog import Changes, SessionCatalog
from tokdash.ingest.budget_watch import BudgetWatch
from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.ingest.feeds import ResilientFeed, open_feed
from tokdash.ingest.watcher import Watcher
from tokdash.model.fleet import RECENT_SECONDS
from tokdash.model.heavy import HeavyConfigError, HeavyThresholds, load_heavy_config
from tokdash.model.history import Fact
from tokdash.model.pricing import PriceBook
from tokdash.model.config import (
    ConfigError,
    PriceConfigError,
    default_config_path,
    load_config_prices,
    ui_theme,
    write_setting,
)
from tokdash.model.store import SessionKey
from tokdash.sources import notices
from tokdash.ui.feed_thread import FeedThread
from tokdash.ui.helpdoc import help_sections
from tokdash.ui.messages import (
    CatalogChanged,
    FeedUpdated,
    FeedWarned,
    HelpRequested,
    HistoryDrilled,
    HistoryRequested,
    SessionChosen,
    SessionPicked,
)
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.help import HelpScreen
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.screens.history_sessions import HistorySessionsScreen
from tokdash.ui.screens.sessions import SessionsScreen

TAIL_CHECK_SECONDS = 2.0
"""How often the feed looks for unterminated last lines that settled (in memory)."""
ROWS_TICK_SECONDS = 1.0
"""How often the fleet's rows that are due (ages, statuses, burn windows) are re-derived."""
LIMITS_SECONDS = 30.0
"""How often plan windows and budgets are read again with no new data..."""
LIMITS_BUSY_SECONDS = 5.0
"""...and at most this often while data arrives."""
SLICE_SESSIONS = 250
"""A feed update of more sessions (a first load of thousands) is taken in this many at a time,
one slice per turn of the UI loop, so keys are answered meanwhile."""
SLICE_PAUSE_SECONDS = 0.001
"""Between two slices the loop runs whatever is ready (keys, redraws) for at least this long."""
CLOSE_WAIT_SECONDS = 1.0
"""On quit, how long the feed may take to finish its current call and close; past that, the
process ends without it (its thread is a daemon; the index is crash-safe)."""
NO_ROOTS_RETRY_SECONDS = 5.0
"""With no folder to watch yet, look again this often (a first agent run creates one)."""


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
        background_load: Read at start-up on the feed's thread. Off when the caller
            seeds the app synchronously (see :meth:`load_sync`): then every feed call runs
            inline on the UI thread too (tests and snapshots, which wait for idle, not for
            threads).
        prices: A price book; by default the bundled table plus the config file's
            overrides. When one is given, the index prices without the config file too.
        heavy: Heavy-session thresholds; by default the config file's ``[heavy]`` table.
        cache: Read over the persistent index (False reads every transcript into memory,
            as ``--no-cache`` does).
        index_roots: The roots the index covers (default ``roots``). The command line
            passes every agent's roots, as reports do, so all share one index.
        data_dir: Where the index lives (default: the platform data dir).
        tz: Time zone of the History screen's days (None: this machine's local time).
        remember_theme: Start in the theme chosen last, and remember a theme picked in the
            palette, in the config file's ``[ui]`` table (the command line turns it on).
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
        remember_theme: bool = False,
    ) -> None:
        super().__init__()
        self._remember_theme = remember_theme
        self.roots = absolute(roots) if cache else roots
        """The folders read (and watched)."""
        self.clock: Callable[[], float] = clock or time.time
        """Now, in epoch seconds (injectable)."""
        self._notes: list[tuple[str, str]] = [(problem, "warning") for problem in roots.problems]
        """(message, severity) to show once mounted: problems found while starting."""
        # Prices given by the caller (tests) are the whole truth: the index then prices without
        # the config file too. A broken config file is ignored, and said so.
        config_ok = prices is None
        if prices is None:
            prices, config_ok = self._load_prices()
        heavy = heavy if heavy is not None else self._load_heavy()
        self.catalog = SessionCatalog(clock=lambda: self.clock(), thresholds=heavy, tz=tz, looked_in=roots.describe(),
                                      problems=roots.problems, want_detail=self._want_detail,
                                      facts=self._history_facts)
        """What every screen reads; written only here, on the UI thread."""
        self.feed: ResilientFeed = open_feed(
            self.roots, prices, cache=cache, index_roots=absolute(index_roots or roots), data_dir=data_dir,
            config_path=default_config_path() if config_ok else None, warn=self._feed_warned, live=True)
        """Where sessions come from (every method runs on the feed's thread)."""
        self._watch_enabled = watch
        self._background_load = background_load
        self._inline = not background_load
        self._pool: FeedThread | None = None
        self._backlog: deque[FeedUpdate] = deque()
        """Feed updates not taken in yet (a large one is taken in slices)."""
        self._stop = asyncio.Event()
        self._warned: set[str] = set()
        self._ticking = False
        self._details_in_flight: set[SessionKey] = set()
        self._details_again: set[SessionKey] = set()
        self.sessions_screen = SessionsScreen(self.catalog)
        """The screen tokdash opens on."""
        self.budget = BudgetWatch(self.roots, default_config_path(), tz=tz)
        """Plan windows, budgets and their alerts (files read on a worker thread)."""
        if self.budget.problem:
            self._notes.append((f"Budgets ignored: {self.budget.problem}", "error"))
        self._limits_due = 0.0
        self._limits_running = False

    # --- configuration ----------------------------------------------------------

    def _load_prices(self) -> tuple[PriceBook, bool]:
        at = datetime.fromtimestamp(self.clock(), UTC)
        try:
            return PriceBook(load_config_prices(default_config_path()), at=at), True
        except PriceConfigError as exc:
            # A broken config must not stop the dashboard: use the bundled table and say so.
            self._notes.append((f"Price overrides ignored: {exc}", "error"))
            return PriceBook({}, at=at), False

    def _load_heavy(self) -> HeavyThresholds:
        try:
            return load_heavy_config(default_config_path())
        except HeavyConfigError as exc:
            self._notes.append((f"Heavy-session thresholds ignored: {exc}", "error"))
            return HeavyThresholds()

    # --- screens ----------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """The sessions screen."""
        return self.sessions_screen

    def open_detail(self, key: SessionKey) -> None:
        """Drill into one session."""
        self.push_screen(SessionDetailScreen(self.catalog, key))

    @on(SessionChosen)
    def _session_chosen(self, message: SessionChosen) -> None:
        self.open_detail(message.key)

    @on(HistoryRequested)
    def open_history(self) -> None:
        """Spend per day, project and model (the History screen)."""
        self.push_screen(HistoryScreen(self.catalog))

    @on(HistoryDrilled)
    def open_history_sessions(self, message: HistoryDrilled) -> None:
        """The sessions behind a day, a project or a model."""
        self.push_screen(HistorySessionsScreen(self.catalog, message.title, message.subtitle, message.rows))

    @on(HelpRequested)
    def open_help(self) -> None:
        """Every key, column and formula."""
        self.push_screen(HelpScreen(help_sections(self, self.catalog.fleet.thresholds)))

    @on(SessionPicked)
    def _jump(self, message: SessionPicked) -> None:
        """The palette picked a session: back to the sessions table, cursor on it."""
        while len(self.screen_stack) > 1 and self.screen is not self.sessions_screen:
            self.pop_screen()
        self.sessions_screen.jump_to(message.key)

    # --- start-up and shutdown ----------------------------------------------------

    def on_mount(self) -> None:
        """Report start-up problems, start reading and following the files."""
        if self._remember_theme:
            saved = ui_theme(default_config_path())
            if saved in self.available_themes:
                self.theme = saved
            self.theme_changed_signal.subscribe(self, self._save_theme)
        for message, severity in self._notes:
            self.notify(message, severity=severity, timeout=12, markup=False)  # type: ignore[arg-type]
        if not self._inline:
            self._pool = FeedThread("tokdash-feed")
        if self._background_load:
            self._start()
        if self._watch_enabled:
            self._watch()
            self.set_interval(TAIL_CHECK_SECONDS, self._check_tails)
        self.set_interval(ROWS_TICK_SECONDS, self._advance)
        self.set_interval(LIMITS_BUSY_SECONDS, self._check_limits)

    def on_unmount(self) -> None:
        """Stop the watcher (its awatch loop waits on this event) and let go of the feed: after its
        current call, within a second; a long load still running is left to end with the process."""
        self._stop.set()
        self._backlog.clear()
        if self._pool is None:
            self.feed.close()
        else:
            self._pool.finish(self.feed.close, CLOSE_WAIT_SECONDS)

    def load_sync(self) -> None:
        """Load everything now, on the calling thread (tests and snapshots seed data this way;
        the app then runs every later feed call inline too, see ``background_load``)."""
        self.feed.start(self._take, self.clock() - RECENT_SECONDS)

    # --- the feed ------------------------------------------------------------------

    def _on_feed(self, fn: Callable, *args, **kwargs):
        """Run ``fn`` on the feed's thread (inline for a synchronously seeded app); await the result."""
        loop = asyncio.get_running_loop()
        if self._inline:
            done = loop.create_future()
            try:
                done.set_result(fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting worker
                done.set_exception(exc)
            return done
        assert self._pool is not None
        return loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def _emit(self, update: FeedUpdate) -> None:
        """Called on the feed's thread: hand the update to the UI thread (nothing once quitting)."""
        if self._inline:
            self._take(update)
        elif not self._stop.is_set():
            self.post_message(FeedUpdated(update))

    @on(FeedUpdated)
    def _apply(self, message: FeedUpdated) -> None:
        self._take(message.update)

    def _take(self, update: FeedUpdate) -> None:
        """Take in an update: at once when the app is not running (seeded synchronously), else
        after the updates before it, a large one in slices (see :meth:`_take_next`)."""
        if self._inline or not self.is_running:
            self._take_now(update)
            return
        self._backlog.append(update)
        if len(self._backlog) == 1:
            self._take_next()

    def _take_next(self) -> None:
        """Take in the next update of the backlog, or its first slice: the rest waits for the next
        turn of the loop (keys typed meanwhile are answered first)."""
        if not self._backlog or not self.is_running:
            return
        update = self._backlog.popleft()
        parts = self.catalog.slices(update, SLICE_SESSIONS)  # split now: it reads the catalog as it is
        self._backlog.extendleft(reversed(parts[1:]))
        self._take_now(parts[0])
        if len(parts[0].summaries) >= SLICE_SESSIONS:
            # A first load of thousands of sessions lives as long as the app: out of the cyclic
            # GC's reach, whose full passes over it froze every thread for 0.3-0.7 s at 50,000.
            gc.freeze()
        if self._backlog:
            # A timer, not call_later: the app's queue is not left for the event loop between
            # two queued messages, so keys would wait for the last slice.
            self.set_timer(SLICE_PAUSE_SECONDS, self._take_next, name="next slice")

    def _take_now(self, update: FeedUpdate) -> None:
        """Apply an update to the catalog (the single writer) and tell every screen."""
        changes = self.catalog.apply(update)
        if changes.sessions:
            self._limits_due = min(self._limits_due, time.monotonic() + LIMITS_BUSY_SECONDS)
        if changes:
            self._announce(changes)
        for key in changes.sessions & self._details_in_flight:
            self._details_again.add(key)

    def _advance(self) -> None:
        """Rows that are due change by themselves (time passing)."""
        changes = self.catalog.advance()
        if changes:
            self._announce(changes)

    def _announce(self, changes: Changes) -> None:
        if not self.is_running:
            return
        for screen in self.screen_stack:
            screen.post_message(CatalogChanged(changes))

    def _recent(self) -> float:
        return self.clock() - RECENT_SECONDS

    @work(exclusive=True, group="feed", exit_on_error=False, name="feed loader")
    async def _start(self) -> None:
        """The initial load, on the feed's thread."""
        await self._on_feed(self.feed.start, self._emit, self._recent())

    async def refresh_files(self, files: list[tuple[str, Path]]) -> None:
        """Read what was appended to ``files`` (what the watcher does on a change)."""
        await self._on_feed(self.feed.refresh, files, self._emit, self._recent())

    def _check_tails(self) -> None:
        """Every ~2 s: let the feed read unterminated last lines that stopped growing."""
        if not self._ticking:
            self._ticking = True
            self._tail_tick()

    @work(group="tails", exit_on_error=False, name="tail reader")
    async def _tail_tick(self) -> None:
        try:
            await self._on_feed(self.feed.tick, self._emit, self._recent())
        finally:
            self._ticking = False

    @work(exclusive=True, group="watch", exit_on_error=False, name="file watcher")
    async def _watch(self) -> None:
        """Follow every root: the feed reads the files the watcher reports."""
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

    # --- what screens ask for -------------------------------------------------------

    def _want_detail(self, key: SessionKey) -> None:
        """A screen wants ``key``'s detail: fetch it on the feed's thread, one at a time per key."""
        if self._inline:
            self.catalog.set_detail(key, self.catalog.version(key), self.feed.detail(key))
            self._announce(Changes(details=frozenset({key})))
            return
        if key in self._details_in_flight:
            self._details_again.add(key)
            return
        self._details_in_flight.add(key)
        self._fetch_detail(key)

    @work(group="details", exit_on_error=False, name="detail")
    async def _fetch_detail(self, key: SessionKey) -> None:
        try:
            version = self.catalog.version(key)
            detail = await self._on_feed(self.feed.detail, key)
            self.catalog.set_detail(key, version, detail)
        finally:
            self._details_in_flight.discard(key)
        self._announce(Changes(details=frozenset({key})))
        if key in self._details_again:
            self._details_again.discard(key)
            if self.catalog.detail(key) is None:
                self._want_detail(key)

    def _check_limits(self) -> None:
        """Plan windows, budgets, alerts and source notices, when due (off the UI thread)."""
        if not self._limits_running and time.monotonic() >= self._limits_due and self.is_running:
            self._limits_running = True
            self._read_limits()

    @work(group="limits", exit_on_error=False, name="limits")
    async def _read_limits(self) -> None:
        try:
            now = self.clock()
            since = self.budget.since(now)
            start = min(since, now - 86400.0) if since is not None else now - 86400.0
            facts = await self._history_facts(start, now + 1)
            recent = [f for f in facts if f.ts >= now - 86400.0]
            projects = {k: self.catalog.summary(k).project for k in self.catalog.keys()}
            windows = await asyncio.to_thread(self.budget.windows, now, recent)
            check = await asyncio.to_thread(self.budget.check, facts, now, windows=windows, projects=projects)
            self._announce(self.catalog.set_limits(check.segments, windows, notices.current(), check.statuses))
            for alert in check.alerts:
                self.notify(alert.message, severity=alert.severity, timeout=15, markup=False)  # type: ignore[arg-type]
                self._ring(alert)
        finally:
            self._limits_running = False
            self._limits_due = time.monotonic() + LIMITS_SECONDS

    def _ring(self, alert) -> None:
        """The bell and the desktop notification an alert asks for, when ``[budget]`` turns them on."""
        config = self.budget.config
        if getattr(config, "bell", False):
            self.bell()
        if getattr(config, "desktop_notify", False):
            driver = getattr(self, "_driver", None)
            if driver is not None:
                driver.write(alert.terminal(bell=False, desktop=True))  # OSC 9 / 777: unknown ones are ignored

    async def _history_facts(self, since: float, until: float) -> list[Fact]:
        """History facts of the sessions shown, computed on the feed's thread."""
        facts = await self._on_feed(self.feed.facts, since, until)
        return [f for f in facts if self.catalog.has((f.agent, f.session_id))]

    def _save_theme(self, theme) -> None:
        """Remember the theme picked (the config file's ``[ui] theme``); a failure is a notice."""
        try:
            if ui_theme(default_config_path()) != theme.name:
                write_setting(default_config_path(), "ui", "theme", theme.name)
        except (ConfigError, OSError) as exc:
            self.notify(f"Theme not remembered: {exc}", severity="warning", timeout=8, markup=False)

    # --- notices -----------------------------------------------------------------------

    def _feed_warned(self, message: str) -> None:
        """A notice from the feed (the index busy, damaged, unusable); any thread."""
        if self.is_running:
            self.post_message(FeedWarned(message))
        else:
            self._notes.append((message, "warning"))

    @on(FeedWarned)
    def _show_feed_warning(self, message: FeedWarned) -> None:
        """Each distinct notice once: a full disk must not flood the screen on every append."""
        if message.text not in self._warned:
            self._warned.add(message.text)
            self.notify(message.text, severity="warning", timeout=12, markup=False)

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes a notification, never a crash."""
        if event.state == WorkerState.ERROR:
            self.notify(f"{event.worker.name or 'worker'} failed: {event.worker.error!r}",
                        severity="error", timeout=12, markup=False)
