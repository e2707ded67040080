"""The offset reader: partial lines, bad bytes, truncation, replacement; any chunking, any corruption."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import (
    CORPUS,
    HAIKU,
    OPUS,
    SONNET,
    ClaudeSession,
    CodexRollout,
    append_bytes,
    claude_main_path,
    codex_id,
    codex_rollout_path,
    load,
    prices,
    sid,
    summaries,
    tokens,
    usage_dict,
)
from tokdash.ingest import reader as reader_mod
from tokdash.ingest.reader import Reader
from tokdash.model.records import Usage
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.report.sessions import judge, sessions_json
from tokdash.sources import SOURCES
from tokdash.sources.base import decode_line

CWD = "/home/dev/acme-api"
CLAUDE, CODEX = SOURCES["claude"], SOURCES["codex"]


def claude_session(n_calls: int = 3) -> ClaudeSession:
    s = ClaudeSession(sid(1))
    for i in range(n_calls):
        s.prompt(f"step {i}")
        s.response(input=3 + i, output=100 * (i + 1), cache_write_1h=1000 * (i + 1), cache_read=20_000 + i)
    return s


def line_bytes(s) -> list[bytes]:
    return [orjson.dumps(ln) + b"\n" for ln in s.lines]


def read_into(store: Store, reader: Reader, path: Path, agent: str = "claude", *, finalize: bool = False):
    batch = reader.read(path, SOURCES[agent], finalize=finalize)
    if batch is not None:
        store.add_batch(batch, agent)
    return batch


def only(store: Store):
    got = summaries(store)
    assert len(got) == 1, sorted(got)
    return next(iter(got.values()))


def expected_of(*responses) -> Usage:
    u = Usage()
    for r in responses:
        u.add(r.usage)
    return u


# --- partial lines -------------------------------------------------------------------------


def test_a_half_written_last_line_waits_for_its_newline(tmp_path):
    s = claude_session(3)
    lines = line_bytes(s)
    path = claude_main_path(tmp_path, CWD, s.session_id)
    path.parent.mkdir(parents=True)
    head = b"".join(lines[:-1])
    last = lines[-1]
    path.write_bytes(head + last[:200])
    store, reader = Store(), Reader()

    read_into(store, reader, path)
    assert reader.files[str(path)].offset == len(head)
    assert only(store).api_calls == 2
    again = reader.read(path, CLAUDE)  # only the same half line: nothing to consume
    assert again is None or (not again.calls and not again.events)
    assert reader.files[str(path)].offset == len(head)

    append_bytes(path, last[200:-1])  # the whole record, still without its newline
    read_into(store, reader, path)
    assert only(store).api_calls == 2 and reader.files[str(path)].offset == len(head)

    append_bytes(path, b"\n")
    read_into(store, reader, path)
    assert tokens(only(store)) == usage_dict(s.expected, calls=3)
    assert reader.files[str(path)].offset == path.stat().st_size
    assert reader.read(path, CLAUDE) is None
    assert only(store).bad_lines == 0


def test_finalize_consumes_a_complete_unterminated_last_line_once(tmp_path):
    s = claude_session(2)
    data = s.data()
    path = claude_main_path(tmp_path, CWD, s.session_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:-1])  # a copied transcript without its final newline
    store, reader = Store(), Reader()
    read_into(store, reader, path)
    assert only(store).api_calls == 1
    read_into(store, reader, path, finalize=True)
    assert tokens(only(store)) == usage_dict(s.expected, calls=2)
    assert reader.files[str(path)].offset == len(data) - 1

    # it turns out to grow after all: the newline and one more call arrive
    more = ClaudeSession(sid(1), clock=500.0)
    more.response(input=1, output=7, cache_read=10)
    append_bytes(path, b"\n" + more.data())
    read_into(store, reader, path, finalize=True)
    expected = s.expected.copy()
    expected.add(more.expected)
    assert tokens(only(store)) == usage_dict(expected, calls=3)


def test_finalize_leaves_an_incomplete_last_line_for_later(tmp_path):
    s = claude_session(2)
    lines = line_bytes(s)
    path = claude_main_path(tmp_path, CWD, s.session_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:-40])
    store, reader = Store(), Reader()
    read_into(store, reader, path, finalize=True)
    assert only(store).api_calls == 1 and only(store).bad_lines == 0
    assert reader.files[str(path)].offset == len(b"".join(lines[:-1]))
    append_bytes(path, lines[-1][-40:])
    read_into(store, reader, path, finalize=True)
    assert tokens(only(store)) == usage_dict(s.expected, calls=2)


# --- bad bytes ----------------------------------------------------------------------------------


def _file(tmp_path: Path, data: bytes, session_id: str = sid(1)) -> Path:
    path = claude_main_path(tmp_path, CWD, session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_two_objects_on_one_line_are_both_counted(tmp_path):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r1 = s.response(input=1, output=10, cache_read=100)
    r2 = s.response(input=2, output=20, cache_read=200)
    a, b = (orjson.dumps(r.lines[0]) for r in (r1, r2))
    path = _file(tmp_path, orjson.dumps(s.lines[0]) + b"\n" + a + b + b"\n")
    got = only(load([path]))
    assert tokens(got) == usage_dict(s.expected, calls=2)
    assert got.bad_lines == 0


@pytest.mark.parametrize("cut", [0.05, 0.2, 0.35, 0.5, 0.62, 0.75, 0.9, 0.98])
def test_a_truncated_record_spliced_onto_the_next_one(tmp_path, cut):
    """A crash left half a record; the next write went on the same line. The next record is
    recovered; no nested object of the broken one is taken for a line of its own."""
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r1 = s.response(blocks=[("tool_use", "Read", {"file_path": "/a.py"})], input=1, output=10, cache_read=100)
    r2 = s.response(input=2, output=20, cache_read=200)
    r3 = s.response(input=3, output=30, cache_read=300)
    broken = orjson.dumps(r2.lines[0])
    broken = broken[: int(len(broken) * cut)]
    data = b"".join([orjson.dumps(s.lines[0]), b"\n", orjson.dumps(r1.lines[0]), b"\n", broken,
                     orjson.dumps(r3.lines[0]), b"\n"])
    path = _file(tmp_path, data)
    store = load([path])
    got = only(store)
    assert tokens(got) == usage_dict(expected_of(r1, r3), calls=2)
    assert got.bad_lines == 1 and store.bad_lines == {str(path): 1}


@pytest.mark.parametrize(
    "layout",
    ["nul-line", "nul-prefix", "nul-after-truncated", "nul-only-file-tail"],
)
def test_nul_runs(tmp_path, layout):
    s = claude_session(3)
    lines = line_bytes(s)
    nul = b"\x00" * 4096
    if layout == "nul-line":
        data = b"".join(lines[:2]) + nul + b"\n" + b"".join(lines[2:])
    elif layout == "nul-prefix":
        data = b"".join(lines[:2]) + nul + b"".join(lines[2:])
    elif layout == "nul-after-truncated":
        data = b"".join(lines[:-1]) + lines[-1][:50] + nul + b"\n" + lines[-1]
    else:
        data = b"".join(lines) + nul
    path = _file(tmp_path, data)
    got = only(load([path]))
    assert tokens(got) == usage_dict(s.expected, calls=3)


@pytest.mark.parametrize("agent", ["claude", "codex"])
@pytest.mark.parametrize("form", ["bom", "crlf", "bom+crlf"])
def test_bom_and_crlf_in_copied_files(tmp_path, agent, form):
    if agent == "claude":
        s = claude_session(3)
        path = claude_main_path(tmp_path, CWD, s.session_id)
    else:
        s = CodexRollout(codex_id(1))
        s.session_meta()  # the first line: a BOM in front of it must not lose the session id
        s.turn_context()
        s.user("x")
        s.call()
        s.call(input=20_000, cached=19_000, output=10, reasoning=0)
        path = codex_rollout_path(tmp_path, s.session_id)
    data = s.data()
    if "crlf" in form:
        data = data.replace(b"\n", b"\r\n")
    if "bom" in form:
        data = b"\xef\xbb\xbf" + data
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    got = only(load([path]))
    assert tokens(got) == usage_dict(s.expected, calls=s.calls)
    assert got.session_id == s.session_id and got.bad_lines == 0
    assert got.prompts == (3 if agent == "claude" else 1)
    if agent == "codex":
        assert got.project == s.cwd


def test_raw_line_and_paragraph_separators_do_not_split_lines(tmp_path):
    s = ClaudeSession(sid(1))
    s.prompt("first line\u2028second line\u2029third, and ünïcödé 日本語 🚀")
    s.response(blocks=[("text", "I read:\u2028a\u2029b"), ("tool_use", "Read", {"file_path": "/tmp/\u2028.py"})],
               input=3, output=50, cache_read=1000)
    s.response(input=1, output=5)
    data = s.data()
    assert b"\xe2\x80\xa8" in data and b"\xe2\x80\xa9" in data  # written raw, as Claude Code does
    assert len(data.decode().splitlines()) > data.count(b"\n")  # what str.splitlines() would do
    got = only(load([_file(tmp_path, data)]))
    assert tokens(got) == usage_dict(s.expected, calls=2)
    assert got.prompts == 1 and got.bad_lines == 0
    assert got.title.startswith("first line") and "third" in got.title
    assert got.tool_uses == {"Read": 1}


def test_invalid_utf8_inside_a_string_does_not_lose_the_record(tmp_path):
    s = claude_session(2)
    lines = line_bytes(s)
    lines[1] = lines[1].replace(b"Done.", b"Do\xff\xfene.")  # the first response's text
    assert b"\xff" in lines[1]
    got = only(load([_file(tmp_path, b"".join(lines))]))
    assert tokens(got) == usage_dict(s.expected, calls=2)


def test_undecodable_lines_are_counted_per_file_and_never_raise(tmp_path):
    s = claude_session(2)
    lines = line_bytes(s)
    garbage = [
        b'{"type":"assistant","message":{"model":"claude-opus-4-6","usage":{"input_tokens":5\n',
        b'\xff\xfe\x00"usage":{ not json at all\n',
        b'[{"type":"user","message":{"role":"user","content":"a list, not an object"}}]\n',
        b'42 "type":"system"\n',
    ]
    data = lines[0] + garbage[0] + lines[1] + garbage[1] + garbage[2] + lines[2] + garbage[3] + lines[3]
    other = ClaudeSession(sid(2))
    other.prompt("clean")
    other.response()
    path = _file(tmp_path, data)
    clean = _file(tmp_path, other.data(), sid(2))
    store = load([path, clean])
    got = summaries(store)
    assert tokens(got[sid(1)]) == usage_dict(s.expected, calls=2)
    assert got[sid(1)].bad_lines == 4 and got[sid(1)].to_json()["unreadable_lines"] == 4
    assert store.bad_lines == {str(path): 4}
    assert got[sid(2)].bad_lines == 0


# --- truncation and replacement ----------------------------------------------------------------


def test_a_truncated_then_rewritten_file_is_reread_without_double_counting(tmp_path):
    s = claude_session(3)
    lines = line_bytes(s)
    path = _file(tmp_path, b"".join(lines))
    store, reader = Store(), Reader()
    read_into(store, reader, path)
    assert tokens(only(store)) == usage_dict(s.expected, calls=3)

    with open(path, "r+b") as f:  # truncated in place (same inode) and rewritten shorter
        f.truncate(0)
        f.write(b"".join(lines[:2]))
    batch = read_into(store, reader, path)
    assert reader.files[str(path)].resets == 1 and batch.replaces_file
    # The file holds less now: it counts what it holds (a fresh read), nothing doubled.
    assert tokens(only(store)) == tokens(only(load([path])))
    assert tokens(only(store)) != usage_dict(s.expected, calls=3)

    more = ClaudeSession(sid(1), clock=900.0)
    more.prompt("again")
    more.response(input=9, output=99, cache_read=999)
    append_bytes(path, b"".join(lines[2:]) + more.data())
    read_into(store, reader, path)
    expected = s.expected.copy()
    expected.add(more.expected)
    assert tokens(only(store)) == usage_dict(expected, calls=4)
    assert only(store).prompts == 4


def test_a_file_replaced_by_a_new_inode_is_reread_without_double_counting(tmp_path):
    s = claude_session(3)
    path = _file(tmp_path, s.data())
    store, reader = Store(), Reader()
    read_into(store, reader, path)
    more = ClaudeSession(sid(1), clock=900.0)
    more.response(input=4, output=44, cache_read=444)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(s.data() + more.data())  # larger than before: only the inode tells
    os.replace(tmp, path)
    read_into(store, reader, path)
    assert reader.files[str(path)].resets == 1
    expected = s.expected.copy()
    expected.add(more.expected)
    assert tokens(only(store)) == usage_dict(expected, calls=4)
    assert only(store).prompts == 3


def test_a_codex_file_reread_from_zero_keeps_its_cumulative_state(tmp_path):
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("x")
    r.call(input=100, cached=0, output=10, reasoning=0)
    r.repeat()
    r.call(input=200, cached=100, output=20, reasoning=5)
    path = codex_rollout_path(tmp_path, r.session_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(r.data())
    store, reader = Store(), Reader()
    read_into(store, reader, path, "codex")
    tmp = path.with_suffix(".tmp")
    r.call(input=300, cached=250, output=30, reasoning=0)
    tmp.write_bytes(r.data())
    os.replace(tmp, path)
    read_into(store, reader, path, "codex")
    assert tokens(only(store)) == usage_dict(r.expected, calls=3)


def test_bad_lines_are_not_counted_twice_when_a_file_is_reread(tmp_path):
    s = claude_session(2)
    lines = line_bytes(s)
    data = lines[0] + b'{"type":"assistant","usage":{"broken\n' + b"".join(lines[1:])
    path = _file(tmp_path, data)
    store, reader = Store(), Reader()
    read_into(store, reader, path)
    assert only(store).bad_lines == 1
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # the same content under a new inode: read again from zero
    read_into(store, reader, path)
    assert only(store).bad_lines == 1


def test_missing_and_foreign_files_are_none(tmp_path):
    reader = Reader()
    assert reader.read(tmp_path / "gone" / f"{sid(1)}.jsonl", CLAUDE) is None
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert reader.read(notes, CLAUDE) is None
    assert reader.read(tmp_path / "history.jsonl", CODEX) is None
    s = claude_session(1)
    path = _file(tmp_path, s.data())
    assert reader.read(path, CLAUDE) is not None
    path.unlink()
    assert reader.read(path, CLAUDE) is None


# --- decode_line ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line,n_objs,bad",
    [
        (b'{"a":1}', 1, 0),
        (b'{"a":1}{"b":2}', 2, 0),
        (b'{"a":1} {"b":2}\r', 2, 0),
        (b'\xef\xbb\xbf{"a":1}', 1, 0),
        (b'{"a":1}\r', 1, 0),
        (b'\x00\x00\x00{"a":1}', 1, 0),
        (b'{"a":1,"b":{"c":', 0, 1),
        # a broken record followed by whole ones: whatever parses as a run of objects up to
        # the end of the line is taken (here, inherently ambiguous with nested objects)
        (b'{"a":1,"b":{"c":{"type":"user"}{"z":2}', 2, 1),
        (b'{"a":{"nested":1}', 1, 1),
        (b'{"a":1,"b":{"c":{"type":"user"},"d":', 0, 1),
        # nested deeper than both decoders go: a bad line, not a crash
        (b'{"x":' + b'[' * 5000 + b'{"deep":1}' + b']' * 5000 + b'}', 0, 1),
        (b'{"x":' + b'[' * 5000, 0, 1),
        (b"[1,2]", 0, 1),
        (b"42", 0, 1),
        (b'{"a":1} trailing', 1, 1),
        (b"", 0, 0),
        (b"\x00" * 64, 0, 0),
        (b"   \r", 0, 0),
        (b"\xff\xfe\xfd", 0, 1),
    ],
    ids=lambda v: repr(v[:24]) if isinstance(v, bytes) else str(v),
)
def test_decode_line(line, n_objs, bad):
    """(Parameter ids are the line's first bytes.)"""
    objs, n_bad = decode_line(line)
    assert len(objs) == n_objs and n_bad == bad
    assert all(isinstance(o, dict) for o in objs)


def test_decode_line_takes_linear_time_on_a_pathological_line():
    import time

    line = b'{"x":' + b'{"y":[' * 20_000 + b"{" * 200_000
    t = time.perf_counter()
    objs, bad = decode_line(line)
    assert objs == [] and bad >= 1
    assert time.perf_counter() - t < 5.0


# --- property: any chunking gives the same totals -------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=24)
_n = st.integers(0, 50_000)

_claude_op = st.one_of(
    st.tuples(st.just("prompt"), _text),
    st.tuples(st.just("response"), st.integers(1, 4), _n, _n, _n, _n, _n, st.booleans(), st.booleans(),
              st.sampled_from([OPUS, SONNET, HAIKU])),
    st.tuples(st.just("progress")),
    st.tuples(st.just("tool_result"), _text),
    st.tuples(st.just("synthetic")),
    st.tuples(st.just("compact")),
    st.tuples(st.just("title"), _text),
    st.tuples(st.just("snapshot")),
)

_codex_op = st.one_of(
    st.tuples(st.just("user"), _text),
    st.tuples(st.just("turn"), st.sampled_from(["gpt-5.3-codex", "gpt-5-codex"])),
    st.tuples(st.just("call"), _n, _n, st.integers(0, 5000), st.integers(0, 5000)),
    st.tuples(st.just("repeat")),
    st.tuples(st.just("null")),
    st.tuples(st.just("tool")),
)


def build_claude(ops) -> ClaudeSession:
    s = ClaudeSession(sid(1))
    for op in ops:
        kind = op[0]
        if kind == "prompt":
            s.prompt(op[1] or "hi")
        elif kind == "response":
            _, nb, inp, out, w5, w1, rd, side, stop, model = op
            blocks = [("text", "t"), ("tool_use", "Bash", {"command": "ls"}), ("thinking", "hm"),
                      ("tool_use", "Read", {"file_path": "/x"})][:nb]
            s.response(model=model, blocks=blocks, input=inp, output=out, cache_write_5m=w5, cache_write_1h=w1,
                       cache_read=rd, sidechain=side, agent_id="a9" if side else None,
                       stop_reason="end_turn" if stop else None)
        elif kind == "progress":
            s.progress_with_usage()
        elif kind == "tool_result":
            s.tool_result("toolu_1", op[1])
        elif kind == "synthetic":
            s.synthetic("Limit reached · resets 7pm")
        elif kind == "compact":
            s.compact_boundary()
        elif kind == "title":
            s.ai_title(op[1] or "t")
        else:
            s.snapshot()
    return s


def build_codex(ops) -> CodexRollout:
    r = CodexRollout(codex_id(1))
    r.session_meta()
    for op in ops:
        kind = op[0]
        if kind == "user":
            r.user(op[1] or "hi")
        elif kind == "turn":
            r.turn_context(op[1])
        elif kind == "call":
            _, inp, cached, out, reasoning = op
            r.call(input=inp + cached, cached=cached, output=out + reasoning, reasoning=reasoning)
        elif kind == "repeat" and r.last is not None:
            r.repeat()
        elif kind == "null":
            r.null_info()
        elif kind == "tool":
            r.tool()
    return r


@contextlib.contextmanager
def _new_dir():
    """A fresh folder per hypothesis example (function-scoped fixtures are shared across examples)."""
    with tempfile.TemporaryDirectory(prefix="tokdash-prop-") as d:
        yield Path(d)


def _json_without_paths(store: Store) -> dict:
    out = {}
    for key, s in store.sessions.items():
        j = summarize(s, prices()).to_json()
        j.pop("paths")
        out[key] = j
    return out


def _read_in_pieces(path: Path, agent: str, data: bytes, cuts: list[int]) -> Store:
    store, reader = Store(), Reader()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    prev = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        if cut <= prev:
            continue
        append_bytes(path, data[prev:cut])
        prev = cut
        read_into(store, reader, path, agent)
    read_into(store, reader, path, agent, finalize=True)
    return store


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    claude_ops=st.lists(_claude_op, min_size=1, max_size=10),
    codex_ops=st.lists(_codex_op, min_size=1, max_size=12),
    chunk=st.sampled_from([1, 2, 3, 7, 64, 509, reader_mod.CHUNK]),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    data=st.data(),
)
def test_any_chunking_gives_the_same_totals_as_one_read(claude_ops, codex_ops, chunk, crlf, final_newline, data):
    with _new_dir() as work:
        for agent, built in (("claude", build_claude(claude_ops)), ("codex", build_codex(codex_ops))):
            raw = built.data()
            if crlf:
                raw = raw.replace(b"\n", b"\r\n")
            if not final_newline:
                raw = raw.rstrip(b"\r\n")
            cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=25), label=f"{agent} cuts")
            name = (claude_main_path(Path("p"), CWD, built.session_id) if agent == "claude"
                    else codex_rollout_path(Path("h"), built.session_id))
            whole = work / "whole" / name
            whole.parent.mkdir(parents=True)
            whole.write_bytes(raw)
            reference = load([whole])
            with mock.patch.object(reader_mod, "CHUNK", chunk):
                pieces = _read_in_pieces(work / "pieces" / name, agent, raw, cuts)
            assert _json_without_paths(pieces) == _json_without_paths(reference)
            # and both equal the builder's own ground truth
            got = summaries(reference)
            if got:
                assert tokens(only(reference)) == usage_dict(built.expected, calls=built.calls)
            else:  # only lines that make no session (progress, snapshots)
                assert built.calls == 0


