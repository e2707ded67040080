"""Faults the index must survive: a second tokdash, kill -9 mid-write, a full disk, a damaged file.

After each one a run reports exactly what a full in-memory read reports, and the
database is intact (``PRAGMA integrity_check``) and never half-written.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from index_fixtures import (
    CodexWriter,
    claude_call,
    claude_project,
    claude_prompt,
    codex_rollout_path,
    normalized,
    cli_roots,
    roots_for,
    run_index,
    run_memory,
    totals,
    write,
)
from tokdash.cli import main
from tokdash.ingest import index as index_mod
from tokdash.ingest.index import db as index_db

REPO = Path(__file__).resolve().parents[2]
SID = "dddd0001-0000-4000-8000-000000000001"
DEADLINE = 30.0


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Two sessions on disk, a data dir, and the CLI flags naming them."""
    claude, codex, data = tmp_path / "claude", tmp_path / "codex", tmp_path / "data"
    proj = claude_project(claude)
    main_file = proj / f"{SID}.jsonl"
    write(main_file, [claude_prompt(SID, "add a cache", t=0)])
    for i in range(5):
        write(main_file, claude_call(SID, t=10 + 30 * i))
    cw = CodexWriter("0197a1b2-0000-7000-8000-0000000fa017")
    write(codex_rollout_path(codex, cw.sid), cw.head() + cw.call(t=3) + cw.call(t=40))
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(data))
    flags = ["--claude-dir", str(claude), "--codex-dir", str(codex)]
    return claude, codex, data, main_file, flags


def _db(claude: Path, codex: Path, data: Path) -> Path:
    return index_mod.index_path(cli_roots(claude, codex), data)


def _dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def _intact(db: Path) -> bool:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _report(flags: list[str], capsys, *extra: str) -> tuple[dict, str]:
    assert main(["report", "sessions", "--json", *flags, *extra]) == 0
    cap = capsys.readouterr()
    return orjson.loads(cap.out), cap.err


def _append_calls(path: Path, n: int, t0: float = 1000.0) -> None:
    lines = []
    for i in range(n):
        lines += claude_call(SID, t=t0 + 20 * i, output=100 + i)
    write(path, lines)


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    end = time.monotonic() + DEADLINE
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError("child never reached the write")
        time.sleep(0.02)


# --- two tokdash at once ----------------------------------------------------------------

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('holder', 'x')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(db), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_report_while_another_process_writes_longer_than_the_busy_timeout(env, capsys, monkeypatch):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    db = _db(claude, codex, data)
    _append_calls(main_file, 3)
    before = _dump(db)
    monkeypatch.setattr(index_db, "BUSY_TIMEOUT", 0.2)
    holder = _hold(db, 1.0)
    try:
        out, err = _report(flags, capsys)
    finally:
        holder.wait(timeout=DEADLINE)
    expected, _ = _report(flags, capsys, "--no-cache")
    assert out["totals"] == expected["totals"] | {"archived_sessions": 0}
    assert err.count("\n") == 1 and "busy" in err
    # The report saved nothing; the holder's own write went through.
    assert [x for x in _dump(db) if "holder" not in x] == before
    # The next run reads the appended bytes (once) and saves them.
    result = run_index(cli_roots(claude, codex), data)
    assert result.saved and result.files_read == 1
    assert normalized(result.summaries) == normalized(run_memory(roots_for(claude, codex)))
    assert _intact(db)


def test_report_waits_for_a_short_write_and_saves(env, capsys):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    db = _db(claude, codex, data)
    _append_calls(main_file, 2)
    holder = _hold(db, 0.5)
    try:
        out, err = _report(flags, capsys)
    finally:
        holder.wait(timeout=DEADLINE)
    assert err == ""
    expected, _ = _report(flags, capsys, "--no-cache")
    assert out["totals"] == expected["totals"] | {"archived_sessions": 0}
    assert run_index(cli_roots(claude, codex), data).files_read == 0  # it was saved
    assert _intact(db)


def test_two_reports_at_once_neither_double_counts(env, capsys):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    db = _db(claude, codex, data)
    for round_no in range(3):
        _append_calls(main_file, 40, t0=5000.0 * (round_no + 1))
        cmd = [sys.executable, "-m", "tokdash", "report", "sessions", "--json", *flags]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO) for _ in range(2)]
        outs = [p.communicate(timeout=DEADLINE) for p in procs]
        expected, _ = _report(flags, capsys, "--no-cache")
        for (out, err), p in zip(outs, procs, strict=True):
            assert p.returncode == 0, err
            assert orjson.loads(out)["totals"] == expected["totals"] | {"archived_sessions": 0}
        again, _ = _report(flags, capsys)
        assert again["totals"] == expected["totals"] | {"archived_sessions": 0}
    assert _intact(db)


# --- kill -9 in the middle of a write ---------------------------------------------------

