"""A fleet with a past: the demo's sessions of today and yesterday, plus sessions spread over
the previous weeks (and one older than 30 days), for the History screen's tests and snapshots.

Everything is deterministic for the frozen ``NOW``; local time is UTC in these tests.
"""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import fleet_dirs
from tokdash.demo import PLANS, Fleet, Plan
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.pricing import PriceBook
from tokdash.ui.app import TokdashApp

NOW = 1_790_000_000.0
"""2026-09-21 14:13:20 UTC."""
DAY = 86400.0
HOUR = 3600.0


def _past(agent: str, cwd: str, prompt: str, model: str, days: float, hours: float, **kw) -> Plan:
    start = days * DAY
    return Plan(agent, cwd, prompt, model, start, start - hours * HOUR, (40, 120), (300, 2500), (40, 500), **kw)


PAST: tuple[Plan, ...] = (
    _past("claude", "/home/dev/src/api-gateway", "Add OpenAPI docs for the v2 endpoints",
          "claude-sonnet-4-5-20250929", 2.3, 1.5),
    _past("codex", "/home/dev/src/infra", "Rotate the staging certificates", "gpt-5.3-codex", 3.6, 1.0),
    _past("claude", "/home/dev/src/web-dashboard", "Dark mode for the settings page",
          "claude-opus-4-6", 5.2, 3.0, branch="dark-mode", cache="poor"),
    _past("claude", "/home/dev/src/ml-pipeline", "Backfill last quarter's features",
          "claude-sonnet-4-5-20250929", 8.4, 1.2),
    _past("codex", "/home/dev/src/api-gateway", "Trace the 502s behind the load balancer", "gpt-5-codex", 9.7, 2.5),
    _past("claude", "/home/dev/src/monorepo", "Split the shared utils package",
          "claude-opus-4-6", 12.1, 4.0, context0=60_000),
    _past("claude", "/home/dev/src/docs-site", "Fix broken links after the move",
          "claude-haiku-4-5-20251001", 14.5, 0.8),
    _past("claude", "/home/dev/src/web-dashboard", "Chart tooltips overflow on mobile",
          "claude-sonnet-4-5-20250929", 17.3, 1.4),
    _past("codex", "/home/dev/src/infra", "Move the cron jobs to the new scheduler", "gpt-5.3-codex", 20.6, 2.2),
    _past("claude", "/home/dev/src/api-gateway", "Cache the tenant lookups",
          "claude-opus-4-6", 23.2, 2.5, cache="poor"),
    _past("claude", "/home/dev/src/ml-pipeline", "Profile the tokenizer", "claude-haiku-4-5-20251001", 26.4, 0.6),
    _past("claude", "/home/dev/src/docs-site", "Write the v1 release notes",
          "claude-sonnet-4-5-20250929", 45.3, 1.0),
)
"""Done sessions over the last 30 days, and one six weeks back."""


def history_fleet(root: Path) -> Fleet:
    """The demo fleet plus :data:`PAST`, written up to ``NOW``."""
    fleet = Fleet(root, now=NOW, plans=PLANS + PAST)
    fleet.write_history()
    return fleet


def history_app(root: Path, *, cache: bool = True, **kwargs) -> tuple[TokdashApp, Fleet]:
    """The real app over :func:`history_fleet`, seeded synchronously, on the frozen clock."""
    fleet = history_fleet(root / "fleet")
    roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook(),
                     cache=cache, **kwargs)
    app.load_sync()
    return app, fleet
