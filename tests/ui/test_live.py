"""Live: appending to a transcript updates its row, new sessions appear, settled tails are read.

Each runs over the persistent index (the default) and in memory (``--no-cache``).
Every wait is a poll with a deadline, never a bare sleep.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.ui.conftest import fleet_dirs, wait_for
from tokdash.demo import Fleet
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.pricing import PriceBook
from tokdash.ui.app import TokdashApp
from tokdash.ui.widgets.sessions_table import SessionsTable

DEADLINE = 5.0
SID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def iso(ts: float) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def assistant_line(n: int, ts: float, sid: str = SID, output: int = 50) -> bytes:
    """One Claude Code 2.1.x assistant line: API call number ``n`` of the session."""
    obj = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/work/live",
           "sessionId": sid, "version": "2.1.39", "gitBranch": "main",
           "message": {"model": "claude-sonnet-4-5-20250929", "id": f"msg_{n:04d}", "type": "message",
                       "role": "assistant", "content": [{"type": "text", "text": "ok"}], "stop_reason": None,
                       "stop_sequence": None,
                       "usage": {"input_tokens": 5, "cache_creation_input_tokens": 200,
                                 "cache_read_input_tokens": 2000 + n, "output_tokens": output}},
           "requestId": f"req_{n:04d}", "type": "assistant", "uuid": f"u{n}", "timestamp": iso(ts)}
    return json.dumps(obj, separators=(",", ":")).encode()


def prompt_line(ts: float, sid: str = SID, text: str = "make it live") -> bytes:
    obj = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": "/work/live",
           "sessionId": sid, "version": "2.1.39", "gitBranch": "main", "type": "user",
           "message": {"role": "user", "content": text}, "uuid": "p1", "timestamp": iso(ts)}
    return json.dumps(obj, separators=(",", ":")).encode()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as fp:
        fp.write(data)



CACHE = pytest.mark.parametrize("cache", [True, False], ids=["index", "memory"])


def live_app(tmp_path: Path, cache: bool = True) -> tuple[TokdashApp, Path]:
    claude = tmp_path / "claude"
    proj = claude / "projects" / "-work-live"
    proj.mkdir(parents=True)
    path = proj / f"{SID}.jsonl"
    now = time.time()
    path.write_bytes(prompt_line(now - 30) + b"\n" + assistant_line(1, now - 20) + b"\n")
    roots = resolve_roots(["claude"], {"claude": [str(claude)]})
    return TokdashApp(roots, prices=PriceBook(), cache=cache), path


def total_cell(app: TokdashApp, rk: str) -> str | None:
    table = app.screen.query_one(SessionsTable)
    spec = table.spec(rk)
    return None if spec is None else table.get_cell(rk, "total").plain.strip()


@CACHE
async def test_an_appended_line_updates_its_row(tmp_path, cache):
    app, path = live_app(tmp_path, cache)
    rk = f"claude:{SID}"
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: total_cell(app, rk) is not None and not app.catalog.loading)
        before = total_cell(app, rk)
        assert before == "2.26k"
        for n in (2, 3):
            old = total_cell(app, rk)
            append(path, assistant_line(n, time.time()) + b"\n")
            waited = await wait_for(pilot, lambda old=old: total_cell(app, rk) != old)
            assert waited < DEADLINE
        assert app.catalog.summary(("claude", SID)).api_calls == 3
        status = app.screen.query_one(SessionsTable).get_cell(rk, "status").plain
        assert "working" in status


@CACHE
async def test_a_new_session_in_a_new_project_folder_appears(tmp_path, cache):
    app, _path = live_app(tmp_path, cache)
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.screen.query_one(SessionsTable)
        await wait_for(pilot, lambda: table.row_count == 1 and not app.catalog.loading)
        await pilot.pause(0.2)  # let the watcher start
        sid = "12345678-aaaa-4bbb-8ccc-ddddeeeeffff"
        proj = tmp_path / "claude" / "projects" / "-work-brand-new"
        proj.mkdir()
        # Claude Code makes the folder and writes the first line at once.
        (proj / f"{sid}.jsonl").write_bytes(prompt_line(time.time(), sid) + b"\n"
                                            + assistant_line(1, time.time(), sid) + b"\n")
        await wait_for(pilot, lambda: table.spec(f"claude:{sid}") is not None)
        assert table.row_count == 2


async def test_a_settled_tail_without_newline_is_read(tmp_path):
    app, path = live_app(tmp_path, cache=False)
    rk = f"claude:{SID}"
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: total_cell(app, rk) is not None and not app.catalog.loading)
        await pilot.pause(0.2)
        before = total_cell(app, rk)
        append(path, assistant_line(2, time.time()))  # no final newline: maybe half-written
        await wait_for(pilot, lambda: str(path) in app.feed.feed.loader.reader.files
                       and app.feed.feed.loader.reader.files[str(path)].size > app.feed.feed.loader.reader.files[str(path)].offset)
        await pilot.pause(0.3)
        assert total_cell(app, rk) == before  # an unterminated line is not consumed while it may grow
        # Pretend it stopped growing a while ago; the ~2 s tail check then reads it.
        app.feed.feed.loader.reader.files[str(path)].mtime -= 60
        await wait_for(pilot, lambda: total_cell(app, rk) != before, deadline=5.0)


@CACHE
async def test_the_demo_fleet_appends_live(tmp_path, cache):
    fleet = Fleet(tmp_path / "fleet", now=time.time())
    fleet.write_history()
    roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    app = TokdashApp(roots, prices=PriceBook(), cache=cache)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: not app.catalog.loading and len(app.catalog.keys()) == len(fleet.sessions))
        await pilot.pause(0.2)
        totals = {k: app.catalog.summary(k).usage.total for k in app.catalog.keys()}
        # Make every live session due now and step once: each appends one call.
        for s in fleet.live:
            s.next_at = 0
        assert fleet.step(time.time()) == len(fleet.live)
        live = {(s.plan.agent, s.sid) for s in fleet.live}
        await wait_for(pilot, lambda: all(app.catalog.summary(k).usage.total > totals[k] for k in live))


async def test_over_the_index_an_unfinished_line_waits_for_its_end(tmp_path):
    """The index reads a complete last line at once, as reports do; half a line waits for the rest."""
    app, path = live_app(tmp_path)
    rk = f"claude:{SID}"
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: total_cell(app, rk) is not None and not app.catalog.loading)
        await pilot.pause(0.2)
        before = total_cell(app, rk)
        line = assistant_line(2, time.time())
        append(path, line[:40])  # an agent in the middle of writing a line
        await app.refresh_files([("claude", path)])
        await pilot.pause(0.1)
        assert total_cell(app, rk) == before
        append(path, line[40:])  # the rest, still without a newline: complete JSON
        await wait_for(pilot, lambda: total_cell(app, rk) != before)
        assert app.catalog.summary(("claude", SID)).api_calls == 2
