"""The help screen: every key and every formula, opened with ? and closed with Esc."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import Static

from tests.ui.detail_fixture import fixture_app, open_detail
from tokdash.model import activity, insights
from tokdash.model.heavy import HeavyThresholds
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.help import HelpScreen
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.screens.history_sessions import HistorySessionsScreen
from tokdash.ui.screens.sessions import SessionsScreen
from tokdash.ui.widgets.day_bars import DayBars


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    """One copy of the fixture session (and one index) for the tests that only read it."""
    return tmp_path_factory.mktemp("detail")


@pytest.fixture
def app(session_dir, utc):
    return fixture_app(session_dir)


def text_of(widget, width: int = 150) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def help_text(screen) -> str:
    return "\n".join(text_of(w) for w in screen.query(Static))


async def open_help(pilot) -> HelpScreen:
    await pilot.pause()
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(pilot.app.screen, HelpScreen)
    return pilot.app.screen


async def test_help_lists_every_formula_and_rule(app):
    async with app.run_test(size=(160, 45)) as pilot:
        text = help_text(await open_help(pilot))
        flat = " ".join(text.split())
        for phrase in (
            "input + output + cache write + cache read",
            "cache_read / (input + cache_write + cache_read)",
            "Green ≥ 70 %, amber 30–70 %, red < 30 %",
            "the last main-chain call's input + cache read + cache write",
            "5-minute write 1.25× input, 1-hour write 2× input, read 0.1× input",
            "tier threshold",
            "fast-mode multiplier",
            "web searches × fee per search",
            "counted once across every file",
            "lower bounds",
            "cache counts are exact",
            "genai-prices",
        ):
            assert phrase in flat, phrase
        h = HeavyThresholds()
        assert f"{h.churn_write_tokens:,}+ tokens written" in flat and "waits for you" in flat
        assert f"less than {activity.WORKING_SECONDS / 60:g} min ago" in flat
        assert f"{insights.THRASH_RUN_CALLS}+ main-chain calls" in flat


async def test_help_lists_every_key_of_every_screen(app):
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_help(pilot)
        keys = " ".join(text_of(screen.query_one("#help-keys", Static), width=200).split())
        for cls in (SessionsScreen, SessionDetailScreen, HistoryScreen, DayBars, HistorySessionsScreen):
            for b in cls.BINDINGS:
                if not isinstance(b, tuple):
                    assert (b.tooltip or b.description) in keys, b
        assert "Quit tokdash" in keys  # the app's own
        assert "command palette" in keys
        assert "History: spend per day" in keys  # the sessions screen's h


async def test_help_describes_the_default_sort_and_the_heavy_config_keys(app):
    from tokdash.model import heavy

    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_help(pilot)
        flat = " ".join(text_of(screen.query_one("#help-rules", Static), width=200).split())
        assert "working first (by start time" in flat and "then by last activity" in flat
        defaults = HeavyThresholds()
        for key, (attr, scale) in heavy.CONFIG_KEYS.items():
            value = round(getattr(defaults, attr) / scale, 6)
            # Written as in config.toml: 1_000_000, not 1e+06.
            shown = f"{int(value):_}" if value == int(value) else f"{value:g}"
            assert f"{key} = {shown}" in flat, key
        assert "cost_factor = 5" in flat and "context_percent = 80" in flat  # as the docs write them
        assert "archived" in flat


async def test_help_shows_the_configured_heavy_thresholds(tmp_path, utc):
    app = fixture_app(tmp_path, heavy=HeavyThresholds(churn_write_tokens=123_456))
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_help(pilot)
        assert "123,456+ tokens written" in " ".join(text_of(screen.query_one("#help-rules", Static)).split())


@pytest.mark.parametrize("key", ["escape", "question_mark", "backspace"])
async def test_help_opens_and_closes(app, key):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_help(pilot)
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)


async def test_help_from_the_detail_screen_returns_there(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot)
        await open_help(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)


async def test_help_scrolls_at_80x24(app):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_help(pilot)
        scroll = screen.query_one("#help-scroll")
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y


def test_help_wide(snap_compare, app):
    assert snap_compare(app, terminal_size=(160, 45), press=["question_mark"])


def test_help_narrow(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["question_mark"])
