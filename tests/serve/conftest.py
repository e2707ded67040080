"""Fixtures of the ``tokdash serve`` tests: a generated fleet on disk, a private environment."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # builders.py

from builders import (  # noqa: E402
    HAIKU,
    OPUS,
    SONNET,
    T0,
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    codex_id,
    codex_rollout_path,
    sid,
)

from support import Fleet  # noqa: E402


def _now_clock() -> float:
    """A builder clock (seconds after T0) of a moment a little before now: a working session."""
    return (datetime.now(UTC) - T0).total_seconds() - 30.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private HOME, config dir and data dir for every process a test starts."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "TOKDASH_DATA_DIR": str(tmp_path / "data"),
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    """Five sessions of both agents over four projects and four models, one of them working now (mid-turn),
    one with a hostile cwd and model id."""
    claude, codex = tmp_path / "claude", tmp_path / "codex"
    projects = claude / "projects"
    f = Fleet(claude, codex)
    a = ClaudeSession(sid(1), cwd="/home/dev/acme-api", clock=3600)
    a.prompt("set up CI")
    a.response(model=OPUS, input=3, output=200, cache_write_1h=5000, cache_read=40_000)
    a.response(model=SONNET, input=2, output=90, cache_read=45_000)
    f.add(a, claude_main_path(projects, a.cwd, a.session_id))
    b = ClaudeSession(sid(2), cwd="/home/dev/blog", clock=7200)
    b.prompt("write the post")
    b.response(model=HAIKU, input=10, output=1000, cache_write_5m=3000, cache_read=9000)
    f.add(b, claude_main_path(projects, b.cwd, b.session_id))
    hostile = ClaudeSession(sid(3), cwd="/home/dev/evil\x1b[31m\nproj\u202e", clock=9000)
    hostile.prompt("hi")
    hostile.response(model="claude-\x1b]0;pwn\x07opus-4-6", input=7, output=70, cache_read=700)
    f.add(hostile, claude_main_path(projects, hostile.cwd, hostile.session_id))
    live = ClaudeSession(sid(4), cwd="/home/dev/acme-api", clock=_now_clock())
    live.prompt("keep going")
    live.response(model=OPUS, input=5, output=300, cache_write_5m=2000, cache_read=60_000, stop_reason="tool_use")
    f.add(live, claude_main_path(projects, live.cwd, live.session_id))
    c = CodexRollout(codex_id(5), cwd="/srv/shop", clock=5000)
    c.session_meta()
    c.turn_context()
    c.user("fix checkout")
    c.call(input=20_000, cached=15_000, output=700, reasoning=300)
    f.add(c, codex_rollout_path(codex, c.session_id, c.clock))
    return f
