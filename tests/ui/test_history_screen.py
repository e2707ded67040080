"""The History screen (``h``): 30 days of bars, per project and per model, drill-down to sessions
and on to a session's detail, Esc back at each level, live updates coalesced; over the index
and in memory the same numbers. Local time is UTC here and the clock is frozen at ``NOW``.
"""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from tests.ui.conftest import fleet_dirs, wait_for
from tests.ui.history_fixture import NOW, history_app, history_fleet
from tests.ui.test_live import assistant_line, prompt_line
from tokdash.ingest.catalog import Changes
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.history import HistoryWindow
from tokdash.model.pricing import PriceBook
from tokdash.ui.app import TokdashApp
from tokdash.ui.messages import CatalogChanged
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.screens.history_sessions import HistorySessionsScreen
from tokdash.ui.screens.sessions import SessionsScreen
from tokdash.ui.widgets.day_bars import DAYS, BarGeometry, DayBars, render_bars
from tokdash.ui.widgets.history_table import HistoryTable

TODAY = date(2026, 9, 21)
DEADLINE = 5.0


@pytest.fixture(autouse=True)
def _utc(utc):
    """Days are UTC days (the conftest's ``utc`` pins local time)."""


@pytest.fixture(scope="module")
def _shared_fleet(tmp_path_factory):
    """One fleet (and so one index, in the suite's data dir) for the tests that only read."""
    return history_fleet(tmp_path_factory.mktemp("history") / "fleet")


@pytest.fixture
def shared(_shared_fleet, utc):
    """Make an app over the shared fleet: the first builds its index, the others start warm."""
    def make(cache: bool = True):
        fleet = _shared_fleet
        roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
        app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook(),
                         cache=cache)
        app.load_sync()
        return app
    return make



async def open_history(pilot) -> HistoryScreen:
    await pilot.press("h")
    screen = pilot.app.screen
    assert isinstance(screen, HistoryScreen)
    await wait_for(pilot, lambda: screen.window is not None)
    await pilot.pause()
    return screen


def sessions_table(app):
    return app.screen.query_one("#history-sessions")


def shown_keys(table) -> set[str]:
    return {row.key.value for row in table.ordered_rows}


def figures(window: HistoryWindow) -> dict:
    """Every number the screen shows, comparable across apps."""
    def rows(rs):
        return [(r.key, r.calls, r.cost_pico, r.usage.total, sorted(r.session_keys)) for r in rs]
    return {"days": rows(window.days), "projects": rows(window.projects), "models": rows(window.models)}


async def test_h_opens_30_days_of_bars_today_marked_and_picked(shared, _shared_fleet):
    app = shared()
    midnight = NOW - NOW % 86400  # local time is UTC here
    # Sessions with calls today (working ones, and those that stopped after midnight), and in the
    # 30 days (the one six weeks back is outside).
    today = [p for p in (s.plan for s in _shared_fleet.sessions) if NOW - (p.end_ago or 0) >= midnight]
    month = [p for p in (s.plan for s in _shared_fleet.sessions) if NOW - (p.end_ago or 0) >= midnight - 29 * 86400]
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        w = screen.window
        assert len(w.days) == DAYS and w.days[-1].start == TODAY and w.first_day == date(2026, 8, 23)
        bars = screen.query_one(DayBars)
        assert app.focused is bars and bars.selected == DAYS - 1
        text = bars.render().plain
        assert "today" in text and "Mon Sep 21 (today)" in text
        assert w.days[-1].sessions == len(today) >= 10
        assert w.total.sessions == len(month) < len(_shared_fleet.sessions)
        assert {r.label for r in w.projects} >= {"web-dashboard", "api-gateway", "monorepo", "infra"}
        projects = screen.query_one("#history-projects", HistoryTable)
        models = screen.query_one("#history-models", HistoryTable)
        assert projects.row_count == len(w.projects) and models.row_count == len(w.models)
        # Sums: the days add up to the window, and so do the projects and the models.
        for rows in (w.days, w.projects, w.models):
            assert sum(r.cost_pico for r in rows) == w.total.cost_pico
            assert sum(r.usage.total for r in rows) == w.total.usage.total


