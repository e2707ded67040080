"""The detail screen, driven by keys: every number is there, `c` copies, Esc returns, live updates,
and transcript strings never act as markup or escape sequences."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from tests.ui.detail_fixture import (
    CWD,
    KEY,
    NOW,
    SESSION_ID,
    TITLE,
    fixture_app,
    open_detail,
    write_session,
)
from tests.unit.builders import OPUS, ClaudeSession, claude_main_path, prices
from tokdash.format import clean, fmt_cost, fmt_rate, fmt_tokens
from tokdash.ingest.catalog import Changes
from tokdash.ingest.loader import Loader
from tokdash.model.costs import session_costs
from tokdash.model.heavy import HeavyThresholds
from tokdash.model.session import summarize
from tokdash.ui.messages import CatalogChanged
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.widgets.timeline import Timeline


def read_again(app, key=KEY):
    """The session read from its transcripts by a loader of the test's own (not the app's)."""
    loader = Loader(app.roots)
    loader.load_all()
    return loader.store.sessions[key]


def text_of(widget, width: int = 150) -> str:
    """What a widget shows, as plain text."""
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    renderable = widget.render() if isinstance(widget, Timeline) else widget.content
    console.print(renderable)
    return console.export_text()


def screen_text(screen: SessionDetailScreen) -> str:
    return "\n".join(text_of(w) for w in screen.query("Static, Timeline"))


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    """One copy of the fixture session (and one index) for the tests that only read it."""
    return tmp_path_factory.mktemp("detail")


@pytest.fixture
def app(session_dir, utc):
    return fixture_app(session_dir)


async def test_every_key_number_is_shown(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        s = summarize(read_again(app), prices())
        text = screen_text(screen)
        u = s.usage
        for number in (u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.total):
            assert f"{number:,}" in text
        assert fmt_cost(s.cost) in text
        assert fmt_rate(s.cache_hit_rate) in text
        assert f"{s.context_pct * 100:.0f} %" in text and fmt_tokens(s.context_window) in text
        assert s.resume_command in text and SESSION_ID in text
        assert "fix/rounding" in text and "2.1.39" in text
        for model in s.by_model:
            assert model in text
        assert "a1b2c3d4" in text  # the sub-agent, with its own model and cost
        assert fmt_cost(s.subagents[0].cost) in text
        for tool, count in s.tool_uses.items():
            assert f"{tool} {count}" in text
        activity = text_of(screen.query_one("#detail-activity", Static))
        assert "rate-limit hits  1" in activity
        assert "prompts          2" in activity
        assert "compactions  1" in text_of(screen.query_one("#detail-cache", Static))
        assert "cache read / (input + cache write + cache read)" in text
        # cost by kind sums to the total
        costs = session_costs(read_again(app), prices())
        assert costs.total == pytest.approx(s.cost)
        assert fmt_cost(costs.by_kind.cache_write_1h) in text
        # the honesty note
        assert "lower bounds" in text and "cache counts are exact" in text and "genai-prices" in text


async def test_tips_show_figure_and_saving(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        screen = app.screen
        assert [t.id for t in screen.tips] == ["large_tool_outputs"]
        text = text_of(screen.query_one("#detail-tips", Static))
        tip = screen.tips[0]
        assert tip.figure in text
        assert f"saves ≈ {fmt_cost(tip.saving_usd)}" in text


async def test_heavy_threshold_is_named(tmp_path, utc):
    # As configured in [heavy]: one whole read per turn is enough to count as a loop here.
    app = fixture_app(tmp_path, heavy=HeavyThresholds(loop_turns_per_prompt=1, loop_repeats=1))
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        heavy = app.screen.query_one("#detail-heavy", Static)
        assert not heavy.has_class("-none")
        s = app.catalog.summary(KEY)
        assert s.repeat == ("Read", "/home/dev/billing.py", 1)
        assert (f"HEAVY: loop: {s.assistant_turns} turns for {s.prompts} prompts, Read billing.py ×1"
                in text_of(heavy))


async def test_heavy_is_the_apps_verdict(app, monkeypatch):
    from tokdash.model.heavy import Tripped

    # the app judges the spend rate against the fleet; the screen shows its verdict
    verdict = (Tripped("rate", 40.0, 12.0, "$40.00/h > 3x fleet median $4.00/h"),)
    async with app.run_test(size=(160, 45)) as pilot:
        app.catalog.row(KEY).heavy = verdict
        await open_detail(pilot)
        heavy = app.screen.query_one("#detail-heavy", Static)
        assert "HEAVY: $40.00/h > 3x fleet median $4.00/h" in text_of(heavy)


async def test_not_heavy_shows_no_line(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        assert app.catalog.row(KEY).heavy == ()
        assert app.screen.query_one("#detail-heavy", Static).has_class("-none")


async def test_c_copies_the_resume_command_and_shift_c_the_id(app, monkeypatch):
    copied: list[str] = []
    real = app.copy_to_clipboard
    monkeypatch.setattr(app, "copy_to_clipboard", lambda text: (copied.append(text), real(text)))
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert copied == [f"claude --resume {SESSION_ID}"]
        assert app.clipboard == f"claude --resume {SESSION_ID}"
        await pilot.press("C")
        await pilot.pause()
        assert copied[-1] == SESSION_ID
        assert any(SESSION_ID in n.message for n in app._notifications)


async def test_t_jumps_to_the_tips_in_a_narrow_pane(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot)
        scroll = app.screen.query_one("#detail-scroll")
        assert scroll.scroll_y == 0
        await pilot.press("t")
        await pilot.pause()
        heading = app.screen.query_one("#detail-tips-heading")
        assert scroll.scroll_y > 0 and heading.region.y <= 2  # the tips' heading at the top


@pytest.mark.parametrize("key", ["escape", "backspace"])
async def test_escape_returns_to_the_screen_below(app, key):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        assert isinstance(app.screen, SessionDetailScreen)
        below = app.screen_stack[-2]
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is below
        assert type(below).__name__ == "SessionsScreen"


async def test_question_mark_opens_help(app):
    from tokdash.ui.screens.help import HelpScreen

    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)


async def test_transcript_strings_are_plain_text(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        header = app.screen.query_one("#detail-header", Static).content
        assert isinstance(header, Text)
        # the markup in the title and cwd is shown literally, the escape sequence is gone
        assert clean(TITLE) in header.plain and CWD in header.plain
        assert "[bold red]billing[/]" in header.plain
        assert "\x1b" not in header.plain
        assert not any("red" in str(span.style) for span in header.spans)
        # nothing anywhere on the screen lets a control character through
        assert "\x1b" not in screen_text(app.screen)


def test_clean_strips_control_and_bidi_characters():
    assert clean("a\x1b[2Jb\x07c\u202ed\ne\tf\u2028g") == "a[2Jbcd e f g"
    assert clean(None) == ""
    assert clean("café — ✓ 日本") == "café — ✓ 日本"


@pytest.mark.parametrize("cache", [True, False], ids=["index", "memory"])
async def test_updates_live_when_its_session_changes(tmp_path, utc, cache):
    app = fixture_app(tmp_path, cache=cache)
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        screen = app.screen
        before = screen.summary.api_calls
        kinds = screen.query_one("#detail-kinds", Static)
        shown = kinds.content
        # Another session changes: nothing is recomputed or redrawn.
        screen.post_message(CatalogChanged(Changes(sessions=frozenset({("claude", "someone-else")}))))
        await pilot.pause()
        assert kinds.content is shown
        # This session gets a new call: a line appended to its transcript, read as the
        # watcher would, merged by the app, which tells every screen.
        more = ClaudeSession(SESSION_ID, cwd=CWD, clock=4_000)
        more.response(model=OPUS, input=7, output=333, cache_write_1h=1_000, cache_read=40_000)
        path = claude_main_path(tmp_path / "projects", CWD, SESSION_ID)
        with open(path, "ab") as f:
            f.write(more.data())
        await app.refresh_files([("claude", path)])
        deadline = time.monotonic() + 5
        while (screen.summary.api_calls == before or kinds.content is shown) and time.monotonic() < deadline:
            await pilot.pause(0.01)
        assert screen.summary.api_calls == before + 1
        assert kinds.content is not shown
        assert f"{screen.summary.usage.total:,}" in text_of(kinds)


async def test_refresh_is_a_no_op_without_a_change(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        screen = app.screen
        shown = screen.query_one("#detail-kinds", Static).content
        screen.refresh_from_catalog()
        assert screen.query_one("#detail-kinds", Static).content is shown


async def test_a_session_missing_from_the_catalog_says_so(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot, ("claude", "gone"))
        assert "not in the catalog" in text_of(app.screen.query_one("#detail-header", Static))


async def test_scrolls_at_80x24_down_to_the_tips(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot)
        scroll = app.screen.query_one("#detail-scroll")
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        tips = app.screen.query_one("#detail-tips", Static)
        assert tips.region.y < 24  # visible now
        await pilot.press("home")
        await pilot.press("j", "j")
        await pilot.pause()
        assert scroll.scroll_y > 0


async def test_timeline_fits_80_columns(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot)
        timeline = app.screen.query_one(Timeline)
        lines = text_of(timeline, width=timeline.size.width).splitlines()
        assert lines and max(len(line.rstrip()) for line in lines) <= timeline.size.width
        assert "tokens per call" in text_of(timeline, width=200)


async def test_empty_session_shows_no_calls(tmp_path, utc):
    write_session(tmp_path)
    empty = ClaudeSession("empty", cwd=CWD)
    empty.prompt("hello?")  # known by its file, no call read yet
    empty.write(claude_main_path(tmp_path / "projects", CWD, "empty"))
    app = fixture_app(tmp_path, cache=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, ("claude", "empty"))
        assert "no API calls yet" in text_of(app.screen.query_one(Timeline))
        assert "No tips" in text_of(app.screen.query_one("#detail-tips", Static))


def test_fixture_writes_two_files(tmp_path):
    assert len(write_session(tmp_path)) == 2


async def test_tick_updates_ages_and_repaints_only_on_change(app):
    async with app.run_test(size=(160, 45)) as pilot:
        await open_detail(pilot)
        screen = app.screen
        header = screen.query_one("#detail-header", Static)
        shown = header.content
        screen._tick()
        assert header.content is shown  # same clock: nothing to repaint
        app.clock = lambda: NOW + 3 * 3600
        screen._tick()
        assert header.content is not shown
        assert "last activity 3h ago" in text_of(header)
