"""Pilot tests of the sessions screen: keys, filter, sort, grouping, drill-down, palette, safety."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tokdash.demo import Fleet
from tokdash.demo.plans import PLANS
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.pricing import PriceBook
from tokdash.ui.app import TokdashApp
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.help import HelpScreen
from tokdash.ui.screens.sessions import SessionsScreen
from tokdash.ui.widgets.sessions_table import SessionsTable

NOW = 1_790_000_000.0
"""A frozen "now" (2026-09-21 14:13 UTC): the generated fleet's history ends here."""


AGENTS = ("claude", "codex")
"""The agents whose homes these tests read."""
PLANNED = [plan for plan in PLANS if plan.agent in AGENTS]
SESSIONS = len(PLANNED)
"""Sessions of the demo fleet the table shows: every planned one of those agents."""
WORKING = sum(plan.end_ago is None for plan in PLANNED)
"""Its live sessions: each is working at ``now``."""


def fleet_app(root: Path, **kwargs) -> tuple[TokdashApp, Fleet]:
    """An app over a generated fleet under ``root`` (written on first use), seeded synchronously,
    on a frozen clock."""
    fleet = Fleet(root / "fleet", now=NOW)
    if not fleet.root.exists():
        fleet.write_history()
    roots = resolve_roots(list(AGENTS), {"claude": [str(fleet.claude_dir)], "codex": [str(fleet.codex_dir)]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False,
                     prices=PriceBook(), **kwargs)
    app.load_sync()
    return app, fleet


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory) -> Path:
    """One fleet for the tests that only read it (and one index: the first test builds it)."""
    return tmp_path_factory.mktemp("sessions")


def table_of(app: TokdashApp) -> SessionsTable:
    return app.screen.query_one(SessionsTable)


def cell(table: SessionsTable, key: str, column: str) -> str:
    return table.get_cell(key, column).plain.strip()


async def test_every_session_has_a_row_wide_and_essential_columns_narrow(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        assert table.row_count == len(app.catalog.keys()) == SESSIONS
        assert table.column_keys == [
            "status", "agent", "project", "title", "models", "turns", "input", "output",
            "cache_write", "cache_read", "total", "hit", "ctx", "cost", "burn", "last", "duration",
        ]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert table.column_keys == ["status", "name", "total", "hit", "cost", "last"]
        assert table.row_count == SESSIONS


async def test_working_sessions_come_first(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)):
        table = table_of(app)
        statuses = [cell(table, k, "status").split()[-1] for k in table.row_keys()]
        assert statuses[:WORKING] == ["working"] * WORKING
        # The one that stopped mid-turn 12 minutes ago is idle; the rest stopped hours ago.
        assert statuses[WORKING] == "idle"
        assert set(statuses[WORKING + 1:]) == {"done"}


async def test_j_and_k_move_the_cursor(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        assert table.cursor_row == 0
        await pilot.press("j", "j", "down")
        assert table.cursor_row == 3
        await pilot.press("k", "up")
        assert table.cursor_row == 1


async def test_every_column_sorts_and_the_cursor_stays_on_its_session(fleet_dir):
    from tokdash.model.fleet import sort_value

    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        screen = app.screen
        await pilot.press("j", "j", "j", "j")
        key = table.cursor_key()
        before = table.row_keys()
        columns = table.column_keys
        orders = set()
        for i in range(len(columns)):  # s moves the sort through every column shown
            await pilot.press("s")
            column = screen.sort_key
            assert column == columns[(i + 1) % len(columns)]
            rows = [app.catalog.row(tuple(k.split(":", 1))) for k in table.row_keys()]
            expected = sorted(rows, key=lambda r: sort_value(r, "project" if column == "name" else column),
                              reverse=screen.descending)
            assert [r.key for r in rows] == [r.key for r in expected], column
            assert table.cursor_key() == key  # moved by the user: it follows its session
            orders.add(tuple(table.row_keys()))
        assert len(orders) > 5  # the columns really order the rows differently
        assert screen.sort_key == "status" and table.row_keys() == before
        await pilot.press("S")  # reversed
        assert table.row_keys() == before[::-1] or table.row_keys() != before
        assert table.cursor_key() == key


async def test_text_columns_sort_a_to_z_and_numbers_largest_first(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)):
        screen = app.screen
        screen._sort_by("project")
        assert not screen.descending
        labels = [app.catalog.row(tuple(k.split(":", 1))).label.lower() for k in table_of(app).row_keys()]
        assert labels == sorted(labels)
        screen._sort_by("per_prompt")
        assert screen.descending and "turns per prompt ▼" in screen.sort_label()