async def test_the_index_and_memory_show_the_same_history(shared):
    index_app, memory_app = shared(cache=True), shared(cache=False)
    seen = []
    for app in (index_app, memory_app):
        async with app.run_test(size=(160, 45)) as pilot:
            seen.append(figures((await open_history(pilot)).window))
    assert seen[0] == seen[1]


async def test_drill_down_day_session_detail_and_escape_back_at_each_level(shared):
    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        today = screen.window.days[-1]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HistorySessionsScreen)
        table = sessions_table(app)
        assert shown_keys(table) == {f"{a}:{s}" for a, s in today.session_keys}
        first = table.ordered_rows[0].key.value
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)
        assert f"{app.screen.key[0]}:{app.screen.key[1]}" == first
        for back_to in (HistorySessionsScreen, HistoryScreen, SessionsScreen):
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, back_to)


async def test_left_picks_an_earlier_day_and_its_sessions(shared):
    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        await pilot.press(*["left"] * 5)  # Sep 16: the dark-mode session, 5.2 days back
        bars = screen.query_one(DayBars)
        assert bars.selected == DAYS - 6
        day = screen.window.days[bars.selected]
        assert day.start == date(2026, 9, 16) and day.sessions == 1
        assert "Wed Sep 16" in bars.render().plain
        await pilot.press("enter")
        await pilot.pause()
        (key,) = day.session_keys
        assert shown_keys(sessions_table(app)) == {f"{key[0]}:{key[1]}"}
        assert app.catalog.summary(key).title == "Dark mode for the settings page"


async def test_a_click_picks_a_day_and_a_second_click_lists_its_sessions(shared):

    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        bars = screen.query_one(DayBars)
        g = BarGeometry.of(screen.window, bars.content_size.width)
        x = 1 + g.base + (DAYS - 6) * g.col  # padding, then Sep 16's column
        await pilot.click(DayBars, offset=(x, 2))
        assert bars.selected == DAYS - 6
        await pilot.click(DayBars, offset=(x, 2))
        await pilot.pause()
        assert isinstance(app.screen, HistorySessionsScreen)
        assert "Wed Sep 16" in app.screen.heading


async def test_project_and_model_rows_drill_down(shared):
    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        w = screen.window
        await pilot.press("tab")
        assert app.focused is screen.query_one("#history-projects")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HistorySessionsScreen)
        assert shown_keys(sessions_table(app)) == {f"{a}:{s}" for a, s in w.projects[0].session_keys}
        assert w.projects[0].label in app.screen.heading
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("tab", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, HistorySessionsScreen)
        assert shown_keys(sessions_table(app)) == {f"{a}:{s}" for a, s in w.models[1].session_keys}
        assert w.models[1].key in app.screen.heading
        # Each session's share of the model: the rows add up to the model's row.
        shares = [row for _key, row in app.screen.rows]
        assert sum(r.cost_pico for r in shares) == w.models[1].cost_pico


async def test_brackets_page_through_earlier_days_and_t_comes_back(shared):
    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        await pilot.press("left_square_bracket")
        # Before Aug 23 the only activity is six weeks back (Aug 7): the window ends there.
        await wait_for(pilot, lambda: screen.window.last_day == date(2026, 8, 7))
        assert screen.window.total.sessions == 1
        assert screen.query_one(DayBars).selected == DAYS - 1  # the busy day is picked
        await pilot.press("left_square_bracket")  # nothing earlier: it stays
        await pilot.pause()
        assert screen.window.last_day == date(2026, 8, 7)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.window.last_day == date(2026, 9, 6))
        await pilot.press("t")
        await wait_for(pilot, lambda: screen.window.last_day == TODAY)
        assert screen.query_one(DayBars).selected == DAYS - 1