# --- property: corruption never raises, never goes negative ----------------------------------------


def _corpus_lines() -> dict[str, list[bytes]]:
    """Real lines (at most 6 KB each) when the corpus is present, else lines from the builders."""
    out: dict[str, list[bytes]] = {"claude": [], "codex": []}
    if (CORPUS / "claude").is_dir():
        files = {"claude": sorted((CORPUS / "claude").rglob("*.jsonl")), "codex": sorted((CORPUS / "codex").rglob("*.jsonl"))}
        for agent, paths in files.items():
            for p in paths:
                for raw in p.read_bytes().split(b"\n"):
                    if raw and len(raw) <= 6000:
                        out[agent].append(raw + b"\n")
            step = max(1, len(out[agent]) // 300)
            out[agent] = out[agent][::step]
    if not out["claude"]:
        s = build_claude([("prompt", "hi"), ("response", 3, 5, 50, 100, 200, 3000, False, True, OPUS),
                          ("progress",), ("tool_result", "out"), ("synthetic",), ("compact",),
                          ("response", 2, 5, 50, 0, 0, 300, True, True, HAIKU), ("title", "x")])
        out["claude"] = line_bytes(s)
    if not out["codex"]:
        r = build_codex([("turn", "gpt-5-codex"), ("user", "hi"), ("null",), ("call", 10, 5, 3, 1), ("repeat",),
                         ("tool",), ("call", 20, 15, 4, 2)])
        out["codex"] = line_bytes(r)
    return out


_LINES = _corpus_lines()

_mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("nuls"), st.floats(0, 1), st.integers(1, 300)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("splice"), st.floats(0, 1)),
    st.tuples(st.just("digits"), st.floats(0, 1), st.sampled_from([b"-", b"99999999999999999999", b"1e308", b"null"])),
)


