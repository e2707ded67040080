"""The dashboard over the persistent index: the stored sessions at once, the same rows and totals
as ``--no-cache``, archived sessions kept and marked, records loaded on demand, and a fallback to
reading every transcript when the index cannot be used.

Every test has a data dir of its own (``TOKDASH_DATA_DIR``), so a relaunch finds the index
the previous run left.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.ui.conftest import fleet_dirs, wait_for
from tokdash.demo import Fleet
from tokdash.ingest.discovery import resolve_roots
from tokdash.ingest.index_feed import IndexFeed
from tokdash.model.pricing import PriceBook
from tokdash.sources import SOURCES
from tokdash.ui.app import TokdashApp
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.screens.history_sessions import HistorySessionsScreen
from tokdash.ui.widgets.header import HeaderStrip
from tokdash.ui.widgets.sessions_table import SessionsTable

NOW = 1_790_000_000.0
DEADLINE = 10.0


@pytest.fixture
def data_dir(tmp_path, monkeypatch, utc) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(d))
    return d


def fleet_roots(tmp_path: Path):
    fleet = Fleet(tmp_path / "fleet", now=NOW)
    fleet.write_history()
    return fleet, resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))


def make(roots, **kwargs) -> TokdashApp:
    return TokdashApp(roots, clock=lambda: NOW, watch=False, prices=PriceBook(), **kwargs)


def table_of(app) -> SessionsTable:
    return app.screen.query_one(SessionsTable)



async def settle(pilot, app) -> None:
    """The initial load is over, recent records are in, every session has its row."""
    await wait_for(pilot, lambda: not app.catalog.loading and not app.catalog.records_pending
                   and table_of(app).row_count == len(app.catalog.keys()) > 0)
    await pilot.pause(0.05)


def shown(app) -> dict:
    """What the sessions screen shows: rows in order, every session's numbers, the header."""
    table = table_of(app)
    return {
        "rows": table.row_keys(),
        "cells": {k: {c: table.spec(k)[c] for c in table.column_keys} for k in table.row_keys()},
        "summaries": {k: app.catalog.summary(k).to_json() for k in app.catalog.keys()},
        "header": app.screen.query_one(HeaderStrip)._text.plain,
    }


async def test_index_start_equals_the_no_cache_start(tmp_path, data_dir):
    fleet, roots = fleet_roots(tmp_path)
    seen = {}
    for name, cache in (("memory", False), ("cold index", True), ("warm index", True)):
        app = make(roots, cache=cache)
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot, app)
            assert app.feed.indexed is cache
            seen[name] = shown(app)
    assert len(seen["memory"]["rows"]) == len(fleet.sessions)
    assert seen["cold index"] == seen["memory"]
    assert seen["warm index"] == seen["memory"]


def test_seeded_synchronously_too(tmp_path, data_dir):
    _fleet, roots = fleet_roots(tmp_path)
    apps = []
    for cache in (False, True, True):
        app = make(roots, cache=cache, background_load=False)
        app.load_sync()
        apps.append(app)
    for app in apps[1:]:
        assert set(app.catalog.keys()) == set(apps[0].catalog.keys())
        for key in apps[0].catalog.keys():
            assert app.catalog.summary(key).to_json() == apps[0].catalog.summary(key).to_json()
            # Every recent session's calls are there: burn rates and the header need them.
            assert app.catalog.series(key).times == apps[0].catalog.series(key).times


async def test_a_warm_start_shows_every_session_before_reading_a_transcript(tmp_path, data_dir, monkeypatch):
    fleet, roots = fleet_roots(tmp_path)
    first = make(roots, background_load=False)
    first.load_sync()  # the index is built
    gate = threading.Event()
    real_sync = IndexFeed.sync

    def held_sync(self, *args, **kwargs):
        gate.wait(DEADLINE)
        return real_sync(self, *args, **kwargs)

    monkeypatch.setattr(IndexFeed, "sync", held_sync)
    app = make(roots)
    async with app.run_test(size=(160, 45)) as pilot:
        try:
            await wait_for(pilot, lambda: table_of(app).row_count == len(fleet.sessions))
            assert app.catalog.loading  # the sync has not run: these rows are the stored summaries
            assert "reading new transcript bytes" in app.screen.query_one(HeaderStrip)._text.plain
            assert table_of(app).cursor_row == 0
        finally:
            gate.set()
        await settle(pilot, app)
        assert table_of(app).row_count == len(fleet.sessions)


