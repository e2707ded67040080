"""What a live view shows of plan windows and budgets, and the alerts it raises: Textual-free.

The dashboard's header wants ``5h 42 % ↻19:00 · 7d 12 % · day $12.00/$20.00``, coloured
by band, and a notification the first time a budget crosses an alert threshold. A
:class:`BudgetWatch` does the reading and deciding, on whatever thread the caller runs it:

- :meth:`BudgetWatch.windows` reads the official plan windows (the status line's
  recorded snapshots, Codex's rollout tails), adding an estimate of the current 5-hour
  block for an agent without an official one when given history facts;
- :meth:`BudgetWatch.since` says from when history facts are needed;
- :meth:`BudgetWatch.check` turns facts into budget statuses, header segments
  (``tokdash.model.alerts.Segment``: text + band) and the new alerts, whose
  ``terminal(bell=..., desktop=...)`` gives the bell / OSC 9 / OSC 777 bytes to write when
  :attr:`config` asks for them. Crossings already raised are kept in the data dir
  (channel ``dashboard``), so a restart does not raise them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

from tokdash.ingest import plan_limits
from tokdash.ingest.discovery import Roots
from tokdash.ingest.spend import load_tracker, save_tracker
from tokdash.model.alerts import Alert, Segment, gauges
from tokdash.model.budget import BudgetConfig, BudgetConfigError, BudgetStatus, earliest_start, evaluate, load_budget
from tokdash.model.history import Fact
from tokdash.model.limits import PlanWindow, estimate_block
from tokdash.sources import SOURCES

CHANNEL = "dashboard"


@dataclass
class Check:
    """One :meth:`BudgetWatch.check`: what to show and what to raise."""

    segments: list[Segment]
    statuses: list[BudgetStatus]
    alerts: list[Alert] = field(default_factory=list)


class BudgetWatch:
    """Plan windows, budgets and alerts for a live view over ``roots``.

    Args:
        roots: The roots the view reads (their agents' windows are shown).
        config_path: tokdash's config file (its ``[budget]`` table).
        data: The data dir (default: ``tokdash.paths.data_dir()``).
        tz: Time zone of days, weeks and months (None: local time).
    """

    def __init__(self, roots: Roots, config_path: Path, *, data: Path | None = None, tz: tzinfo | None = None) -> None:
        self.roots = roots
        self.data = data
        self.tz = tz
        self.problem: str | None = None
        """A one-line reason the ``[budget]`` table was not used (a screen may show it)."""
        try:
            self.config: BudgetConfig = load_budget(config_path)
        except BudgetConfigError as exc:
            self.config, self.problem = BudgetConfig(), str(exc)
        self._tracker = load_tracker(CHANNEL, self.config.alert_at, data)

    def since(self, now: float) -> float | None:
        """The start of the facts :meth:`check` needs (the longest configured period), or None."""
        return earliest_start(self.config, now, self.tz)

    def windows(self, now: float, facts: Iterable[Fact] = ()) -> list[PlanWindow]:
        """The official windows still current; with ``facts`` (the last hours), an estimate of
        the current 5-hour block for each agent that has no official 5-hour figure."""
        found = plan_limits.official(self.roots, now, self.data)
        facts = list(facts)
        if facts:
            have = {w.agent for w in found if w.window == "5h"}
            planned = [a for a in self.roots.by_agent if a not in have and SOURCES[a].has_plan_windows]
            found += [w for w in (estimate_block(a, facts, now) for a in planned) if w is not None]
        return found

    def check(self, facts: Iterable[Fact], now: float, *, windows: Iterable[PlanWindow] = (),
              projects: Mapping[tuple[str, str], str] | None = None) -> Check:
        """Budget statuses over ``facts`` (from :meth:`since` on), the header's segments, and
        the alerts not raised yet (each crossing once, across restarts)."""
        statuses = evaluate(self.config, facts, now, self.tz, projects=projects) if self.config.active else []
        alerts = self._tracker.check(statuses, now)
        save_tracker(CHANNEL, self._tracker, self.data)
        return Check(gauges(windows, statuses, now), statuses, alerts)
