"""Plan-window and budget gauges for ``tokdash serve``: what the dashboard's header shows, as metrics.

The serve loop reads plan windows and budgets now and then (files, off the loop
thread, as the dashboard does) into its catalog; the two providers here turn what
the catalog holds into gauges, cheaply and without I/O:

- ``tokdash_plan_window_used_ratio{agent, window}``: the official share (0..1) of a plan
  window used (Claude Code's figures as its status line last saw them, Codex's from its
  rollouts). Estimates are not exported: they have no limit to be a share of.
- ``tokdash_budget_used_ratio{budget}``: the share (0..1) of a period budget
  (``daily_usd``, ``weekly_usd``, ``monthly_usd``) spent. Per-project budgets are left out
  (a project path as a label would bypass the ``[metrics]`` project policy), and so are
  session budgets (they would need a session id as a label).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokdash.serve.gauges import GAUGE_PROVIDERS, GaugeSample

PERIODS = ("daily_usd", "weekly_usd", "monthly_usd")


def plan_windows(catalog, now: float) -> Iterable[GaugeSample]:
    """One sample per official plan window the catalog holds."""
    for w in catalog.windows:
        if w.source == "official" and w.used_percent is not None:
            yield GaugeSample("tokdash_plan_window_used_ratio", "Share of an official plan window used (0..1)",
                              (("agent", w.agent), ("window", w.window)), w.used_percent / 100.0)


def budgets(catalog, now: float) -> Iterable[GaugeSample]:
    """One sample per overall period budget."""
    for b in catalog.budgets:
        if b.limit_key in PERIODS and b.limit > 0 and not b.project:
            yield GaugeSample("tokdash_budget_used_ratio", "Share of a configured budget spent (0..1)",
                              (("budget", b.limit_key),), b.spent / b.limit)


def register() -> None:
    """Add both providers to :data:`~tokdash.serve.gauges.GAUGE_PROVIDERS` (once)."""
    for provider in (plan_windows, budgets):
        if provider not in GAUGE_PROVIDERS:
            GAUGE_PROVIDERS.append(provider)