async def test_a_cold_start_says_it_builds_the_index(tmp_path, data_dir, monkeypatch):
    _fleet, roots = fleet_roots(tmp_path)
    gate = threading.Event()
    real_sync = IndexFeed.sync

    def held_sync(self, *args, **kwargs):
        gate.wait(DEADLINE)
        return real_sync(self, *args, **kwargs)

    monkeypatch.setattr(IndexFeed, "sync", held_sync)
    app = make(roots)
    async with app.run_test(size=(160, 45)) as pilot:
        try:
            await wait_for(pilot, lambda: "building the index" in app.screen.query_one(HeaderStrip)._text.plain)
            assert table_of(app).row_count == 0 and not app.screen.query_one("#empty").display
        finally:
            gate.set()
        await settle(pilot, app)
        assert "building the index" not in app.screen.query_one(HeaderStrip)._text.plain


def _delete_session(fleet: Fleet, title: str):
    plan_session = next(s for s in fleet.sessions if s.plan.prompt == title)
    plan_session.path.unlink()
    if plan_session.sub_path is not None and plan_session.sub_path.exists():
        plan_session.sub_path.unlink()
    agent = plan_session.plan.agent
    return (agent, plan_session.sid)


async def test_archived_sessions_stay_marked_in_the_table_and_the_detail(tmp_path, data_dir):
    from tests.ui.history_fixture import history_fleet

    fleet = history_fleet(tmp_path / "fleet")  # with a session six weeks old
    roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    first = make(roots, background_load=False)
    first.load_sync()
    title = "Write the v1 release notes"
    before = first.catalog.summary(next(k for k in first.catalog.keys() if first.catalog.summary(k).title == title))
    key = _delete_session(fleet, title)  # Claude Code's 30-day clean-up

    app = make(roots)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.catalog.archived == {key}
        assert app.catalog.summary(key).to_json() == before.to_json()  # the numbers outlive the files
        table = table_of(app)
        rk = f"{key[0]}:{key[1]}"
        spec = table.spec(rk)
        assert spec["status"] == (("◌", "archived"), (" ", ""), ("archived", "archived"))
        assert all(style == "archived" for c, cell in spec.items() if c != "status" for _t, style in cell)
        assert "archived" in table.get_cell(rk, "status").plain
        assert "(1 archived)" in app.screen.query_one(HeaderStrip)._text.plain
        # The filter finds them by that word.
        await pilot.press("slash", *"archived", "enter")
        await pilot.pause()
        assert table.row_keys() == [rk]
        # The detail: its records come from the index, on demand; the screen says it is archived.
        assert app.catalog.detail(key) is None  # six weeks old: its calls were never needed at start
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await wait_for(pilot, lambda: app.catalog.detail(key) is not None and screen.costs is not None)
        assert screen.has_class("-archived")
        assert screen.query_one("#detail-archived").display
        assert screen.summary.api_calls == before.api_calls > 0
        assert "archived" in str(screen.query_one("#detail-header").content)
        # In the History screen's drill-down too: six weeks back, `[` pages there.
        await pilot.press("escape", "escape", "h")
        history = app.screen
        assert isinstance(history, HistoryScreen)
        await wait_for(pilot, lambda: history.window is not None)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: history.window.total.sessions == 1)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HistorySessionsScreen)
        assert "archived" in app.screen.query_one("#history-sessions").get_cell(rk, "status").plain

    # Without the index there is no record of it at all.
    memory = make(roots, cache=False)
    async with memory.run_test(size=(160, 45)) as pilot:
        await settle(pilot, memory)
        assert key not in memory.catalog.keys() and not memory.catalog.archived


