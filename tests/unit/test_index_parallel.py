"""Forked reading for the index: the same batches, states and database as a serial read.

``parallel.read_states`` reads reader states in forked workers and hands the results back
in order; ``reading.read_in_order`` picks it for a build with enough bytes. The index
built that way must be the very database a serial build writes, row for row, and every
way a worker can fail (a file that cannot be read, a read that raises, a worker that dies)
must end as a serial read would.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from index_fixtures import CodexWriter, claude_call, claude_project, claude_prompt, codex_rollout_path, roots_for, write
from tokdash.ingest import parallel
from tokdash.ingest.discovery import discover
from tokdash.ingest.index import Index, codec, reading
from tokdash.ingest.reader import FileState, Unreadable, read_state
from tokdash.sources import SOURCES

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forked reading needs os.fork")


def _tree(root: Path) -> tuple[Path, Path]:
    """A few sessions with cross-file copies (a resumed session), a sub-agent and a rollout."""
    claude, codex = root / "claude", root / "codex"
    proj = claude_project(claude)
    s1, s2 = "aaaa0001-0000-4000-8000-000000000001", "aaaa0002-0000-4000-8000-000000000002"
    first = [claude_prompt(s1, "fix the parser", t=0.0)] + [ln for i in range(6) for ln in claude_call(s1, t=i * 10.0)]
    write(proj / f"{s1}.jsonl", first)
    write(proj / f"{s2}.jsonl", first[:5] + [ln for i in range(4) for ln in claude_call(s2, t=100 + i)])
    write(proj / s1 / "subagents" / "agent-a1b2.jsonl", [ln for i in range(3) for ln in
                                                           claude_call(s1, t=50 + i, sidechain=True)])
    for k in range(3):
        w = CodexWriter(f"0197a1b2-0000-7000-8000-00000000000{k}")
        write(codex_rollout_path(codex, w.sid), w.head() + [ln for i in range(4) for ln in w.call(t=i)])
    return claude, codex


def _value(v):
    """A stored blob decoded (``marshal`` bytes depend on object sharing, not only on values)."""
    if type(v) is bytes:
        try:  # a key (canonical JSON bytes) fails the checksum and stays as it is
            return ("decoded", codec.loads(v))
        except codec.CodecError:
            return v
    return v


def _dump(db: Path) -> dict[str, list]:
    """Every row of every table (blobs decoded) but the build time, in rowid order where there is one."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall():
            order = "1" if "WITHOUT ROWID" in sql else "rowid"
            out[name] = [tuple(map(_value, r)) for r in conn.execute(f"SELECT * FROM {name} ORDER BY {order}")]
    finally:
        conn.close()
    out["meta"] = [r for r in out["meta"] if r[0] != "built"]
    return out


def _build(roots, data: Path, workers: int, monkeypatch) -> dict[str, list]:
    if workers > 1:
        monkeypatch.setattr(parallel, "MIN_BYTES_PER_WORKER", 1)
        monkeypatch.setattr(reading, "MIN_FILES", 1)
        monkeypatch.setattr(parallel, "worker_count", lambda total, jobs=None: workers)
    else:
        monkeypatch.setattr(reading, "workers_for", lambda todo: (1, []))
    index = Index.for_roots(roots, data)
    try:
        index.sync(discover(roots))
        path = index.path
    finally:
        index.close()
        monkeypatch.undo()
    return _dump(path)


@pytest.mark.parametrize("workers", [2, 3])
def test_forked_build_writes_the_serial_database(tmp_path, monkeypatch, workers):
    claude, codex = _tree(tmp_path)
    roots = roots_for(claude, codex)
    serial = _build(roots, tmp_path / "serial", 1, monkeypatch)
    forked = _build(roots, tmp_path / "forked", workers, monkeypatch)
    assert serial["slots"] and serial["events"] and serial["sessions"]
    assert forked == serial


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus absent")
def test_forked_build_of_the_corpus_writes_the_serial_database(tmp_path, monkeypatch):
    roots = roots_for(CORPUS / "claude", CORPUS / "codex")
    serial = _build(roots, tmp_path / "serial", 1, monkeypatch)
    forked = _build(roots, tmp_path / "forked", 2, monkeypatch)
    assert len(serial["files"]) > 10
    assert forked == serial


