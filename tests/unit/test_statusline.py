"""`tokdash statusline`: one session from Claude Code's hook input (incrementally), or the fleet."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import time as _time
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.builders import HAIKU, SONNET, ClaudeSession, claude_main_path, claude_subagent_path, prices
from tokdash.ingest.reader import Reader
from tokdash.ingest.session_state import read_header, state_path, unchanged
from tokdash.ingest.session_update import refresh
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.report.statusline import (
    StatuslineConfig,
    StatuslineConfigError,
    compose,
    parse_hook_input,
    parse_statusline,
    session_pieces,
)
from tokdash.sources import SOURCES

CLAUDE = SOURCES["claude"]
REPO = Path(__file__).resolve().parents[2]


def _write_session(root: Path, sid: str = "s-1", *, model: str | None = None) -> Path:
    projects = root / "projects"
    main = ClaudeSession(sid)
    # a tool call pending: the turn has not ended, the session counts as working
    main.lines += main.response(input=10, output=90, cache_read=900, stop_reason="tool_use",
                                blocks=[("tool_use", "Bash", {"command": "ls"})],
                                **({"model": model} if model else {})).lines
    sub = ClaudeSession(sid, agent_id="a1b2c3")
    sub.lines += sub.response(model=HAIKU, input=5, output=5, cache_read=90).lines
    path = main.write(claude_main_path(projects, main.cwd, sid))
    sub.write(claude_subagent_path(projects, main.cwd, sid, "a1b2c3"))
    return path


def _summary(path: Path):
    """The session as ``summarize`` sees it from a fresh read of every file (the reference)."""
    reader, store = Reader(), Store()
    sid = None
    for p in CLAUDE.session_files(path):
        batch = reader.read(p, CLAUDE, finalize=True)
        if batch is not None:
            store.add_batch(batch, CLAUDE.name)
        if p == path:
            sid = reader.files[str(p)].ctx.session_id
    return summarize(store.sessions[(CLAUDE.name, sid)], prices())


def _line(monkeypatch, capsys, hook: dict, env: dict | None = None) -> str:
    from tokdash.cli import main
    from tokdash.cli import statusline as cli_statusline

    monkeypatch.setattr(cli_statusline, "_stdin", [])
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(orjson.dumps(hook))))
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    assert main(["statusline"]) == 0
    return capsys.readouterr().out


def test_hook_input_parsing_tolerates_garbage():
    assert parse_hook_input(b"") is None
    assert parse_hook_input(b"not json") is None
    assert parse_hook_input(b"[1, 2]") is None
    assert parse_hook_input(b'{"session_id": "x", "transcript_path": "/t.jsonl"}')["session_id"] == "x"


def test_session_line_includes_subagents_and_the_io_figure(tmp_path, capsys, monkeypatch, isolated_env):
    path = _write_session(tmp_path)
    out = _line(monkeypatch, capsys, {"session_id": "s-1", "transcript_path": str(path)}, {"NO_COLOR": "1"})
    assert out.count("\n") == 1
    parts = out.strip().split(" · ")
    assert parts[0] == "opus-4-6"
    assert parts[1] == "1.10k tok"  # 10 + 90 + 900 + 5 + 5 + 90, the sub-agent's call included
    assert parts[2] == "in+out 110"  # input + output only: 10 + 90 + 5 + 5
    assert "cache 99%" in parts  # 990 read / (15 input + 990 read)


def test_state_matches_a_fresh_read_and_reads_only_new_bytes(tmp_path, isolated_env):
    path = _write_session(tmp_path)
    first = refresh(path, CLAUDE, config_path=None)
    assert first.rebuilt and first.bytes_read > 0
    again = refresh(path, CLAUDE, config_path=None)
    assert again.bytes_read == 0 and not again.rebuilt
    s = ClaudeSession("s-1", clock=100)
    s.lines += s.response(model=SONNET, input=7, output=30, cache_write_5m=400).lines
    before = path.stat().st_size
    with open(path, "ab") as f:
        f.write(s.data())
    third = refresh(path, CLAUDE, config_path=None)
    assert third.bytes_read == path.stat().st_size - before
    view, ref = third.tally.view(), _summary(path)
    assert (view.usage, view.api_calls, view.models) == (ref.usage, ref.api_calls, ref.models)
    assert view.cost == pytest.approx(ref.cost, abs=1e-9)
    assert (view.context_tokens, view.context_window) == (ref.context_tokens, ref.context_window)


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_any_chunking_of_appends_gives_the_fresh_read_totals(tmp_path_factory, cuts):
    """Property: however the transcript grows between renders (mid-line included), the state's
    totals equal ``summarize`` over a fresh read -- streaming copies replaced, nothing twice."""
    root = tmp_path_factory.mktemp("grow")
    s = ClaudeSession("s-9")
    for i in range(4):
        s.prompt(f"step {i}")
        s.lines += s.response(blocks=[("thinking", "hm"), ("text", "a"), ("tool_use", "Read", {"file_path": "x"})],
                              input=3 + i, output=50 * (i + 1), cache_read=1000 * i, cache_write_1h=200).lines
    data = s.data()
    path = claude_main_path(root / "projects", s.cwd, "s-9")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    data_dir = root / "data"
    done = 0
    for cut in sorted(cuts) + [1.0]:
        end = int(len(data) * cut)
        if end > done:
            with open(path, "ab") as f:
                f.write(data[done:end])
            done = end
        state = refresh(path, CLAUDE, config_path=None, data=data_dir)
    view, ref = state.tally.view(), _summary(path)
    assert (view.usage, view.api_calls, view.models, view.context_tokens) == (
        ref.usage, ref.api_calls, ref.models, ref.context_tokens)
    assert view.cost == pytest.approx(ref.cost, abs=1e-9)


def test_a_truncated_transcript_is_read_again_from_zero(tmp_path, isolated_env):
    path = _write_session(tmp_path)
    refresh(path, CLAUDE, config_path=None)
    small = ClaudeSession("s-1")
    small.lines += small.response(input=1, output=2).lines
    path.write_bytes(small.data())  # shorter than before: rewritten
    state = refresh(path, CLAUDE, config_path=None)
    assert state.rebuilt
    view, ref = state.tally.view(), _summary(path)
    assert view.usage == ref.usage and view.api_calls == ref.api_calls == 2  # the sub-agent's call stays


def test_state_file_is_private_and_in_the_data_dir(tmp_path, isolated_env):
    path = _write_session(tmp_path)
    refresh(path, CLAUDE, config_path=None)
    file = state_path(path)
    assert file.is_relative_to(Path(os.environ["TOKDASH_DATA_DIR"]))
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert not any(p.suffix == ".db" for p in path.parent.rglob("*"))  # nothing in the agent's folder


def test_unchanged_answers_only_while_nothing_moved(tmp_path, isolated_env):
    path = _write_session(tmp_path)
    refresh(path, CLAUDE, config_path=None)
    assert unchanged(path) is not None
    sub_dir = path.with_suffix("") / "subagents"
    ClaudeSession("s-1", agent_id="ffff").write(sub_dir / "agent-ffff.jsonl")  # a new sub-agent file
    assert unchanged(path) is None
    refresh(path, CLAUDE, config_path=None)
    assert unchanged(path) is not None
    with open(path, "ab") as f:
        f.write(b"\n")
    assert unchanged(path) is None


def test_a_damaged_state_is_rebuilt(tmp_path, isolated_env):
    path = _write_session(tmp_path)
    refresh(path, CLAUDE, config_path=None)
    state_path(path).write_bytes(b"this is not a database" * 100)
    state = refresh(path, CLAUDE, config_path=None)
    assert state.rebuilt and state.tally.view().api_calls == 2
    assert read_header(state_path(path)) is not None


def test_hostile_model_names_never_reach_the_terminal(tmp_path, capsys, monkeypatch, isolated_env):
    osc52 = "claude-opus-4-6\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x9b31m"
    path = _write_session(tmp_path, model=osc52)
    out = _line(monkeypatch, capsys, {"transcript_path": str(path)}, {"NO_COLOR": "1"})
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert out.count("\n") == 1


def test_colour_follows_no_color_and_the_config():
    view = _summary_view(cache_hit=0.1)
    config = StatuslineConfig()
    coloured = compose(session_pieces(view, config), config, color=True)
    assert "\x1b[31m" in coloured  # a red cache hit rate
    plain = compose(session_pieces(view, config), config, color=False)
    assert "\x1b" not in plain


def test_no_color_in_the_environment_turns_colour_off(tmp_path, capsys, monkeypatch, isolated_env):
    path = tmp_path / "projects" / "-p" / "s-3.jsonl"
    s = ClaudeSession("s-3")
    s.lines += s.response(input=1000, output=10, cache_read=10).lines  # 1 % cache hit: red
    s.write(path)
    assert "\x1b[31m" in _line(monkeypatch, capsys, {"transcript_path": str(path)})
    assert "\x1b" not in _line(monkeypatch, capsys, {"transcript_path": str(path)}, {"NO_COLOR": "1"})


def test_parts_and_order_come_from_the_config(tmp_path, capsys, monkeypatch, isolated_env):
    path = _write_session(tmp_path)
    cfg = isolated_env / ".config" / "tokdash"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('[statusline]\nparts = ["cost", "model"]\nseparator = " | "\n')
    out = _line(monkeypatch, capsys, {"transcript_path": str(path)}, {"NO_COLOR": "1"}).strip()
    assert out.endswith(" | opus-4-6") and out.startswith("$") and out.count("|") == 1


def test_a_bad_statusline_table_names_the_config_file_and_keeps_the_default_line(tmp_path, capsys, monkeypatch,
                                                                                  isolated_env):
    path = _write_session(tmp_path)
    cfg = isolated_env / ".config" / "tokdash"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('[statusline]\nparts = ["cost", "nope"]\n')
    from tokdash.cli import main
    from tokdash.cli import statusline as cli_statusline

    monkeypatch.setattr(cli_statusline, "_stdin", [])
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(orjson.dumps({"transcript_path": str(path)}))))
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["statusline"]) == 0
    out, err = capsys.readouterr()
    assert "opus-4-6" in out  # the default parts
    assert str(cfg / "config.toml") in err and "nope" in err and err.count("\n") == 1


def test_the_line_shows_the_official_windows_and_records_them(tmp_path, capsys, monkeypatch, isolated_env):
    from tokdash.ingest import plan_limits

    path = _write_session(tmp_path)
    resets = int(_time.time()) + 3600
    hook = {"transcript_path": str(path), "rate_limits": {"five_hour": {"used_percentage": "42.4", "resets_at": resets},
                                                          "seven_day": {"used_percentage": 91}}}
    out = _line(monkeypatch, capsys, hook, {"NO_COLOR": "1"})
    assert out.strip().endswith("5h 42% · 7d 91%")
    got = {w.window: w for w in plan_limits.stored()}
    assert got["5h"].used_percent == 42.4 and got["5h"].resets_at == resets and got["7d"].used_percent == 91
    # the next render without rate_limits (an older CLI build) still shows the recorded ones
    out = _line(monkeypatch, capsys, {"transcript_path": str(path)}, {"NO_COLOR": "1"})
    assert "5h 42%" in out


def test_bad_statusline_config_is_one_line():
    with pytest.raises(StatuslineConfigError) as e:
        parse_statusline({"parts": ["model", "nope"]})
    assert "\n" not in str(e.value) and "nope" in str(e.value)
    assert parse_statusline({"parts": ["limits"], "color": False}).color is False


def test_the_status_line_prints_a_line_whatever_stdin_holds(tmp_path, isolated_env):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for raw in (b'{"transcript_path": "/nowhere/x.jsonl"}', b'{"transcript_path": 7}', b"\xff\xfe garbage"):
        proc = subprocess.run([sys.executable, "-m", "tokdash", "statusline"], input=raw, capture_output=True,
                              env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count(b"\n") == 1 and b"Traceback" not in proc.stderr


def test_an_unchanged_render_imports_no_parser(tmp_path, isolated_env):
    """The warm path answers from the state's header: no source, store or price table loaded."""
    path = _write_session(tmp_path)
    refresh(path, CLAUDE, config_path=None)
    hook = orjson.dumps({"transcript_path": str(path)})
    code = ("import sys, io\nsys.stdin = io.TextIOWrapper(io.BytesIO(%r))\nfrom tokdash.cli import main\n"
            "main(['statusline'])\nheavy = [m for m in ('tokdash.sources', 'tokdash.model.store', "
            "'tokdash.model.pricing', 'genai_prices', 'argparse') if m in sys.modules]\n"
            "sys.stderr.write(repr(heavy))\n") % hook
    # the first render after refresh() records the config tables; the second is the warm one
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and "1.10k tok" in proc.stdout
    assert proc.stderr.strip() == "[]", proc.stderr


