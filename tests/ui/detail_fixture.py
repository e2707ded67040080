"""A known session for the detail and help screen tests, and the real app over it.

The session is written as real Claude Code transcripts (main file and a sub-agent file)
with ``tests.unit.builders`` and read back through the source and the store. Its title
and cwd hold markup and an escape sequence, as an untrusted transcript may.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.builders import (
    HAIKU,
    OPUS,
    ClaudeSession,
    claude_main_path,
    claude_subagent_path,
    epoch,
    prices,
)
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.heavy import HeavyThresholds
from tokdash.model.store import SessionKey
from tokdash.ui.app import TokdashApp

SESSION_ID = "5e55a0d1-7c1e-4b0a-9d1e-1234567890ab"
KEY: SessionKey = ("claude", SESSION_ID)
CWD = "/home/dev/[red]acme[/red]-api"
TITLE = "Fix [bold red]billing[/] rounding \x1b[31mnow\x1b[0m"
NOW = epoch(3_600)
"""The frozen clock: one hour after the session started."""


def write_session(root: Path) -> list[Path]:
    """Write the fixture session's transcripts under ``root/projects``; returns the files."""
    projects = root / "projects"
    cs = ClaudeSession(SESSION_ID, cwd=CWD, git_branch="fix/rounding")
    cs.custom_title(TITLE)
    cs.prompt("Fix the rounding bug in invoices")
    context = 18_000
    cs.response(model=OPUS, input=6, output=400, cache_write_1h=context, cache_read=0,
                blocks=[("thinking", "look at billing"), ("tool_use", "Read", {"file_path": "/home/dev/billing.py"},
                                                          "toolu_read_1")])
    cs.tool_result("toolu_read_1", "def total(x):\n    return round(x, 2)\n" * 40)
    for i in range(14):
        name, inp = [("Grep", {"pattern": "round("}), ("Edit", {"file_path": "/home/dev/billing.py",
                                                                 "old_string": "a", "new_string": "b"}),
                     ("Bash", {"command": "pytest -q"})][i % 3]
        tid = f"toolu_{i:03d}"
        cs.response(model=OPUS, input=4, output=180 + 40 * i, cache_write_1h=2_500, cache_read=context,
                    blocks=[("text", "Next step."), ("tool_use", name, inp, tid)])
        context += 2_504
        cs.tool_result(tid, "ok " * 50)
        if i == 4:
            task_clock = cs.clock
            cs.response(model=OPUS, input=4, output=90, cache_write_1h=600, cache_read=context,
                        blocks=[("tool_use", "Task", {"description": "find callers", "prompt": "..."}, "toolu_task")])
            cs.clock += 40  # the sub-agent works meanwhile
            cs.tool_result("toolu_task", "sub-agent summary")
        if i == 6:
            cs.compact_boundary(pre_tokens=context)
            context = 22_000
        if i == 9:
            cs.response(model=OPUS, input=4, output=60, cache_write_1h=200, cache_read=context,
                        blocks=[("tool_use", "Bash", {"command": "cat build.log"}, "toolu_log")])
            cs.tool_result("toolu_log", "WARN deprecated call in module\n" * 7_000)  # ~220 KB
    cs.synthetic("Limit reached · resets 7pm")
    cs.prompt("Also add a test")
    cs.response(model=OPUS, input=8, output=900, cache_write_1h=3_000, cache_read=context, web_search=2)
    main = cs.write(claude_main_path(projects, CWD, SESSION_ID))

    agent = ClaudeSession(SESSION_ID, cwd=CWD, agent_id="a1b2c3d4", clock=task_clock + 5)
    agent.prompt("Find every caller of round()")
    for _ in range(3):
        agent.response(model=HAIKU, input=10, output=120, cache_write_5m=1_000, cache_read=9_000, sidechain=True,
                       blocks=[("tool_use", "Grep", {"pattern": "round("})])
    sub = agent.write(claude_subagent_path(projects, CWD, SESSION_ID, "a1b2c3d4"))
    return [main, sub]


def fixture_app(root: Path, *, now: float = NOW, heavy: HeavyThresholds | None = None,
                cache: bool = True) -> TokdashApp:
    """The real app over the fixture session: seeded synchronously, frozen clock, no watcher.

    ``cache``: over the persistent index (in the data dir the test suite sets), or in memory.
    A ``root`` that already holds the session is read as it is (tests that only read share one).
    """
    if not (root / "projects").exists():
        write_session(root)
    roots = resolve_roots(["claude"], {"claude": [str(root)]})
    app = TokdashApp(roots, clock=lambda: now, watch=False, background_load=False, prices=prices(),
                     heavy=heavy or HeavyThresholds(), cache=cache)
    app.load_sync()
    return app


async def open_detail(pilot, key: SessionKey = KEY) -> None:
    """Drill into ``key`` as a user does: Enter on its row (the fixture has one session)."""
    await pilot.pause()
    if key == KEY:
        await pilot.press("enter")
    else:
        pilot.app.open_detail(key)
    await pilot.pause()