async def test_new_data_updates_the_screen_coalesced(tmp_path):
    app, fleet = history_app(tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        screen.refresh_seconds = 0.25
        before = screen.window.days[-1]
        n = screen.computed
        # A burst of change notices (an agent streaming), each handled before the next: one
        # recomputation at once, then at most one per interval, not one per notice.
        started = time.monotonic()
        for _ in range(20):
            screen.post_message(CatalogChanged(Changes(sessions=frozenset({("claude", "x")}))))
            await pilot.pause(0.01)
        elapsed = time.monotonic() - started
        await pilot.pause(0.4)
        assert 1 <= screen.computed - n <= 2 + int(elapsed / screen.refresh_seconds) < 20
        # A new session today: its call shows in today's bar and the project tables.
        sid = "0badc0de-0000-4000-8000-000000000001"
        proj = fleet.claude_dir / "projects" / "-work-live"
        proj.mkdir(parents=True)
        path = proj / f"{sid}.jsonl"
        path.write_bytes(prompt_line(NOW - 90, sid) + b"\n" + assistant_line(1, NOW - 60, sid) + b"\n")
        await app.refresh_files([("claude", path)])
        await wait_for(pilot, lambda: screen.window.days[-1].sessions == before.sessions + 1)
        assert screen.window.days[-1].cost_pico > before.cost_pico
        assert ("claude", sid) in screen.window.days[-1].session_keys
        assert "live" in {r.label for r in screen.window.projects}


async def test_hidden_history_catches_up_on_return(shared):
    app = shared()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_history(pilot)
        screen.refresh_seconds = 0.0
        await pilot.press("enter")  # today's sessions: the history is hidden
        await pilot.pause()
        n = screen.computed
        for _ in range(5):
            screen.post_message(CatalogChanged(Changes(sessions=frozenset({("claude", "x")}))))
        await pilot.pause(0.2)
        assert screen.computed == n  # nothing computed while hidden
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.computed == n + 1)


@pytest.mark.parametrize("width", [80, 160])
def test_bars_fit_the_width_and_mark_today(tmp_path, width):
    from tokdash.model.history import HistoryRow, Usage, history_window

    window = history_window([], {}, date(2026, 8, 23), DAYS)
    # Give a few days some spend.
    for i, cost in ((3, 2.5), (17, 40.0), (29, 12.0)):
        row = window.days[i]
        row.cost_pico = int(cost * 1e12)
        row.usage = Usage(input=1000 * (i + 1))
        row.calls = 3
        row.session_keys = {("claude", f"s{i}")}
        window.total.add  # noqa: B018 - the window's total is not used by the bars but for the scale
    window.total = HistoryRow("total", "total", cost_pico=int(54.5e12), usage=Usage(input=1))
    text = render_bars(window, 29, TODAY, width - 2, 10, {})
    lines = text.plain.split("\n")
    assert len(lines) == 10
    assert max(len(line) for line in lines) <= width - 2
    assert "today" in lines[-2]
    assert "▲" in lines[-1] and "Mon Sep 21 (today) · $12.00" in lines[-1]
    assert "$40.00" in lines[0]  # the scale: the busiest day
    assert "█" in "\n".join(lines[:-2])


def _history_ready():
    async def run_before(pilot) -> None:
        await pilot.press("h")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.window is not None)
        await pilot.pause()
    return run_before


def test_history_wide(snap_compare, shared):
    """160x45: 30 days of bars (today's marked and picked), projects and models side by side."""
    app = shared()
    assert snap_compare(app, terminal_size=(160, 45), run_before=_history_ready())


def test_history_narrow(snap_compare, shared):
    """80x24, a tmux pane: thinner bars, the essential columns of each table."""
    app = shared()
    assert snap_compare(app, terminal_size=(80, 24), run_before=_history_ready())


def test_history_fixture_is_valid_json_lines(tmp_path):
    from tests.ui.history_fixture import history_fleet

    fleet = history_fleet(tmp_path)
    transcripts = [s.path for s in fleet.sessions if s.path.suffix in (".jsonl", ".json")]
    assert len(transcripts) >= len(fleet.sessions) // 2  # OpenCode's live in its database
    for path in transcripts:
        data = path.read_bytes()
        if path.suffix == ".json":
            json.loads(data)  # a legacy Gemini document
        else:
            for line in data.splitlines():
                json.loads(line)