def test_fleet_line_counts_only_today(tmp_path, capsys, monkeypatch, isolated_env):
    """Through the CLI with no hook input: today's calls only, and sessions working now."""
    from tokdash.cli import main

    path = _write_session(tmp_path)
    last = _summary(path).last_activity
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    monkeypatch.setattr(_time, "time", lambda: last + 30)
    monkeypatch.setenv("NO_COLOR", "1")
    argv = ["statusline", "--claude-dir", str(tmp_path), "--agent", "claude", "--no-cache"]
    from tokdash.cli import statusline as cli_statusline

    monkeypatch.setattr(cli_statusline, "_stdin", [])
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("1 working · today 1.10k tok $")
    monkeypatch.setattr(cli_statusline, "_stdin", [])
    monkeypatch.setattr(_time, "time", lambda: last + 2 * 86400)
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == "0 working · today 0 tok $0.00"


class _U:
    def __init__(self, total, input, output, cache_read, input_side):
        self.total, self.input, self.output, self.cache_read, self.input_side = (
            total, input, output, cache_read, input_side)


class _View:
    def __init__(self, hit: float) -> None:
        side = 1000
        self.usage = _U(side + 10, side - int(side * hit), 10, int(side * hit), side)
        self.models, self.cost, self.cost_partial, self.context_pct = ["claude-opus-4-6"], 1.0, False, 0.5

    @property
    def cache_hit_rate(self):
        return self.usage.cache_read / self.usage.input_side


def _summary_view(cache_hit: float) -> _View:
    return _View(cache_hit)