async def test_slash_filters_by_text_and_escape_clears(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("slash")
        await pilot.press(*"gateway")
        await pilot.pause()
        keys = table.row_keys()
        assert 0 < len(keys) < SESSIONS
        for k in keys:
            assert "gateway" in app.catalog.summary(tuple(k.split(":", 1))).project
        await pilot.press("enter")
        assert app.focused is table
        assert len(table.row_keys()) == len(keys)  # Enter keeps the filter


async def test_escape_clears_the_filter(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("slash", *"terraform")
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == SESSIONS
        assert app.focused is table


async def test_typing_in_the_filter_does_not_trigger_keys(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = app.screen
        await pilot.press("slash", *"qsag")
        await pilot.pause()
        assert app.is_running
        assert screen.sort_key == "status" and not screen.only_working and not screen.grouped
        assert screen.filter_text == "qsag"


async def test_a_shows_only_working_sessions(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("a")
        statuses = [cell(table, k, "status").split()[-1] for k in table.row_keys()]
        assert statuses == ["working"] * WORKING
        await pilot.press("a")
        assert table.row_count == SESSIONS


async def test_p_groups_by_project(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("p")
        keys = table.row_keys()
        groups = [k for k in keys if k.startswith("group:")]
        projects = {app.catalog.summary(k).project for k in app.catalog.keys()}
        assert len(groups) == len(projects)
        assert keys[0].startswith("group:")
        # Every session sits under its own project's header.
        current = None
        for k in keys:
            if k.startswith("group:"):
                current = k.removeprefix("group:")
            else:
                assert app.catalog.summary(tuple(k.split(":", 1))).project == current
        # A group row sums its sessions' cost.
        web = [k for k in app.catalog.keys() if app.catalog.summary(k).project == "/home/dev/src/web-dashboard"]
        total = sum(app.catalog.summary(k).cost for k in web)
        assert cell(table, "group:/home/dev/src/web-dashboard", "cost") == f"${total:,.2f}"
        await pilot.press("p")
        assert not any(k.startswith("group:") for k in table.row_keys())


async def test_home_end_and_g_g_move_to_the_first_and_last_rows(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        last = table.row_count - 1
        await pilot.press("end")
        assert table.cursor_row == last
        await pilot.press("home")
        assert table.cursor_row == 0
        await pilot.press("G")
        assert table.cursor_row == last
        await pilot.press("g")
        assert table.cursor_row == last  # one g is not enough
        await pilot.press("g")
        assert table.cursor_row == 0


async def test_c_copies_the_resume_command_of_the_row(fleet_dir, monkeypatch):
    app, _ = fleet_app(fleet_dir)
    copied = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("j", "c")
        agent, _, sid = table.cursor_key().partition(":")
        command = app.catalog.summary((agent, sid)).resume_command
        assert command and sid in command
        assert copied == [command]


async def test_an_empty_filter_result_says_so(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("slash", *"no-such-session-anywhere")
        await pilot.pause()
        notice = app.screen.query_one("#empty")
        assert notice.display and table_of(app).row_count == 0
        assert "No session matches “no-such-session-anywhere”" in str(notice.content)
        await pilot.press("escape")
        await pilot.pause()
        assert not notice.display and table_of(app).row_count == SESSIONS


async def test_the_header_follows_the_filter_and_says_so(fleet_dir):
    from tokdash.ui.widgets.header import HeaderStrip

    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        header = app.screen.query_one(HeaderStrip)
        everything = header._state.stats
        await pilot.press("a")
        await pilot.pause()
        working = header._state.stats
        assert working.sessions == everything.working < everything.sessions
        assert "shown (filtered)" in header._text.plain
        assert working.today_cost <= everything.today_cost


async def test_enter_drills_down_and_escape_comes_back(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        await pilot.press("j")
        key = table.cursor_key()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        assert table.cursor_key() == key


async def test_mouse_click_moves_the_cursor_and_sorts_by_header(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        # Row 3 of the body: the table's header takes one line.
        await pilot.click(SessionsTable, offset=(20, 4))
        assert table.cursor_row == 3
        # A click on the "cost" header sorts by cost.
        x = table.column_offset("cost")
        await pilot.click(SessionsTable, offset=(x + 2, 0))
        await pilot.pause()
        costs = [app.catalog.summary(tuple(k.split(":", 1))).cost for k in table.row_keys()]
        assert costs == sorted(costs, reverse=True)


async def test_palette_finds_a_session_by_name(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        target = next(k for k in app.catalog.keys() if app.catalog.summary(k).title.startswith("Terraform"))
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"terraform split")
        deadline = time.monotonic() + 5
        from textual.command import CommandList

        while time.monotonic() < deadline:
            await pilot.pause(0.05)
            lists = app.screen.query(CommandList)
            if lists and lists.first().option_count:
                break
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        assert table.cursor_key() == f"{target[0]}:{target[1]}"


async def test_question_mark_opens_help(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_heavy_session_is_red_with_a_badge_and_hit_is_coloured(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)):
        table = table_of(app)
        runaway = next(k for k in app.catalog.keys() if app.catalog.summary(k).project.endswith("monorepo"))
        rk = f"{runaway[0]}:{runaway[1]}"
        reasons = {t.threshold for t in app.catalog.row(runaway).heavy}
        assert reasons == {"cost", "context", "rate"}
        # A cheap session is never red for token volume alone (Codex's uncached input is large).
        assert not any(app.catalog.row(k).heavy for k in app.catalog.keys()
                       if app.catalog.summary(k).cost < app.catalog.fleet.thresholds.min_cost)
        assert {t.threshold for t in app.catalog.row(runaway).heavy} == reasons
        spec = table.spec(rk)
        assert spec["status"][0] == ("▲", "badge")
        assert all(style == "heavy" for c, cell_spec in spec.items() if c != "status" for _t, style in cell_spec)
        # A healthy working session is not heavy, and its hit rate is green.
        calm = next(k for k in app.catalog.keys() if app.catalog.summary(k).title.startswith("Fix the flaky"))
        assert not app.catalog.row(calm).heavy
        assert table.spec(f"{calm[0]}:{calm[1]}")["hit"][0][1] == "ok"
        # The session re-writing its cache at a 19 % hit rate is red for churn (and its cost), and its
        # hit rate carries a ! for the red band, readable without colour.
        poor = next(k for k in app.catalog.keys() if app.catalog.summary(k).title.startswith("Upgrade React"))
        assert {"churn", "cost"} <= {t.threshold for t in app.catalog.row(poor).heavy}
        assert table.spec(f"{poor[0]}:{poor[1]}")["hit"][0][0].endswith("!")
        # The styles come from the theme: the "ok" colour is the theme's success text colour.
        ok = table.styles_map["ok"].color
        assert ok is not None and ok.triplet is not None


async def test_header_counts_working_and_spend(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)):
        from tokdash.ui.widgets.header import HeaderStrip

        header = app.screen.query_one(HeaderStrip)
        text = header._text.plain
        assert f"{WORKING} working of {SESSIONS}" in text
        assert "last hour" in text and "today" in text and "burn" in text
        assert "lower bounds" in text and "estimates" in text


async def test_idle_tick_redraws_nothing(fleet_dir):
    now = [NOW]
    app, _ = fleet_app(fleet_dir)
    app.clock = lambda: now[0]
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        made = []  # cells the table made anew, per sync
        original = table.sync
        table.sync = lambda *a, **k: made.append(original(*a, **k)) or made[-1]
        rows = app.catalog.fleet.rows
        before = {rk: table.spec(rk) for rk in table.row_keys()}
        app._advance()
        await pilot.pause()
        assert sum(made) == 0  # frozen clock: nothing is due, nothing is made again
        now[0] += 1.0
        due = {f"{k[0]}:{k[1]}" for k, r in rows.items() if r.due <= now[0]}
        app._advance()
        await pilot.pause()
        after = {rk: table.spec(rk) for rk in table.row_keys()}
        changed = {(rk, c) for rk, spec in after.items() for c in spec if spec[c] != before[rk][c]}
        # One second later only time-dependent cells of the sessions due change.
        assert changed and sum(made) == len(changed)
        assert {c for _r, c in changed} <= {"last", "burn", "status"}
        assert {r for r, _c in changed} <= due
        assert len(due) < len(rows)


def write_claude(root: Path, cwd: str, prompt: str, sid: str = "11111111-2222-4333-8444-555555555555") -> Path:
    """A minimal Claude Code 2.1.x transcript: one prompt and one API call."""
    proj = root / "projects" / "-x"
    proj.mkdir(parents=True, exist_ok=True)
    path = proj / f"{sid}.jsonl"
    common = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": cwd, "sessionId": sid,
              "version": "2.1.39", "gitBranch": "main"}
    lines = [
        {**common, "type": "user", "message": {"role": "user", "content": prompt},
         "uuid": "u1", "timestamp": "2026-09-21T14:00:00.000Z"},
        {**common, "message": {"model": "claude-sonnet-4-5-20250929", "id": "msg_1", "type": "message",
                               "role": "assistant", "content": [{"type": "text", "text": "ok"}],
                               "stop_reason": "end_turn", "stop_sequence": None,
                               "usage": {"input_tokens": 10, "cache_creation_input_tokens": 100,
                                         "cache_read_input_tokens": 1000, "output_tokens": 50}},
         "requestId": "req_1", "type": "assistant", "uuid": "a1", "timestamp": "2026-09-21T14:00:05.000Z"},
    ]
    # Compact JSON, as the CLIs write it (the reader's byte prefilter relies on it).
    path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
    return path


async def test_transcript_text_is_shown_literally_never_as_markup_or_escapes(tmp_path):
    claude = tmp_path / "claude"
    # The project column shows the cwd's last component: a "[/]" there would split the path.
    write_claude(claude, "/work/[b]x\x1b[31m\x07", "[bold red]boom[/] \x1b[2J\x1b]0;title\x07 hi")
    roots = resolve_roots(["claude"], {"claude": [str(claude)]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook())
    app.load_sync()
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        (rk,) = table.row_keys()
        project = table.get_cell(rk, "project")
        title = table.get_cell(rk, "title")
        assert project.plain.strip() == "[b]x[31m"
        assert "[bold red]boom[/]" in title.plain
        for text in (project, title):
            assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in text.plain)
            # No span was created from the brackets: the text is plain.
            assert all(span.style in ("", None) or "red" not in str(span.style) for span in text.spans)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        name = table.get_cell(rk, "name")
        assert "[b]x[31m" in name.plain and "\x1b" not in name.plain
        # What reaches the screen: the brackets literally, no escape character.
        svg = app.export_screenshot()
        assert "boom[/]" in svg and "\x1b" not in svg
        # The palette shows it literally too.
        from tokdash.ui.palette import SessionsProvider

        provider = SessionsProvider(app.screen)
        hits = [h async for h in provider.search("boom")]
        assert hits and "[bold red]boom[/]" in str(hits[0].match_display)


async def test_empty_state_says_where_it_looked(tmp_path):
    claude = tmp_path / "nothing-claude"
    codex = tmp_path / "nothing-codex"
    claude.mkdir()
    roots = resolve_roots(["claude", "codex"], {"claude": [str(claude)], "codex": [str(codex)]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, prices=PriceBook())
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 5
        while app.catalog.loading and time.monotonic() < deadline:
            await pilot.pause(0.02)
        await pilot.pause()
        from textual.widgets import Static

        empty = app.screen.query_one("#empty", Static)
        assert empty.display
        text = str(empty.render())
        assert str(claude) in text and str(codex) in text
        for hint in ("--claude-dir", "--codex-dir", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "--demo"):
            assert hint in text


async def test_a_broken_price_config_is_a_notification_not_a_crash(tmp_path, monkeypatch):
    config = tmp_path / "cfg" / "tokdash"
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[prices."my-model"]\ninput = "cheap"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    claude = tmp_path / "claude"
    write_claude(claude, "/work/p", "hello")
    roots = resolve_roots(["claude"], {"claude": [str(claude)]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False)
    app.load_sync()
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("Price overrides ignored" in m and "config.toml" in m for m in messages)
        assert table_of(app).row_count == 1


async def test_worker_errors_become_notifications(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        def boom():
            raise RuntimeError("disk on fire")

        app.run_worker(boom, thread=True, exit_on_error=False, name="reader")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            await pilot.pause(0.02)
            if any("disk on fire" in n.message for n in app._notifications):
                break
        assert any("reader failed" in n.message and "disk on fire" in n.message for n in app._notifications)
        assert app.is_running


async def test_a_theme_change_restyles_every_row(fleet_dir):
    app, _ = fleet_app(fleet_dir)
    async with app.run_test(size=(160, 45)) as pilot:
        table = table_of(app)
        rk = table.row_keys()[0]
        before = table.styles_map["ok"]
        old_cell = table.get_cell(rk, "hit")
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        assert table.styles_map["ok"] != before
        assert table.get_cell(rk, "hit") is not old_cell
        assert table.get_cell(rk, "hit").plain == old_cell.plain


def test_demo_runs_the_real_app_over_a_temporary_fleet_and_cleans_up(monkeypatch):
    from argparse import Namespace

    from tokdash.ui import app as app_module
    from tokdash.ui import launch

    seen = {}

    def fake_run(self, *args, **kwargs):
        claude = self.roots.by_agent["claude"][0]
        seen["claude"] = claude
        seen["sessions_on_disk"] = len(list(claude.rglob("*.jsonl")))
        return None

    monkeypatch.setattr(app_module.TokdashApp, "run", fake_run)
    status = launch.run(Namespace(claude_dir=None, codex_dir=None, agent="all", demo=True))
    assert status == 0
    assert seen["sessions_on_disk"] >= 8
    assert not seen["claude"].exists()  # the temporary folder is removed on exit


async def test_header_notices_unpriced_models_and_unreadable_lines(tmp_path):
    claude = tmp_path / "claude"
    path = write_claude(claude, "/work/p", "hello")
    text = path.read_text().replace("claude-sonnet-4-5-20250929", "acme-[b]secret[/b]-model")
    path.write_text(text + '{"type":"assistant","usage":{"broken\n')
    roots = resolve_roots(["claude"], {"claude": [str(claude)]})
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook())
    app.load_sync()
    async with app.run_test(size=(160, 45)):
        from tokdash.ui.widgets.header import HeaderStrip

        header = app.screen.query_one(HeaderStrip)._text.plain
        assert "unpriced: acme-[b]secret[/b]-model" in header
        assert "1 unreadable line skipped" in header
        (rk,) = table_of(app).row_keys()
        assert cell(table_of(app), rk, "cost") == "unpriced"  # never $0