def test_an_update_read_on_every_core_writes_the_serial_database(tmp_path, monkeypatch):
    """A sync with many new files to read over an index that holds others (days away), read
    serially and on every core: the same database."""
    import shutil

    claude, codex = _tree(tmp_path / "t")
    late = {f"aaab000{k}-0000-4000-8000-00000000000{k}": [ln for i in range(3) for ln in claude_call(
        f"aaab000{k}-0000-4000-8000-00000000000{k}", t=200 + 10 * k + i)] for k in range(6)}
    grew = claude_call("aaaa0001-0000-4000-8000-000000000001", t=300.0)
    dumps = {}
    for name, n in (("serial", 1), ("forked", 2)):
        tree = tmp_path / name
        shutil.copytree(tmp_path / "t", tree)  # the same bytes and times for both
        proj = claude_project(tree / "claude")
        roots = roots_for(tree / "claude", tree / "codex")
        _build(roots, tree / "data", 1, monkeypatch)  # the index as it was
        for k, (sid, lines) in enumerate(late.items()):
            path = proj / f"{sid}.jsonl"
            write(path, lines)
            os.utime(path, (1_700_000_000 + k, 1_700_000_000 + k))
        grown = proj / "aaaa0001-0000-4000-8000-000000000001.jsonl"
        write(grown, grew)
        os.utime(grown, (1_700_000_100, 1_700_000_100))
        dumps[name] = _build(roots, tree / "data", n, monkeypatch)
    assert len(dumps["serial"]["files"]) == 12

    def local(dump: dict, name: str) -> str:
        """The dump with what differs between two copies of a tree left out: its folder's name,
        the files' inodes and the checksums over names and inodes."""
        dump = dict(dump, files=[r[:2] + r[4:13] for r in dump["files"]], paths=[r[:2] for r in dump["paths"]])
        return repr(dump).replace(str(tmp_path / name), "TREE")

    assert local(dumps["forked"], "forked") == local(dumps["serial"], "serial")


def _states(paths: list[Path]) -> list[FileState]:
    out = []
    for p in paths:
        ctx = SOURCES["claude"].context_for(p)
        assert ctx is not None
        out.append(FileState(str(p), SOURCES["claude"], ctx))
    return out


def _serial(states: list[FileState]) -> list:
    out = []
    for st in states:
        try:
            batch = read_state(st, finalize=True)
        except Unreadable as exc:
            out.append(("unreadable", str(exc.strerror)))
            continue
        out.append(("ok", parallel.pack_batch(batch) if batch is not None else None))
    return out


def _outcome(states: list[FileState], results) -> list:
    out = []
    for i, batch, why, _extra in results:
        assert why is None or batch is None
        out.append(("unreadable", why) if why is not None else ("ok", parallel.pack_batch(batch) if batch else None))
    return out


def _fields(st: FileState) -> tuple:
    return (st.offset, st.ident, st.size, st.mtime, st.resets, st.bad_lines, st.head_len, st.head_sum,
            codec.dumps(st.ctx))


def test_read_states_in_order_with_every_failure(tmp_path, monkeypatch):
    """Files that cannot be read (a FIFO), are gone, make the worker's read raise, or kill
    their worker end exactly as a serial read of the same states does."""
    proj = claude_project(tmp_path / "claude")
    paths = []
    for k in range(8):
        sid = f"bbbb000{k}-0000-4000-8000-00000000000{k}"
        p = proj / f"{sid}.jsonl"
        write(p, [ln for i in range(k + 2) for ln in claude_call(sid, t=i)])
        paths.append(p)
    fifo = proj / "cccc0000-0000-4000-8000-000000000000.jsonl"
    os.mkfifo(fifo)
    paths.insert(3, fifo)
    paths.insert(5, proj / "dddd0000-0000-4000-8000-000000000000.jsonl")  # never written: gone
    raising, dying = str(paths[1]), str(paths[6])
    parent = os.getpid()
    real_read, real_one = read_state, parallel._read_one

    def read_raising(state, *, finalize=False):
        if os.getpid() != parent and state.path == raising:
            raise RuntimeError("a bug met only in the worker")
        return real_read(state, finalize=finalize)

    def read_one_dying(state, finalize, pack_ctx):
        if os.getpid() != parent and state.path == dying:
            os._exit(3)  # the worker dies mid-share: its unsent files are read by the parent
        return real_one(state, finalize, pack_ctx)

    want_states = _states(paths)
    want = _serial(want_states)
    import tokdash.ingest.reader as reader_module

    monkeypatch.setattr(reader_module, "read_state", read_raising)
    monkeypatch.setattr(parallel, "_read_one", read_one_dying)
    got_states = _states(paths)
    got = _outcome(got_states, parallel.read_states(got_states, finalize=True, workers=3,
                                                    weights=[1] * len(paths), pack_ctx=codec.dumps,
                                                    unpack_ctx=codec.loads))
    assert got == want
    assert [_fields(s) for s in got_states] == [_fields(s) for s in want_states]
    assert want[3][0] == "unreadable" and want[5] == ("ok", None)


def test_read_states_stops_its_workers_when_the_caller_stops(tmp_path):
    proj = claude_project(tmp_path / "claude")
    paths = []
    for k in range(6):
        sid = f"eeee000{k}-0000-4000-8000-00000000000{k}"
        write(proj / f"{sid}.jsonl", claude_call(sid, t=0))
        paths.append(proj / f"{sid}.jsonl")
    states = _states(paths)
    gen = parallel.read_states(states, finalize=True, workers=2, weights=[1] * 6, pack_ctx=codec.dumps,
                               unpack_ctx=codec.loads)
    first = next(gen)
    assert first[0] == 0 and first[1] is not None
    gen.close()  # workers killed and reaped: none is left behind
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_live_process_with_threads_reads_serially(monkeypatch):
    import threading

    monkeypatch.setattr(threading, "active_count", lambda: 3)
    assert reading.workers_for([("claude", None)] * 100) == (1, [])  # type: ignore[list-item]