def _mutate(line: bytes, nxt: bytes, m) -> bytes:
    kind, where = m[0], m[1]
    body = line.rstrip(b"\n")
    i = int(where * len(body))
    if kind == "flip":
        return body[:i] + bytes([m[2]]) + body[i + 1 :] + b"\n"
    if kind == "delete":
        return body[:i] + body[i + m[2] :] + b"\n"
    if kind == "insert":
        return body[:i] + m[2] + body[i:] + b"\n"
    if kind == "nuls":
        return body[:i] + b"\x00" * m[2] + body[i:] + b"\n"
    if kind == "truncate":
        return body[:i] + b"\n"
    if kind == "digits":
        j = body.find(b":", i)
        if j == -1:
            return line
        k = j + 1
        while k < len(body) and body[k : k + 1].isdigit():
            k += 1
        return body[: j + 1] + m[2] + body[k:] + b"\n"
    return body[:i] + nxt  # splice: a truncated record, then the next record on the same line


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    agent=st.sampled_from(["claude", "codex"]),
    picks=st.lists(st.tuples(st.integers(0, 10**6), st.lists(_mutation, max_size=3)), min_size=1, max_size=40),
)
def test_corrupted_lines_never_raise_and_never_go_negative(agent, picks):
    pool = _LINES[agent]
    lines = []
    for idx, muts in picks:
        line = pool[idx % len(pool)]
        for m in muts:
            line = _mutate(line, pool[(idx + 1) % len(pool)], m)
        lines.append(line)
    raw = b"".join(lines)
    for line in raw.split(b"\n"):
        objs, bad = decode_line(line)
        assert bad >= 0 and all(isinstance(o, dict) for o in objs)
    with _new_dir() as work:
        path = (claude_main_path(work, CWD, sid(3)) if agent == "claude" else codex_rollout_path(work, codex_id(3)))
        path.parent.mkdir(parents=True)
        path.write_bytes(raw)
        store = load([path])
        summs = [summarize(s, prices()) for s in store.sessions.values()]
        report = sessions_json(judge(summs))
        for j in report["sessions"]:
            for field in ("input_tokens", "output_tokens", "reasoning_tokens", "cache_write_tokens",
                          "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "total_tokens",
                          "api_calls", "assistant_turns", "prompts", "context_tokens", "unreadable_lines",
                          "compactions", "rate_limits", "api_errors", "web_searches"):
                assert j[field] >= 0, (field, j[field])
            assert j["cost_usd"] >= 0
            assert all(v >= 0 for a in j["subagents"] for k, v in a.items() if isinstance(v, (int, float)))
            orjson.dumps(j)  # and it serialises
        assert all(v >= 0 for v in store.bad_lines.values())


