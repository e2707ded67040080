"""Hostile and unlucky files: no hang, no traceback, no wrong or lost number.

Classes, each a test (hypothesis where the inputs vary): things named like transcripts
that are no regular file (FIFOs, folders, devices, symlink loops) in every layout; a
config file that is a FIFO or a folder; symlinked folders; file and folder names that
are not valid UTF-8; files and folders that exist but cannot be read; the index's
permissions. Commands that could hang run in a subprocess with a deadline.

Mode 000 means nothing to root, and this suite may run as root: there, "cannot be
read" is simulated by making ``os.open``/``os.stat``/``os.scandir`` raise EACCES for
the chosen paths (``denied``); as another user a real ``chmod 000`` test runs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index_fixtures import (
    CodexWriter,
    claude_call,
    claude_project,
    claude_prompt,
    codex_rollout_path,
    normalized,
    roots_for,
    run_index,
    run_memory,
    write,
)
from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import codec
from tokdash.ingest.loader import Loader
from tokdash.ingest.reader import Reader, Unreadable, read_state
from tokdash.ingest.watcher import Watcher
from tokdash.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]
SID = "ffff0001-0000-4000-8000-000000000001"
SID2 = "ffff0002-0000-4000-8000-000000000002"
RID = "0197a1b2-0000-7000-8000-0000000ff001"
DEADLINE = 20.0


def _tree(root: Path) -> tuple[Path, Path, Path]:
    """Two Claude sessions (one with a sub-agent) and a Codex rollout."""
    claude, codex = root / "claude", root / "codex"
    proj = claude_project(claude)
    main = proj / f"{SID}.jsonl"
    write(main, [claude_prompt(SID, "hello", t=0)] + claude_call(SID, t=10) + claude_call(SID, t=70))
    write(proj / SID / "subagents" / "agent-a1.jsonl", claude_call(SID, t=30, sidechain=True))
    write(proj / f"{SID2}.jsonl", claude_call(SID2, t=20))
    cw = CodexWriter(RID)
    write(codex_rollout_path(codex, RID), cw.head() + cw.call(t=5))
    return claude, codex, main


def _cli(args: list[str], data: Path, *, stdin: bytes | None = None, env: dict | None = None):
    """Run tokdash in a fresh process; a hang fails the test at the deadline instead of hanging it."""
    return subprocess.run([sys.executable, "-m", "tokdash", *args], input=stdin or b"", capture_output=True, cwd=REPO,
                          timeout=DEADLINE, env={**os.environ, "TOKDASH_DATA_DIR": str(data), **(env or {})})


def _flags(claude: Path, codex: Path) -> list[str]:
    return ["--claude-dir", str(claude), "--codex-dir", str(codex)]


def _tokens(out: bytes) -> dict[str, int]:
    return {s["session_id"]: s["total_tokens"] for s in orjson.loads(out)["sessions"]}


# --- things named like transcripts that are no regular file -----------------------------------

ODD_PLACES = {
    "codex rollout": lambda claude, codex: codex_rollout_path(codex, "0197a1b2-0000-7000-8000-0000000ff0dd"),
    "claude main": lambda claude, codex: claude_project(claude) / "ffff00dd-0000-4000-8000-0000000000dd.jsonl",
    "claude subagent": lambda claude, codex: claude_project(claude) / SID / "subagents" / "agent-dd.jsonl",
}


def _make_odd(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
        (path / "x.jsonl").write_bytes(b"{}\n")
    elif kind == "loop":
        os.symlink(path.name, path)  # x.jsonl -> x.jsonl
    elif kind == "device":
        os.symlink("/dev/zero", path)  # endless bytes if it were read


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop", "device"])
@pytest.mark.parametrize("place", list(ODD_PLACES))
def test_no_command_hangs_or_fails_on_a_non_file_named_like_a_transcript(tmp_path, place, kind):
    claude, codex, main = _tree(tmp_path)
    data = tmp_path / "data"
    clean = _cli(["report", "sessions", "--json", "--no-cache", *_flags(claude, codex)], data)
    assert clean.returncode == 0, clean.stderr
    expected = _tokens(clean.stdout)
    _make_odd(ODD_PLACES[place](claude, codex), kind)
    for extra in ([], ["--no-cache"], []):  # the index cold, in memory, the index warm
        got = _cli(["report", "sessions", "--json", *extra, *_flags(claude, codex)], data)
        assert got.returncode == 0 and b"Traceback" not in got.stderr, got.stderr
        assert _tokens(got.stdout) == expected
    for args in (["report", "daily", "--json"], ["index"], ["statusline"]):
        got = _cli([*args, *_flags(claude, codex)], data)
        assert got.returncode == 0 and b"Traceback" not in got.stderr, (args, got.stderr)
    hook = orjson.dumps({"session_id": SID, "transcript_path": str(main), "cwd": "/home/dev/acme"})
    got = _cli(["statusline"], data, stdin=hook)
    assert got.returncode == 0 and b"Traceback" not in got.stderr and got.stdout.strip(), got.stderr


def test_the_reader_refuses_a_fifo_at_once_and_reads_the_file_that_replaces_it(tmp_path):
    path = tmp_path / "projects" / "-x" / f"{SID}.jsonl"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    reader = Reader()
    done: list = []
    t = threading.Thread(target=lambda: done.append(reader.read(path, SOURCES["claude"])), daemon=True)
    t.start()
    t.join(5)
    assert done == [None], "reading a FIFO blocked"
    assert "regular" in reader.unreadable[str(path)]
    state = reader.files[str(path)]
    with pytest.raises(Unreadable):
        read_state(state)
    path.unlink()
    write(path, claude_call(SID, t=1))
    batch = reader.read(path, SOURCES["claude"])
    assert batch is not None and len(batch.calls) == 1 and str(path) not in reader.unreadable


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_config_file_that_is_no_file_is_one_line_not_a_hang(tmp_path, kind):
    claude, codex, _main = _tree(tmp_path)
    xdg = tmp_path / "xdg"
    cfg = xdg / "tokdash" / "config.toml"
    cfg.parent.mkdir(parents=True)
    os.mkfifo(cfg) if kind == "fifo" else cfg.mkdir()
    for extra in ([], ["--no-cache"]):
        got = _cli(["report", "sessions", *extra, *_flags(claude, codex)], tmp_path / "data",
                   env={"XDG_CONFIG_HOME": str(xdg)})
        assert got.returncode == 1 and got.stderr.count(b"\n") == 1 and b"config.toml" in got.stderr, got.stderr
        assert b"Traceback" not in got.stderr


def test_a_symlink_loop_costs_no_session_and_a_symlinked_folder_is_named(tmp_path):
    claude, codex, _main = _tree(tmp_path)
    proj = claude_project(claude)
    expected = normalized(run_memory(roots_for(claude, codex)))
    os.symlink("loop.jsonl", proj / "loop.jsonl")
    elsewhere = tmp_path / "elsewhere" / "-home-dev-other"
    write(elsewhere / "ffff00ee-0000-4000-8000-0000000000ee.jsonl", claude_call("ffff00ee-0000-4000-8000-0000000000ee", t=3))
    os.symlink(elsewhere, claude / "projects" / "-home-dev-other")
    roots = roots_for(claude, codex)
    found = {str(p) for _a, p in discover(roots)}
    assert str(proj / "loop.jsonl") not in found and str(proj / f"{SID2}.jsonl") in found
    assert str(proj / "loop.jsonl") in roots.skipped
    assert "symlinked folder" in roots.skipped[str(claude / "projects" / "-home-dev-other")]
    assert normalized(run_memory(roots)) == expected  # nothing lost, and the link is not followed
    result = run_index(roots, tmp_path / "data")
    assert normalized(result.summaries) == expected
    assert str(proj / "loop.jsonl") in result.unreadable


def test_one_folder_reached_through_two_roots_is_read_once(tmp_path):
    """The same folder given twice, or once more through a symlink to it: each file is listed once
    (it is one file: the same device and inode), and no session counts twice."""
    claude, codex, _main = _tree(tmp_path)
    expected = normalized(run_memory(roots_for(claude, codex)))
    alias = tmp_path / "alias"
    os.symlink(claude, alias)
    roots = Roots(by_agent={"claude": [claude, claude, alias], "codex": [codex]})
    listed = [p for _a, p in discover(roots)]
    assert len(listed) == len({os.stat(p).st_ino for p in listed}) == len(discover(roots_for(claude, codex)))
    assert normalized(run_memory(roots)) == expected
    assert normalized(run_index(roots, tmp_path / "data").summaries) == expected


def test_a_file_system_without_inode_numbers_loses_no_file(tmp_path, monkeypatch):
    """Some file systems report inode 0 for every file: no two files may then look like one."""
    claude, codex, _main = _tree(tmp_path)
    expected = discover(roots_for(claude, codex))
    real_stat = os.stat

    def no_inodes(path, *args, **kwargs):
        st = real_stat(path, *args, **kwargs)
        return os.stat_result((st.st_mode, 0, *tuple(st)[2:]))

    monkeypatch.setattr("tokdash.ingest.discovery.os.stat", no_inodes)
    assert len(expected) > 2 and sorted(discover(roots_for(claude, codex))) == sorted(expected)


# --- names that are not valid UTF-8 -------------------------------------------------------------

names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(folder=names, stem=names)
def test_any_file_or_folder_name_is_indexed_losslessly(tmp_path_factory, folder, stem):
    root = tmp_path_factory.mktemp("names")
    claude = root / "claude"
    projects = os.fsencode(claude / "projects")
    proj = os.fsdecode(projects + b"/-" + folder)
    main = Path(os.fsdecode(os.fsencode(proj) + b"/" + stem + b".jsonl"))
    write(main, [claude_prompt(SID, "hi", t=0)] + claude_call(SID, t=5))
    write(Path(proj) / f"{SID2}.jsonl", claude_call(SID2, t=9))
    roots = roots_for(claude)
    expected = normalized(run_memory(roots))
    data = root / "data"
    for _ in range(2):  # built, then warm
        result = run_index(roots, data)
        assert normalized(result.summaries) == expected
    stored = {p for s in result.summaries for p in s.paths}
    assert str(main) in stored  # the very same str, undecodable bytes and all
    assert os.fsencode(str(main)) == os.fsencode(proj) + b"/" + stem + b".jsonl"


@given(raw=st.binary(max_size=40))
def test_stored_path_text_round_trips_every_byte_and_keeps_valid_names_as_they_are(raw):
    path = os.fsdecode(raw)
    text = codec.enc_path(path)
    text.encode("utf-8")  # SQLite can bind it
    assert codec.dec_path(text) == path
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not path.startswith("\ufffe"):
        assert text == path
    assert codec.dec_key(codec.enc_key(("claude-line", path, 3))) == ("claude-line", path, 3)


def test_a_file_name_that_is_not_utf8_does_not_stop_the_watcher(tmp_path):
    claude, codex, main = _tree(tmp_path)
    watcher = Watcher(roots_for(claude, codex))
    seen: list = []

    async def run() -> None:
        stop = asyncio.Event()

        async def consume() -> None:
            async for batch in watcher.changes(stop):
                seen.extend(str(p) for _a, p in batch)
                if str(main) in seen:
                    stop.set()

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.5)
        bad = os.fsencode(claude / "projects") + b"/-bad\xff"
        os.makedirs(bad)
        with open(bad + b"/" + SID.encode() + b".jsonl", "wb") as f:
            f.write(b"{}\n")
        await asyncio.sleep(0.5)
        write(main, claude_call(SID, t=500))  # a change after the bad name: must still be seen
        try:
            await asyncio.wait_for(task, 15)
        finally:
            stop.set()

    asyncio.run(run())
    assert str(main) in seen


# --- files and folders that exist but cannot be read -------------------------------------------


@contextlib.contextmanager
def denied(monkeypatch, *paths: Path):
    """Make ``paths`` (files, or folders and all below) raise EACCES as mode 000 would for a non-root user."""
    blocked = [os.fsencode(p) for p in paths]

    def hit(p) -> bool:
        try:
            b = os.fsencode(p)
        except TypeError:
            return False
        return any(b == x or b.startswith(x + b"/") for x in blocked)

    def wrap(real, for_folder_only: bool = False):
        def fn(p, *a, **k):
            if not isinstance(p, int) and hit(p):
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(p))
            return real(p, *a, **k)
        return fn

    with monkeypatch.context() as m:
        m.setattr(os, "open", wrap(os.open))
        m.setattr(os, "stat", wrap(os.stat))
        m.setattr(os, "scandir", wrap(os.scandir))
        yield


@pytest.mark.parametrize("what", ["file", "folder"])
def test_an_unreadable_transcript_or_folder_keeps_its_history_and_is_counted(tmp_path, monkeypatch, capsys, what):
    claude, codex, main = _tree(tmp_path)
    roots = roots_for(claude, codex)
    data = tmp_path / "data"
    before = run_index(roots, data)
    target = main if what == "file" else main.parent
    write(main, claude_call(SID, t=900))  # grown meanwhile: it must be read once it can be
    capsys.readouterr()
    with denied(monkeypatch, target):
        result = run_index(roots, data)
        memory = Loader(roots)
        load = memory.load_all(finalize=True)
    err = capsys.readouterr().err
    assert normalized(result.summaries) == normalized(before.summaries)  # history kept as it was
    assert result.archived == set()  # never marked deleted
    assert str(target) in result.unreadable and "denied" in result.unreadable[str(target)].lower()
    assert err.count("\n") == 1 and "not read:" in err
    assert str(target) in load.unreadable  # --no-cache says so too (and does not crash)
    again = run_index(roots, data)  # readable again: the new bytes are read
    assert normalized(again.summaries) == normalized(run_memory(roots))
    assert again.unreadable == {}


@pytest.mark.parametrize("cache", [True, False])
def test_a_report_names_the_file_it_could_not_read_once(tmp_path, monkeypatch, capsys, cache):
    from tokdash import cli

    claude, codex, main = _tree(tmp_path)
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    argv = ["report", "sessions", "--json", *_flags(claude, codex)] + ([] if cache else ["--no-cache"])
    assert cli.main(argv) == 0
    before = _tokens(capsys.readouterr().out.encode())
    with denied(monkeypatch, main):
        code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0
    lines = [line for line in err.splitlines() if str(main) in line]
    assert len(lines) == 1 and "denied" in lines[0].lower()  # named once, whichever feed read
    got = _tokens(out.encode())
    if cache:
        assert got == before  # the index keeps the file's history
    else:  # memory counts what it could read (the sub-agent's file) and said what it could not
        assert got[SID] < before[SID] and {k: v for k, v in got.items() if k != SID} == \
            {k: v for k, v in before.items() if k != SID}


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads mode-000 files (simulated above)")
def test_a_mode_000_transcript_for_real(tmp_path):
    claude, codex, main = _tree(tmp_path)
    data = tmp_path / "data"
    assert _cli(["report", "sessions", "--json", *_flags(claude, codex)], data).returncode == 0
    before = _tokens(_cli(["report", "sessions", "--json", *_flags(claude, codex)], data).stdout)
    main.chmod(0)
    try:
        got = _cli(["report", "sessions", "--json", *_flags(claude, codex)], data)
        assert got.returncode == 0 and b"Traceback" not in got.stderr and b"not read:" in got.stderr
        assert _tokens(got.stdout) == before  # its history kept
        got = _cli(["report", "sessions", "--json", "--no-cache", *_flags(claude, codex)], data)
        assert got.returncode == 0 and b"Traceback" not in got.stderr
    finally:
        main.chmod(0o644)


# --- the index is private -------------------------------------------------------------------------


def test_the_index_is_readable_by_its_owner_only(tmp_path):
    claude, codex, _main = _tree(tmp_path)
    data = tmp_path / "fresh" / "tokdash"
    run_index(roots_for(claude, codex), data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith("index-")]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), \
        {p.name: oct(p.stat().st_mode) for p in files}
    db = next(p for p in files if p.suffix == ".db")
    db.chmod(0o644)  # as an older tokdash left it
    data.chmod(0o755)
    run_index(roots_for(claude, codex), data)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600 and stat.S_IMODE(data.stat().st_mode) == 0o700
