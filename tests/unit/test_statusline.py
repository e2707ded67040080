"""`tokdash statusline`: one session from Claude Code's hook input, or the fleet."""

from __future__ import annotations

from tests.unit.builders import ClaudeSession, claude_main_path, claude_subagent_path, epoch, prices
from tokdash.model.store import Store
from tokdash.ingest.reader import Reader
from tokdash.sources import SOURCES
from tokdash.statusline import parse_hook_input, session_line, session_summary


def _write_session(tmp_path):
    projects = tmp_path / "projects"
    main = ClaudeSession("s-1")
    main.lines += main.response(input=10, output=90, cache_read=900).lines
    sub = ClaudeSession("s-1", agent_id="a1b2c3")
    sub.lines += sub.response(model="claude-haiku-4-5-20251001", input=5, output=5, cache_read=90).lines
    path = main.write(claude_main_path(projects, main.cwd, "s-1"))
    sub.write(claude_subagent_path(projects, main.cwd, "s-1", "a1b2c3"))
    return path


def test_hook_input_parsing_tolerates_garbage():
    assert parse_hook_input(b"") is None
    assert parse_hook_input(b"not json") is None
    assert parse_hook_input(b"[1, 2]") is None
    assert parse_hook_input(b'{"session_id": "x", "transcript_path": "/t.jsonl"}')["session_id"] == "x"


def test_session_line_includes_subagents(tmp_path):
    path = _write_session(tmp_path)
    s = session_summary(path, prices())
    assert s is not None
    assert s.usage.total == 10 + 90 + 900 + 5 + 5 + 90
    assert s.api_calls == 2
    line = session_line(s)
    assert "1.10k tok" in line
    assert "cache 99%" in line  # 990 read / (15 input + 990 read)
    assert line.startswith("opus")


def test_session_summary_of_missing_transcript_is_none(tmp_path):
    assert session_summary(tmp_path / "nope.jsonl", prices()) is None


def test_fleet_line_counts_only_today(tmp_path, capsys, monkeypatch):
    """Through the CLI with no hook input: today's calls only, and sessions working now."""
    import io
    import time as _time

    from tokdash.cli import main

    path = _write_session(tmp_path)
    last = max(slot.best.timestamp for s in _load_store(path).sessions.values() for slot in s.slots.values())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    monkeypatch.setattr(_time, "time", lambda: last + 30)
    assert main(["statusline", "--claude-dir", str(tmp_path), "--agent", "claude", "--no-cache"]) == 0
    assert capsys.readouterr().out.startswith("1 working · today 1.10k tok $")
    monkeypatch.setattr(_time, "time", lambda: last + 2 * 86400)
    assert main(["statusline", "--claude-dir", str(tmp_path), "--agent", "claude", "--no-cache"]) == 0
    assert capsys.readouterr().out.strip() == "0 working · today 0 tok $0.00"
    assert epoch(0) < last


def test_statusline_reads_the_hook_session(tmp_path, capsys, monkeypatch):
    import io

    from tokdash.cli import main

    path = _write_session(tmp_path)
    hook = f'{{"session_id": "s-1", "transcript_path": "{path}"}}'.encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(hook)))
    assert main(["statusline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("opus") and "1.10k tok" in out


def _load_store(path):
    store, reader = Store(), Reader()
    for p in [path, *sorted((path.with_suffix("") / "subagents").iterdir())]:
        store.add_batch(reader.read(p, SOURCES["claude"], finalize=True), "claude")
    return store