_KILLED = """
import sys, time
from tokdash.ingest.index import tables
marker = sys.argv[1]
real = tables.write_store
def write_store(conn, store, prices):
    real(conn, store, prices)          # rows written, the transaction still open
    open(marker, "w").close()
    time.sleep(60)
tables.write_store = write_store
from tokdash.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("moment", ["cold build", "incremental merge"])
def test_kill_9_during_a_write_leaves_a_consistent_index(env, capsys, tmp_path, moment):
    claude, codex, data, main_file, flags = env
    if moment == "incremental merge":
        _report(flags, capsys)
        _append_calls(main_file, 10)
    marker = tmp_path / "in-write"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(marker), "report", "sessions", "--json", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO,
                            env={**os.environ, "TOKDASH_DATA_DIR": str(data)})
    _wait_for(marker, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=DEADLINE)
    db = _db(claude, codex, data)
    assert _intact(db)
    out, err = _report(flags, capsys)
    expected, _ = _report(flags, capsys, "--no-cache")
    assert err == ""
    assert out == expected | {"totals": expected["totals"] | {"archived_sessions": 0},
                              "sessions": [s | {"archived": False} for s in expected["sessions"]]}
    roots = cli_roots(claude, codex)
    rebuilt = index_mod.Index.for_roots(roots, tmp_path / "clean")
    clean = rebuilt.sync(__import__("tokdash.ingest.discovery", fromlist=["discover"]).discover(roots))
    rebuilt.close()
    assert totals(run_index(roots, data).summaries) == totals(clean.summaries)


# --- a full disk -------------------------------------------------------------------------


def _full_disk(monkeypatch, pages: int | None = None) -> None:
    """Every index connection may not grow the database file: SQLite's SQLITE_FULL, for real."""
    real = index_db._connect

    def connect(path, timeout):
        conn = real(path, timeout)
        n = pages if pages is not None else conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(n, 1)}")
        return conn

    monkeypatch.setattr(index_db, "_connect", connect)


def test_full_disk_during_a_merge_still_reports_correct_totals(env, capsys, monkeypatch):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    db = _db(claude, codex, data)
    _append_calls(main_file, 300)
    before = _dump(db)
    with monkeypatch.context() as m:
        _full_disk(m)
        out, err = _report(flags, capsys)
    expected, _ = _report(flags, capsys, "--no-cache")
    assert out["totals"] == expected["totals"] | {"archived_sessions": 0}
    assert err.count("\n") == 1 and "database or disk is full" in err
    assert _dump(db) == before  # rolled back: nothing half-written
    assert _intact(db)
    result = run_index(cli_roots(claude, codex), data)  # room again: the bytes are read once
    assert result.saved and result.files_read == 1
    assert normalized(result.summaries) == normalized(run_memory(roots_for(claude, codex)))


def test_full_disk_on_the_first_run_still_reports(env, capsys, monkeypatch):
    claude, codex, data, main_file, flags = env
    with monkeypatch.context() as m:
        _full_disk(m, pages=1)
        out, err = _report(flags, capsys)
    expected, _ = _report(flags, capsys, "--no-cache")
    assert out["totals"]["total_tokens"] == expected["totals"]["total_tokens"]
    assert err.count("\n") == 1 and "full" in err
    assert run_index(cli_roots(claude, codex), data).saved


def test_full_disk_history_report(env, capsys, monkeypatch):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    _append_calls(main_file, 300, t0=90_000)
    with monkeypatch.context() as m:
        _full_disk(m)
        assert main(["report", "daily", "--json", *flags]) == 0
        out = capsys.readouterr().out
    assert main(["report", "daily", "--json", "--no-cache", *flags]) == 0
    assert out == capsys.readouterr().out


# --- a damaged database ----------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage file", "garbage pages", "garbage record"])
def test_corrupted_database_is_moved_aside_and_rebuilt(env, capsys, damage):
    claude, codex, data, main_file, flags = env
    _report(flags, capsys)
    db = _db(claude, codex, data)
    if damage == "garbage file":
        db.write_bytes(os.urandom(64 * 1024))
    elif damage == "garbage pages":
        raw = bytearray(db.read_bytes())
        page = int.from_bytes(raw[16:18], "big") or 65536
        raw[page:] = os.urandom(len(raw) - page)
        db.write_bytes(bytes(raw))
    else:
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE sessions SET summary = x'ff00ff00'")
    out, err = _report(flags, capsys)
    expected, _ = _report(flags, capsys, "--no-cache")
    assert out["totals"] == expected["totals"] | {"archived_sessions": 0}
    assert err.count("\n") == 1 and "damaged" in err and ".corrupt-" in err
    aside = [p for p in data.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1
    assert _intact(db)
    again, err2 = _report(flags, capsys)
    assert err2 == "" and again == out
