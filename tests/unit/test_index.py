"""The persistent index: incremental runs equal a full in-memory read, history outlives files.

Every test gets its own data dir; a "run" is what one ``tokdash`` process does
(open the index, sync, close), so state carries over only through SQLite.
"""

from __future__ import annotations

import os
import zlib
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest

from index_fixtures import (
    HAIKU,
    CodexWriter,
    claude_call,
    claude_project,
    claude_prompt,
    codex_rollout_path,
    normalized,
    replace_file,
    cli_roots,
    roots_for,
    run_index,
    run_memory,
    totals,
    write,
)
from tokdash import paths
from tokdash.cli import main
from tokdash.ingest import index as index_mod
from tokdash.ingest.index import codec
from tokdash.ingest.index import Index
from tokdash.model.records import Usage
from tokdash.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A Claude config dir, a Codex home and a data dir, all empty, under tmp_path."""
    claude = tmp_path / "claude"
    codex = tmp_path / "codex"
    data = tmp_path / "data"
    claude_project(claude)
    (codex / "sessions").mkdir(parents=True)
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(data))
    return claude, codex, data


def _two_sessions(claude: Path, codex: Path) -> tuple[Path, Path, Path]:
    proj = claude_project(claude)
    a = proj / "aaaa0001-0000-4000-8000-000000000001.jsonl"
    write(a, [claude_prompt("aaaa0001-0000-4000-8000-000000000001", "fix the login bug", t=0)])
    for i in range(3):
        write(a, claude_call("aaaa0001-0000-4000-8000-000000000001", t=10 + i * 60))
    sub = proj / "aaaa0001-0000-4000-8000-000000000001" / "subagents" / "agent-a1b2.jsonl"
    write(sub, claude_call("aaaa0001-0000-4000-8000-000000000001", t=30, model=HAIKU, sidechain=True))
    cw = CodexWriter("0197a1b2-0000-7000-8000-00000000c0de")
    rollout = codex_rollout_path(codex, cw.sid)
    write(rollout, cw.head() + cw.call(t=5) + cw.call(t=65))
    return a, sub, rollout


# --- paths and codec -------------------------------------------------------------------


def test_data_dir_per_platform():
    home = "/home/u"
    assert paths.data_dir({"HOME": home}, "linux") == Path("/home/u/.local/share/tokdash")
    assert paths.data_dir({"HOME": home, "XDG_DATA_HOME": "/x/data"}, "linux") == Path("/x/data/tokdash")
    assert paths.data_dir({"HOME": home, "XDG_DATA_HOME": "relative"}, "linux") == Path("/home/u/.local/share/tokdash")
    assert paths.data_dir({"HOME": home}, "darwin") == Path("/home/u/Library/Application Support/tokdash")
    assert paths.data_dir({"HOME": home, "LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "win32") == Path(
        "C:/Users/u/AppData/Local/tokdash"
    )
    assert paths.data_dir({"HOME": home, "TOKDASH_DATA_DIR": "/tmp/td"}, "linux") == Path("/tmp/td")


def test_codec_keeps_tuples_and_types(tmp_path):
    key = ("codex", "sid", (10, 5, 3, 0))
    assert codec.dec_key(codec.enc_key(key)) == key
    assert codec.enc_key(("a", None, 1)) == codec.enc_key(("a", None, 1))
    # A Codex parse context: state holds a tuple that ends up inside keys.
    path = codex_rollout_path(tmp_path, "0197a1b2-0000-7000-8000-00000000c0de")
    ctx = SOURCES["codex"].context_for(path)
    ctx.state["total"] = (1, 2, 3, 4)
    ctx.start_ts = float("inf")
    back = codec.loads(codec.dumps(ctx))
    assert back == ctx and type(back.state["total"]) is tuple
    u = Usage(1, 2, 3, 4, 5, 6, 7)
    assert codec.loads(codec.dumps({"u": u, "c": Counter({"b": 2, "a": 2})})) == {"u": u, "c": Counter({"b": 2, "a": 2})}
    with pytest.raises(codec.CodecError):
        codec.loads(b"\x00garbage")


def test_rows_written_by_an_older_layout_still_decode():
    """History carried over a rebuild was written by an older build: fields are matched by name."""
    import marshal

    from tokdash.model.records import SessionMeta

    names = [n for n in codec.current_layouts()["SessionMeta"] if n != "bad_lines"] + ["retired_field"]
    values = {"session_id": "s", "agent": "claude", "path": "/p.jsonl", "title": "old", "retired_field": 1}
    old_row = marshal.dumps((b"SessionMeta", *[values.get(n) for n in names]), 4)
    meta = codec.Reader({"SessionMeta": names}, checked=False).loads(old_row)  # schema 1: no checksum
    assert isinstance(meta, SessionMeta)
    assert (meta.session_id, meta.path, meta.title, meta.bad_lines) == ("s", "/p.jsonl", "old", 0)
    checked = old_row + zlib.crc32(old_row).to_bytes(4, "little")  # schema 2 on: the CRC follows
    assert codec.Reader({"SessionMeta": names}).loads(checked) == meta
    with pytest.raises(codec.CodecError):
        codec.Reader({"SessionMeta": names}).loads(old_row)


# --- runs ------------------------------------------------------------------------------------


def test_first_and_second_run_equal_a_full_read(env):
    claude, codex, data = env
    _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    first = run_index(roots, data)
    assert first.rebuilt and first.files_read == 3
    second = run_index(roots, data)
    assert second.files_read == 0 and not second.changed and second.store is None
    expected = normalized(run_memory(roots))
    assert normalized(first.summaries) == expected
    assert normalized(second.summaries) == expected
    assert len(expected) == 2 and not second.archived


def test_append_reads_only_the_new_bytes_and_merges_streaming_copies(env):
    claude, codex, data = env
    a, _sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    run_index(roots, data)
    sid = a.stem
    # A response whose first block was read by the last run; its later block (bigger
    # output snapshot) arrives now: the stored copy must be *replaced*, not added to.
    lines = claude_call(sid, t=400, output=900, blocks=3)
    write(a, lines[:1])
    run_index(roots, data)
    added = write(a, lines[1:])
    result = run_index(roots, data)
    assert result.files_read == 1 and result.bytes_read == added
    assert result.changed == {("claude", sid)}
    assert normalized(result.summaries) == normalized(run_memory(roots))
    session = next(s for s in result.summaries if s.session_id == sid)
    assert session.api_calls == 5  # 3 + the sub-agent's + the new one, whose 3 lines count once


def test_resumed_session_copies_dedup_against_the_index(env):
    claude, codex, data = env
    a, _sub, _r = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    run_index(roots, data)
    # A resumed session copies the earlier file's lines (with their original sessionId)
    # into a new file, then makes one call of its own.
    resumed = a.with_name("bbbb0002-0000-4000-8000-000000000002.jsonl")
    resumed.write_bytes(a.read_bytes())
    write(resumed, claude_call(resumed.stem, t=900))
    result = run_index(roots, data)
    by_id = {s.session_id: s for s in result.summaries}
    assert by_id[a.stem].api_calls == 4  # 3 main + 1 sub-agent: the copies stay where they happened
    assert by_id[resumed.stem].api_calls == 1
    assert normalized(result.summaries) == normalized(run_memory(roots))


def test_truncated_or_replaced_file_is_reread_without_double_counting(env):
    claude, codex, data = env
    a, _sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    before = totals(run_index(roots, data).summaries)
    # Replaced in place (new inode), same content plus a call.
    data_a = a.read_bytes()
    replace_file(a, data_a)
    assert totals(run_index(roots, data).summaries) == before
    cw_lines = rollout.read_bytes()
    # Truncated, then the same history written again and one more call.
    with open(rollout, "r+b") as f:
        f.truncate(0)
    run_index(roots, data)
    rollout.write_bytes(cw_lines)
    write(a, claude_call(a.stem, t=1000, input=7, output=11, cache_write=0, cache_read=100))
    after = run_index(roots, data)
    assert totals(after.summaries)["calls"] == before["calls"] + 1
    assert normalized(after.summaries) == normalized(run_memory(roots))


def test_history_outlives_deleted_transcripts(env, capsys):
    claude, codex, data = env
    a, sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    before = run_index(roots, data)
    rollout.unlink()
    after = run_index(roots, data)
    codex_key = ("codex", "0197a1b2-0000-7000-8000-00000000c0de")
    assert after.archived == {codex_key}
    assert totals(after.summaries) == totals(before.summaries)
    # Partly gone (the sub-agent file only): not archived, its calls stay.
    sub.unlink()
    again = run_index(roots, data)
    assert again.archived == {codex_key} and totals(again.summaries) == totals(before.summaries)
    # Served from the cache on the next run, flags included.
    cached = run_index(roots, data)
    assert cached.files_read == 0 and cached.archived == {codex_key}
    # The file comes back (restored from a backup): no longer archived, nothing doubled.
    cw = CodexWriter(codex_key[1])
    write(rollout, cw.head() + cw.call(t=5) + cw.call(t=65))
    back = run_index(roots, data)
    assert back.archived == set() and totals(back.summaries) == totals(before.summaries)


def test_report_json_marks_archived_sessions(env, capsys):
    claude, codex, data = env
    _a, _sub, rollout = _two_sessions(claude, codex)
    args = ["report", "sessions", "--json", "--claude-dir", str(claude), "--codex-dir", str(codex)]
    assert main(args) == 0
    first = orjson.loads(capsys.readouterr().out)
    assert {s["archived"] for s in first["sessions"]} == {False}
    rollout.unlink()
    assert main(args) == 0
    out = orjson.loads(capsys.readouterr().out)
    arch = {s["session_id"]: s["archived"] for s in out["sessions"]}
    assert arch == {"aaaa0001-0000-4000-8000-000000000001": False, "0197a1b2-0000-7000-8000-00000000c0de": True}
    assert out["totals"]["total_tokens"] == first["totals"]["total_tokens"]
    assert out["totals"]["archived_sessions"] == 1
    # --no-cache cannot see the archived session, and leaves the index alone.
    db = index_mod.index_path(cli_roots(claude, codex), data)
    stamp = db.stat().st_mtime_ns
    assert main([*args, "--no-cache"]) == 0
    nocache = orjson.loads(capsys.readouterr().out)
    assert [s["session_id"] for s in nocache["sessions"]] == ["aaaa0001-0000-4000-8000-000000000001"]
    assert db.stat().st_mtime_ns == stamp


def test_no_cache_never_creates_an_index(env, capsys):
    claude, codex, data = env
    _two_sessions(claude, codex)
    assert main(["report", "sessions", "--json", "--no-cache", "--claude-dir", str(claude), "--codex-dir", str(codex)]) == 0
    assert not data.exists()


def test_index_path_and_no_cache_give_identical_json(env, capsys):
    claude, codex, data = env
    _two_sessions(claude, codex)
    flags = ["--claude-dir", str(claude), "--codex-dir", str(codex)]
    for report in ("sessions", "daily", "weekly", "monthly", "projects", "models"):
        outs = []
        for extra in (["--no-cache"], [], []):
            assert main(["report", report, "--json", *flags, *extra]) == 0
            outs.append(capsys.readouterr().out)
        assert outs[0] == outs[1] == outs[2], report


def test_parser_change_rebuilds_by_itself_with_a_message(env, capsys):
    claude, codex, data = env
    a, _sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    before = run_index(roots, data)
    rollout.unlink()  # history that only the index holds must survive the rebuild
    run_index(roots, data)
    db = index_mod.index_path(roots, data)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET v = 'old' WHERE k = 'code'")
    capsys.readouterr()
    result = run_index(roots, data)
    err = capsys.readouterr().err
    assert result.rebuilt and err.count("\n") == 1 and "parser changed" in err and "rebuilding" in err
    assert totals(result.summaries) == totals(before.summaries)
    assert result.archived == {("codex", "0197a1b2-0000-7000-8000-00000000c0de")}
    assert not run_index(roots, data).rebuilt


def test_an_older_schema_is_kept_aside_and_its_history_carried_over(env, capsys):
    claude, codex, data = env
    _a, _sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    before = run_index(roots, data)
    rollout.unlink()  # the Codex session now lives only in the index
    run_index(roots, data)
    db = index_mod.index_path(roots, data)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET v = '1' WHERE k = 'schema'")
    old_bytes = db.read_bytes()
    capsys.readouterr()
    result = run_index(roots, data)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "older tokdash (schema 1)" in err and "carried its history" in err
    assert result.rebuilt and normalized(result.summaries) == normalized(before.summaries)
    assert result.archived == {("codex", "0197a1b2-0000-7000-8000-00000000c0de")}
    kept = [p for p in data.iterdir() if ".schema-1-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].read_bytes() == old_bytes  # moved aside, not touched
    again = run_index(roots, data)
    assert capsys.readouterr().err == "" and not again.rebuilt
    assert normalized(again.summaries) == normalized(before.summaries)


def test_rebuild_and_forget_commands(env, capsys):
    claude, codex, data = env
    a, sub, rollout = _two_sessions(claude, codex)
    flags = ["--claude-dir", str(claude), "--codex-dir", str(codex)]
    assert main(["report", "sessions", "--json", *flags]) == 0
    full = orjson.loads(capsys.readouterr().out)["totals"]
    rollout.unlink()
    assert main(["index", "--rebuild", *flags]) == 0
    assert "rebuilt the index: 2 sessions (1 archived), re-read from 2 files" in capsys.readouterr().out
    assert main(["report", "sessions", "--json", *flags]) == 0
    assert orjson.loads(capsys.readouterr().out)["totals"]["total_tokens"] == full["total_tokens"]
    # Forget the gone rollout: its session leaves the history.
    assert main(["index", "--forget", str(rollout), *flags]) == 0
    capsys.readouterr()
    assert main(["report", "sessions", "--json", *flags]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert [s["agent"] for s in out["sessions"]] == ["claude"]
    # Forget a file that still exists: its calls go, and it stays ignored.
    assert main(["index", "--forget", str(sub), *flags]) == 0
    capsys.readouterr()
    write(sub, claude_call(a.stem, t=2000, sidechain=True))
    assert main(["report", "sessions", "--json", *flags]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["sessions"][0]["api_calls"] == 3 and out["sessions"][0]["subagents"] == []
    # Unknown path: one line, non-zero.
    assert main(["index", "--forget", "/nowhere/x.jsonl", *flags]) == 1
    assert capsys.readouterr().err.strip().endswith("not in the index: /nowhere/x.jsonl")
    assert main(["index", *flags]) == 0
    assert "forgotten (ignored): " + str(rollout) in capsys.readouterr().out


def test_forget_rederives_a_call_from_its_remaining_copy(env):
    claude, codex, data = env
    a, _sub, _r = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    copy = a.with_name("cccc0003-0000-4000-8000-000000000003.jsonl")
    copy.write_bytes(a.read_bytes())
    run_index(roots, data)
    index = Index.for_roots(roots, data)
    result = index.sync(__import__("tokdash.ingest.discovery", fromlist=["discover"]).discover(roots), forget=[str(a)])
    index.close()
    by_id = {s.session_id: s for s in result.summaries}
    # The original file is forgotten: its calls now live in the copy, counted once.
    assert a.stem in by_id  # the sub-agent file still names it
    assert by_id[copy.stem].api_calls == 3


def test_price_change_resummarizes_affected_sessions(env, monkeypatch, tmp_path):
    claude, codex, data = env
    _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    config = tmp_path / "config.toml"
    before = run_index(roots, data, config_path=config)
    config.write_text('[prices."gpt-5.3-codex"]\ninput = 100.0\noutput = 100.0\n')
    after = run_index(roots, data, config_path=config)
    assert after.changed == {("codex", "0197a1b2-0000-7000-8000-00000000c0de")}
    cost = {s.agent: s.cost for s in after.summaries}
    old = {s.agent: s.cost for s in before.summaries}
    assert cost["claude"] == old["claude"] and cost["codex"] > 10 * old["codex"]
    # The history reports price from the calls table: it was updated too.
    index = Index.for_roots(roots, data, config_path=config)
    res = index.sync([])
    facts = index.facts(res)
    index.close()
    codex_pico = sum(f.cost_pico for f in facts if f.agent == "codex")
    assert codex_pico / 1e12 == pytest.approx(cost["codex"], rel=1e-9)


def test_warm_run_loads_no_price_table_and_no_textual(env, tmp_path):
    claude, codex, data = env
    a, _sub, _r = _two_sessions(claude, codex)
    flags = ["--claude-dir", str(claude), "--codex-dir", str(codex)]
    code = (
        "import sys, io\n"
        "from tokdash.cli import main\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n"
        f"assert main(['report', 'sessions', '--json', *{flags!r}]) == 0\n"
        "print('genai_prices' in sys.modules, 'textual' in sys.modules, file=sys.__stdout__)\n"
    )
    run = lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,  # noqa: E731
                                 env={**os.environ, "TOKDASH_DATA_DIR": str(data)}, check=True).stdout.split()
    assert run() == ["True", "False"]  # the first run prices every model
    assert run() == ["False", "False"]  # nothing new: cached summaries
    write(a, claude_call(a.stem, t=3000))
    assert run() == ["False", "False"]  # new bytes of a known model: the stored price


def test_shared_corpus_index_equals_no_cache(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    flags = ["--claude-dir", str(corpus / "claude"), "--codex-dir", str(corpus / "codex")]
    for report in ("sessions", "daily", "projects", "models"):
        outs = []
        for extra in (["--no-cache"], [], []):
            assert main(["report", report, "--json", *flags, *extra]) == 0
            outs.append(capsys.readouterr().out)
        assert outs[0] == outs[1] == outs[2], report


def test_live_view_api_changed_sessions_only_and_session_records(env):
    claude, codex, data = env
    a, _sub, rollout = _two_sessions(claude, codex)
    roots = roots_for(claude, codex)
    run_index(roots, data)
    index = Index.for_roots(roots, data)
    try:
        assert index.sync([(agent, p) for agent, p in [("claude", a)]], full=False).summaries == []
        write(a, claude_call(a.stem, t=5000))
        result = index.sync([("claude", a)], full=False)  # what a watcher saw change
        assert [s.session_id for s in result.summaries] == [a.stem] and result.files_read == 1
        rollout.unlink()
        assert index.sync([], full=False).archived == {("codex", "0197a1b2-0000-7000-8000-00000000c0de")}
        session = index.load_session("codex", "0197a1b2-0000-7000-8000-00000000c0de")
        assert session is not None and len(session.slots) == 2  # archived: only the index has them
        assert index.load_session("claude", "no-such-session") is None
    finally:
        index.close()
