"""The tokdash app: it owns the catalog and the feed, runs the workers, and navigates.

One writer, one reader thread (the traffic with the feed is in ``feed_pump``, plan windows
and budgets in ``limits_check``: both mixins of the app):

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
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tokdash.ingest.budget_watch import BudgetWatch
from tokdash.ingest.catalog import SessionCatalog
from tokdash.ingest.discovery import Roots
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.ingest.feeds import ResilientFeed, open_feed
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
from tokdash.ui.feed_pump import FeedPump
from tokdash.ui.feed_thread import FeedThread
from tokdash.ui.helpdoc import help_sections
from tokdash.ui.limits_check import LIMITS_BUSY_SECONDS, LimitsCheck
from tokdash.ui.messages import (
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
CLOSE_WAIT_SECONDS = 1.0
"""On quit, how long the feed may take to finish its current call and close; past that, the
process ends without it (its thread is a daemon; the index is crash-safe)."""


def absolute(roots: Roots) -> Roots:
    """A copy of ``roots`` with absolute paths (the index names files absolutely)."""
    return Roots({a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()},
                 list(roots.problems))


class TokdashApp(FeedPump, LimitsCheck, App[int]):
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

    @on(FeedUpdated)
    def _apply(self, message: FeedUpdated) -> None:
        """A feed update reached the UI thread (a mixin's ``@on`` would not be seen: handlers are
        collected from classes Textual makes)."""
        self._take(message.update)

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