# --- property: any JSON value in any field is survivable ------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    if not path:
        return value
    obj = orjson.loads(orjson.dumps(obj))
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


_SHAPES = {
    "claude": [orjson.loads(b) for b in line_bytes(build_claude([
        ("prompt", "hi"), ("response", 2, 5, 50, 100, 200, 3000, False, True, OPUS), ("progress",),
        ("tool_result", "out"), ("synthetic",), ("compact",), ("response", 1, 5, 50, 0, 0, 0, True, True, HAIKU),
        ("title", "x")]))] + [{"type": "summary", "summary": "s", "leafUuid": "u"},
                               {"type": "custom-title", "customTitle": "c", "sessionId": sid(1)}],
    "codex": [orjson.loads(b) for b in line_bytes(build_codex([
        ("turn", "gpt-5-codex"), ("user", "hi"), ("null",), ("call", 10, 5, 3, 1), ("tool",)]))]
    + [{"timestamp": "2026-03-02T09:00:00.000Z", "type": "session_meta",
        "payload": {"id": codex_id(2), "forked_from_id": codex_id(1), "cwd": "/x",
                    "source": {"subagent": {"thread_spawn": {"parent_thread_id": codex_id(1)}}},
                    "git": {"branch": "main"}}},
       {"timestamp": "2026-03-02T09:00:00.000Z", "type": "compacted", "payload": {"message": ""}},
       {"timestamp": "2026-03-02T09:00:00.000Z", "type": "event_msg",
        "payload": {"type": "error", "message": "rate limit"}}],
}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent=st.sampled_from(["claude", "codex"]), data=st.data())
def test_any_json_value_in_any_field_is_survivable(agent, data):
    lines = []
    for _ in range(data.draw(st.integers(1, 4))):
        shape = data.draw(st.sampled_from(_SHAPES[agent]))
        where = data.draw(st.sampled_from(list(_paths(shape))))
        lines.append(_replace(shape, where, data.draw(_json)))
    lines += _SHAPES[agent]
    with _new_dir() as work:
        path = claude_main_path(work, CWD, sid(4)) if agent == "claude" else codex_rollout_path(work, codex_id(4))
        path.parent.mkdir(parents=True)
        # the stdlib encoder: it writes what orjson refuses (integers beyond 64 bits, Infinity), which
        # sends those lines down the slow decoding path
        path.write_bytes(b"".join(json.dumps(ln, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                                  for ln in lines))
        store = load([path])
        for s in store.sessions.values():
            j = summarize(s, prices()).to_json()
            assert all(j[f] >= 0 for f in ("input_tokens", "output_tokens", "cache_read_tokens", "total_tokens",
                                            "prompts", "api_calls"))
            orjson.dumps(j)


def test_a_corrupt_giant_count_is_not_a_count(tmp_path):
    """Found by the corruption property: a digit run spliced into a usage field made a
    20-digit int that no 64-bit consumer (orjson, SQLite) accepts. It counts as 0."""
    s = ClaudeSession(sid(1))
    s.response(input=7, output=11, cache_read=13)
    data = s.data().replace(b'"cache_read_input_tokens":13', b'"cache_read_input_tokens":99999999999999999999')
    path = claude_main_path(tmp_path, CWD, s.session_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    j = summarize(next(iter(load([path]).sessions.values())), prices()).to_json()
    orjson.dumps(j)
    assert (j["input_tokens"], j["output_tokens"], j["cache_read_tokens"]) == (7, 11, 0)
