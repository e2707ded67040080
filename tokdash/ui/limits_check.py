"""Plan windows, budgets and their alerts in the dashboard: read when due, off the UI thread.

A mixin of :class:`~tokdash.ui.app.TokdashApp` (which owns ``budget`` and the timer that calls
:meth:`LimitsCheck._check_limits`).
"""

from __future__ import annotations

import asyncio
import time

from textual import work

from tokdash.ingest.budget_watch import BudgetWatch
from tokdash.ingest.catalog import SessionCatalog
from tokdash.sources import notices

LIMITS_SECONDS = 30.0
"""How often plan windows and budgets are read again with no new data..."""
LIMITS_BUSY_SECONDS = 5.0
"""...and at most this often while data arrives."""


class LimitsCheck:
    """The limits' side of the app (see the module doc)."""

    budget: BudgetWatch
    catalog: SessionCatalog
    _limits_due: float
    _limits_running: bool

    def _data_arrived(self) -> None:
        """Sessions changed: read the limits again within ``LIMITS_BUSY_SECONDS``."""
        self._limits_due = min(self._limits_due, time.monotonic() + LIMITS_BUSY_SECONDS)

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