@pytest.mark.parametrize("background", [True, False], ids=["background", "sync"])
async def test_an_unusable_index_falls_back_to_reading_everything(tmp_path, monkeypatch, utc, background):
    not_a_dir = tmp_path / "data-is-a-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(not_a_dir))  # the index cannot even be created
    fleet, roots = fleet_roots(tmp_path)
    app = make(roots, background_load=background)
    if not background:
        app.load_sync()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert not app.feed.indexed
        assert table_of(app).row_count == len(fleet.sessions)
        assert any("index cannot be used" in n.message and "reading every transcript" in n.message
                   for n in app._notifications)
        assert sum(app.catalog.summary(k).api_calls for k in app.catalog.keys()) > 0


async def test_a_corrupt_index_is_moved_aside_rebuilt_and_said(tmp_path, data_dir):
    _fleet, roots = fleet_roots(tmp_path)
    expected = make(roots, cache=False, background_load=False)
    expected.load_sync()
    path = TokdashApp(roots, cache=True).feed.feed.index.path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 1000)
    app = make(roots)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.feed.indexed
        assert set(app.catalog.keys()) == set(expected.catalog.keys())
        assert any("damaged" in n.message for n in app._notifications)
    assert list(data_dir.glob("*.corrupt-*"))


@pytest.mark.parametrize("cache", [True, False], ids=["index", "memory"])
async def test_the_cursor_sits_on_the_top_row_after_loading_then_follows_its_session(tmp_path, data_dir, cache):
    _fleet, roots = fleet_roots(tmp_path)
    app = make(roots, cache=cache)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        table = table_of(app)
        assert table.cursor_row == 0 and table.cursor_key() == table.row_keys()[0]
        await pilot.press("j")
        key = table.cursor_key()
        assert key == table.row_keys()[1]
        before = table.row_keys()
        await pilot.press("s")  # by cost: another order
        assert table.row_keys() != before
        assert table.cursor_key() == key  # moved by the user: it follows its session


def test_no_cache_flag_reaches_the_app(monkeypatch, tmp_path, data_dir):
    from tokdash.cli import build_parser, main
    from tokdash.ui import app as app_module

    parser = build_parser()
    assert parser.parse_args(["--no-cache"]).no_cache is True
    assert parser.parse_args([]).no_cache is False
    assert parser.parse_args(["--no-cache", "report", "daily"]).no_cache is True
    assert parser.parse_args(["report", "daily", "--no-cache"]).no_cache is True
    assert parser.parse_args(["report", "daily"]).no_cache is False

    seen = {}

    def fake_run(self, *args, **kwargs):
        seen["indexed"] = self.feed.indexed
        seen["index_agents"] = set(self.feed.feed.roots.by_agent) if self.feed.indexed else None
        seen["agents"] = set(self.roots.by_agent)

    monkeypatch.setattr(app_module.TokdashApp, "run", fake_run)
    fleet, _roots = fleet_roots(tmp_path)
    dirs = ["--claude-dir", str(fleet.claude_dir), "--codex-dir", str(fleet.codex_dir)]
    assert main(["--agent", "claude", *dirs]) == 0
    # One index over every agent's roots (as for reports); only Claude shown.
    assert seen == {"indexed": True, "index_agents": set(SOURCES), "agents": {"claude"}}
    assert main(["--no-cache", *dirs]) == 0
    assert seen["indexed"] is False
    assert main(["--demo"]) == 0
    assert seen["indexed"] is False  # the demo's fleet is temporary: never indexed


async def test_an_agent_filter_shows_only_that_agent_from_a_shared_index(tmp_path, data_dir):
    fleet, _ = fleet_roots(tmp_path)
    every = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    only = resolve_roots(["claude"], fleet_dirs(fleet))
    app = make(only, index_roots=every)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot, app)
        assert app.catalog.keys() and all(k[0] == "claude" for k in app.catalog.keys())
        assert len(app.catalog.keys()) == sum(1 for s in fleet.sessions if s.plan.agent == "claude")
