"""Snapshot tests of the sessions screen (pytest-textual-snapshot), with a frozen clock.

``snap_compare`` waits for the app to be idle, not for workers: the data is
generated into a tmp dir and loaded synchronously before the app runs, and
nothing is watched. The local time zone is pinned to UTC because the header's
"today" starts at local midnight. The SVGs under ``__snapshots__`` also feed
``screenshots/``.

    pytest tests/ui/test_snapshots.py --snapshot-update   # after a deliberate change
"""

from __future__ import annotations

import time

import pytest

from tests.ui.conftest import fleet_dirs
from tokdash.demo import Fleet
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.pricing import PriceBook
from tokdash.sources import SOURCES
from tokdash.ui.app import TokdashApp

NOW = 1_790_000_000.0
"""2026-09-21 14:13:20 UTC."""


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory):
    """One fleet (and one index) for every snapshot of the sessions screen."""
    return tmp_path_factory.mktemp("snapshots")


def fleet_app(root) -> TokdashApp:
    fleet = Fleet(root / "fleet", now=NOW)
    if not fleet.root.exists():
        fleet.write_history()
    roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook())
    app.load_sync()
    return app


def test_sessions_wide(snap_compare, fleet_dir):
    """Every column at 160x45: working sessions first, the run-away red with its badge."""
    assert snap_compare(fleet_app(fleet_dir), terminal_size=(160, 45))


def test_sessions_narrow(snap_compare, fleet_dir):
    """A tmux split pane, 80x24: status, project · title, total, hit, cost, last activity."""
    assert snap_compare(fleet_app(fleet_dir), terminal_size=(80, 24))


def test_sessions_grouped_by_cost(snap_compare, fleet_dir):
    """Grouped by project (p), sorted by cost (s to the 15th column), cursor moved down (j)."""
    assert snap_compare(fleet_app(fleet_dir), press=["p", *"s" * 15, "j", "j"], terminal_size=(160, 45))


def test_sessions_filtered_narrow(snap_compare, fleet_dir):
    """The filter input open with a query, in a narrow pane."""
    assert snap_compare(fleet_app(fleet_dir), press=["slash", *"gateway"], terminal_size=(80, 24))


def test_empty_state(snap_compare):
    """No transcripts: where tokdash looked and how to point it elsewhere."""
    roots = resolve_roots(list(SOURCES), {name: [f"/nonexistent/{name}"] for name in SOURCES})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook())
    app.load_sync()
    assert snap_compare(app, terminal_size=(100, 30))


def test_sessions_light_theme(snap_compare, fleet_dir):
    """The same table in a light theme: every style comes from the theme's variables."""

    async def light(pilot):
        pilot.app.theme = "textual-light"
        await pilot.pause()

    assert snap_compare(fleet_app(fleet_dir), run_before=light, terminal_size=(160, 45))


def test_detail_of_the_looping_session(snap_compare, fleet_dir):
    """The demo's looping session drilled into (filter, Enter, Enter): why it is heavy, its
    sub-agent-free timeline, its tools and the tips its own numbers give."""
    assert snap_compare(fleet_app(fleet_dir), press=["slash", *"payments", "enter", "enter"],
                        terminal_size=(160, 45))


def test_sessions_header_with_plan_windows_and_budgets(snap_compare, tmp_path, monkeypatch):
    """The header's second line leads with the gauges: Claude's official windows (as its status
    line recorded them), Codex's from its rollouts, and the day's and week's budgets."""
    from tests.ui.conftest import wait_for
    from tokdash.ingest import plan_limits
    from tokdash.model.limits import OFFICIAL, PlanWindow
    from tokdash.ui.widgets.header import HeaderStrip

    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    config = tmp_path / "config" / "tokdash" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[budget]\ndaily_usd = 200\nweekly_usd = 600\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    plan_limits.record([PlanWindow("claude", "5h", 42.0, NOW + 7200, NOW - 60, OFFICIAL),
                        PlanWindow("claude", "7d", 81.0, NOW + 3 * 86400, NOW - 60, OFFICIAL)])
    app = fleet_app(tmp_path)

    async def gauges(pilot):
        app._check_limits()
        header = app.screen.query_one(HeaderStrip)
        await wait_for(pilot, lambda: header._text is not None and "day $" in header._text.plain)

    assert snap_compare(app, run_before=gauges, terminal_size=(160, 45))
