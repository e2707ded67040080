"""The sessions screen at thousands of sessions: rows made only in view, orders built on a worker
(stale ones dropped, changes meanwhile kept), a first load taken in slices with keys answered
between them, and quitting that does not wait for a busy feed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from conftest import wait_for

from tokdash.ingest.discovery import resolve_roots
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.model.fleet import sort_value
from tokdash.model.pricing import PriceBook
from tokdash.model.records import Usage
from tokdash.model.session import ModelTotals, SessionSummary
from tokdash.ui import app as app_module
from tokdash.ui.app import TokdashApp
from tokdash.ui.feed_pump import SLICE_SESSIONS
from tokdash.ui.screens import sessions_order as sessions_module
from tokdash.ui.widgets.sessions_table import SessionsTable

NOW = 1_790_000_000.0
N = 12_000  # beyond INLINE_ROWS: orders are built on a worker
WORDS = ("gateway", "billing", "parser", "search", "deploy", "theme")


def summary(n: int, cost: float | None = None) -> SessionSummary:
    """A small session: ``n`` picks its project, title, cost and last activity."""
    usage = Usage(input=10 + n % 97, output=5 + n % 13, cache_write_5m=100, cache_read=900 * (n % 7))
    project = f"/src/{WORDS[n % len(WORDS)]}-{n % 300:03d}"
    cost = float(n % 89) / 7 if cost is None else cost
    last = NOW - 60 - 37 * n
    return SessionSummary(
        agent="claude", session_id=f"s{n:06d}", project=project, project_name=project.rsplit("/", 1)[-1],
        title=f"{WORDS[(n * 7) % len(WORDS)]} task {n}", git_branch=None, cli_version=None, paths=[],
        first_activity=last - 600, last_activity=last, usage=usage, by_model={"m": ModelTotals(usage, 1, cost)},
        subagents=[], api_calls=1, assistant_turns=1 + n % 5, prompts=1, tool_uses={}, compactions=0, rate_limits=0,
        api_errors=0, context_tokens=0, context_window=None, cost=cost, unpriced_models=[], open=False, bad_lines=0)


def fleet(n: int) -> dict:
    return {("claude", f"s{i:06d}"): summary(i) for i in range(n)}


def big_app(tmp_path: Path, n: int = N) -> TokdashApp:
    """An app over no transcripts whose catalog holds ``n`` sessions, seeded before it runs."""
    roots = resolve_roots(["claude"], {"claude": [str(tmp_path / "none")]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook(),
                     data_dir=tmp_path / "data")
    app.catalog.apply(FeedUpdate(fleet(n), complete=True, loaded=True))
    return app


def table_of(app) -> SessionsTable:
    return app.screen.query_one(SessionsTable)


def expected(app, sort_id: str, descending: bool, needle: str = "") -> list[str]:
    rows = [r for r in app.catalog.fleet.rows.values() if needle in r.haystack]
    rows.sort(key=lambda r: sort_value(r, sort_id), reverse=descending)
    return [f"{r.key[0]}:{r.key[1]}" for r in rows]


async def test_a_large_fleet_makes_only_the_rows_in_view(tmp_path, monkeypatch):
    made = []
    real = sessions_module.session_spec
    monkeypatch.setattr(sessions_module, "session_spec", lambda row, *a: made.append(row.key) or real(row, *a))
    app = big_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        assert table_of(app).row_count == N
        assert 0 < len(made) <= 44
        await pilot.press("j", "end", "k")
        await pilot.pause()
        assert len(made) <= 3 * 44


async def test_a_sort_key_builds_the_order_on_a_worker_and_the_cursor_keeps_its_session(tmp_path):
    app = big_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen, table = app.screen, table_of(app)
        await pilot.press("j", "j")
        key = table.cursor_key()
        await pilot.press("s")  # status -> agent (the next column shown)
        await wait_for(pilot, lambda: not screen.order_pending)
        await pilot.pause()
        assert screen.sort_key == "agent"
        assert table.row_keys() == expected(app, "agent", False)
        assert table.cursor_key() == key


async def test_filter_keystrokes_drop_stale_orders_and_the_last_one_shows(tmp_path):
    app = big_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen, table = app.screen, table_of(app)
        await pilot.press("slash", *"pars")  # four orders asked for, quickly: only the last one counts
        await wait_for(pilot, lambda: not screen.order_pending)
        await pilot.pause()
        assert screen.filter_text == "pars"
        assert table.row_keys() == expected(app, "status", True, "pars")
        header = app.screen.query_one("#header")
        assert header._state.stats.sessions == table.row_count == N // len(WORDS)


async def test_a_change_while_an_order_is_built_lands_in_it(tmp_path):
    app = big_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen, table = app.screen, table_of(app)
        screen._sort_by("cost")
        assert screen.order_pending
        key = ("claude", "s000123")
        app._take(FeedUpdate({key: summary(123, cost=10_000.0)}))  # the dearest session of all, meanwhile
        await wait_for(pilot, lambda: not screen.order_pending)
        await pilot.pause()
        assert table.row_keys()[0] == "claude:s000123"
        assert table.row_keys() == expected(app, "cost", True)


async def test_jumping_to_a_session_hidden_by_the_filter_waits_for_the_new_order(tmp_path):
    app = big_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen, table = app.screen, table_of(app)
        await pilot.press("slash", *"gateway", "enter")
        await wait_for(pilot, lambda: not screen.order_pending)
        target = ("claude", "s000001")  # a billing session: hidden by the filter
        assert f"claude:{target[1]}" not in table.row_keys()
        screen.jump_to(target)
        await wait_for(pilot, lambda: not screen.order_pending)
        await pilot.pause()
        assert screen.filter_text == "" and table.cursor_key() == "claude:s000001"


async def test_a_first_load_of_thousands_is_taken_in_slices_with_keys_answered_between(tmp_path):
    roots = resolve_roots(["claude"], {"claude": [str(tmp_path / "none")]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, prices=PriceBook(), data_dir=tmp_path / "data")
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: not app.catalog.loading)
        seen = []  # sessions in the catalog when the key was answered
        screen = app.screen
        down = screen.action_cursor_down
        screen.action_cursor_down = lambda: (seen.append(len(app.catalog.keys())), down())
        update = FeedUpdate(fleet(5 * SLICE_SESSIONS), complete=True, note="reading…")
        app._take(update)
        assert len(app.catalog.keys()) == SLICE_SESSIONS  # the first slice only, at once
        await pilot.press("j")  # answered while the rest waits its turn
        assert seen and seen[0] < 5 * SLICE_SESSIONS
        await wait_for(pilot, lambda: len(app.catalog.keys()) == 5 * SLICE_SESSIONS)
        await wait_for(pilot, lambda: not app.screen.order_pending)
        await pilot.pause()
        assert table_of(app).row_count == 5 * SLICE_SESSIONS


async def test_quitting_does_not_wait_for_a_busy_feed(tmp_path):
    roots = resolve_roots(["claude"], {"claude": [str(tmp_path / "none")]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, prices=PriceBook(), data_dir=tmp_path / "data")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: not app.catalog.loading)
        app._pool.submit(time.sleep, 30)  # a long load on the feed's thread
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < app_module.CLOSE_WAIT_SECONDS + 2


def test_the_process_ends_while_the_feed_thread_is_busy():
    """The feed's thread is a daemon: the interpreter does not join it at exit (a
    ThreadPoolExecutor's would be joined: a 19 s quit at 50,000 sessions)."""
    code = ("import time; from tokdash.ui.feed_thread import FeedThread; t = FeedThread();"
            "t.submit(time.sleep, 30); t.finish(lambda: None, 0.2)")
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20, cwd=Path(__file__).parents[2])
    assert time.monotonic() - started < 10
