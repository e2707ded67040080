"""Gemini CLI: JSONL chats (re-appended ids, ``$set``, ``$rewindTo``), legacy documents
rewritten in place, sub-agents, project paths, and the shared corpus against ccusage."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.unit.agent_builders import (
    GEMINI_MODEL,
    GeminiChat,
    gemini_chat_path,
    gemini_id,
    load,
    summaries,
)
from tests.unit.builders import append_bytes, prices, usage_dict
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.index import Index
from tokdash.ingest.reader import Reader
from tokdash.ingest.watcher import Watcher
from tokdash.model.records import EDIT, READ, SEARCH, Usage
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.sources import SOURCES
from tokdash.sources.gemini.chat import UNKNOWN_MODEL

GEMINI = SOURCES["gemini"]
PROJECT = "acme-api"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "gemini"
    (home / "tmp" / PROJECT).mkdir(parents=True)
    (home / "tmp" / PROJECT / ".project_root").write_text("/home/dev/acme-api\n")
    return home


def _chat(n: int = 1, **kw) -> GeminiChat:
    chat = GeminiChat(gemini_id(n), **kw)
    chat.meta()
    return chat


def _one(store: Store):
    (s,) = store.sessions.values()
    return summarize(s, prices())


# --- the shared corpus against ccusage ---------------------------------------------------------


def test_the_real_legacy_session_equals_ccusage(corpus):
    expected = json.loads((corpus / "expected" / "gemini-sessions.ccusage.json").read_text())
    roots = resolve_roots(["gemini"], {"gemini": [str(corpus / "gemini")]})
    store = load([p for _a, p in discover(roots)])
    ours = {s.session_id: summarize(s, prices()) for s in store.sessions.values()}
    assert set(ours) == {e["sessionId"] for e in expected["sessions"]}
    for e in expected["sessions"]:
        u = ours[e["sessionId"]].usage
        # ccusage leaves thoughts out of its outputTokens but counts them in totalTokens
        # (corpus README): input, cache read and the total must be equal.
        assert (u.input, u.cache_read, u.total) == (e["inputTokens"], e["cacheReadTokens"], e["totalTokens"])
        assert u.cache_write == e["cacheCreationTokens"] == 0
        assert u.output - u.reasoning == e["outputTokens"]
        assert ours[e["sessionId"]].models == e["modelsUsed"]
        assert ours[e["sessionId"]].cost > 0 and not ours[e["sessionId"]].unpriced_models
    t = expected["totals"]
    assert sum(s.usage.total for s in ours.values()) == t["totalTokens"]


# --- JSONL: copies, $set, $rewindTo ---------------------------------------------------------------


def test_re_appended_ids_count_once_with_the_last_copy(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("Add rate limiting to the /v2 endpoints")
    chat.respond(input=9000, output=200, cached=6000, thoughts=300, tools=[("read_file", {"file_path": "src/a.py"})])
    chat.respond(input=12000, output=80, cached=8500, thoughts=40, tool=25)
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    assert chat.jsonl().count(b'"type":"gemini"') == 5  # three copies of the first, two of the second
    s = _one(load([path]))
    assert s.api_calls == 2 and s.prompts == 1
    assert usage_dict(s.usage) == usage_dict(chat.expected)
    assert s.usage.input == (9000 - 6000) + (12000 - 8500 + 25)  # tool-use prompt tokens bill as input
    assert s.usage.reasoning == 340 and s.usage.output == 200 + 300 + 80 + 40
    assert s.project == "/home/dev/acme-api" and s.models == [GEMINI_MODEL]
    assert s.resume_command == f"gemini --resume {chat.session_id}"


def test_a_later_copy_with_fewer_tokens_wins_by_reading_the_file_again(tmp_path):
    """"Last copy wins" is not "largest wins": when a new copy holds fewer tokens than the
    copy already counted, the whole file is read again and replaces what it gave."""
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    first = chat.respond(input=20000, output=500, cached=0)
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    store, reader = Store(), Reader()
    load([path], store=store, reader=reader, finalize=False)
    assert _one(store).usage.total == 20500
    again = chat.again(first, tokens={"input": 9000, "output": 100, "cached": 0, "thoughts": 0, "tool": 0,
                                      "total": 9100})
    append_bytes(path, json.dumps(again).encode() + b"\n")
    batch = reader.read(path, GEMINI)
    assert batch.replaces_file
    store.add_batch(batch, "gemini")
    s = _one(store)
    assert s.usage.total == 9100 == chat.expected.total and s.api_calls == 1


def test_null_tokens_wait_for_the_copy_that_brings_them(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    pending = chat.respond(tokens=False)  # text only, tokens null
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    store, reader = Store(), Reader()
    load([path], store=store, reader=reader)
    assert _one(store).api_calls == 0
    later = chat.again(pending, tokens={"input": 5000, "output": 70, "cached": 1000, "thoughts": 9, "tool": 0,
                                        "total": 5079})
    append_bytes(path, json.dumps(later).encode() + b"\n")
    store.add_batch(reader.read(path, GEMINI), "gemini")
    s = _one(store)
    assert s.api_calls == 1 and usage_dict(s.usage) == usage_dict(chat.expected)


def test_a_rewind_read_later_withdraws_that_message_and_every_later_one(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("first try")
    keep = chat.respond(input=7000, output=100)
    undo = chat.user("no, do it differently")
    chat.respond(input=9000, output=300)
    chat.respond(input=11000, output=250)
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    store, reader = Store(), Reader()
    load([path], store=store, reader=reader)
    assert _one(store).api_calls == 3 and _one(store).prompts == 2
    chat.rewind(undo)
    redo = chat.user("do it like this")
    chat.respond(input=8000, output=90)
    path.write_bytes(chat.jsonl())  # appended: the same file, grown
    batch = reader.read(path, GEMINI)
    assert batch.replaces_file  # the whole file again, its final message set
    assert {c.key[-1] for c in batch.calls} == {keep["id"], chat.order[-1]}
    store.add_batch(batch, "gemini")
    s = _one(store)
    assert s.api_calls == 2 and s.prompts == 2
    assert usage_dict(s.usage) == usage_dict(chat.expected)
    assert s.usage.total == 7100 + 8090
    # A fresh read of the whole file agrees.
    assert usage_dict(_one(load([path])).usage) == usage_dict(s.usage)
    assert redo["id"] in chat.order


def test_a_rewind_to_an_unknown_id_drops_everything_before_it(tmp_path):
    """gemini-cli's loader clears the whole message set when the rewind target is not there."""
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100)
    chat.records.append({"$rewindTo": "not-a-message"})
    chat.user("again")
    chat.respond(input=3000, output=50)
    s = _one(load([chat.write(gemini_chat_path(home, PROJECT, chat.session_id))]))
    assert s.api_calls == 1 and s.usage.total == 3050 and s.prompts == 1


def test_set_updates_the_title_and_a_messages_checkpoint_drops_nothing(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    a = chat.respond(input=7000, output=100)
    chat.respond(input=9000, output=120)
    chat.set(summary="Rate limiting for /v2")
    # A compression's checkpoint lists only what the model still sees: the calls before it
    # were billed all the same.
    chat.set(messages=[a])
    s = _one(load([chat.write(gemini_chat_path(home, PROJECT, chat.session_id))]))
    assert s.title == "Rate limiting for /v2"
    assert s.api_calls == 2 and s.usage.total == 7100 + 9120


def test_tool_calls_are_tool_uses_with_kinds_and_targets(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(tools=[("read_file", {"file_path": "src/a.py"}), ("replace", {"file_path": "src/a.py"}),
                        ("grep_search", {"pattern": "limit"}), ("run_shell_command", {"command": "make"})])
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    store = load([path])
    s = _one(store)
    assert s.tool_uses == {"read_file": 1, "replace": 1, "grep_search": 1, "run_shell_command": 1}
    (slot,) = next(iter(store.sessions.values())).slots.values()
    kinds = {t.name: (t.kind, t.target, t.whole_file) for t in slot.tools.values()}
    assert kinds["read_file"] == (READ, "src/a.py", True)
    assert kinds["replace"][0] == EDIT and kinds["grep_search"] == (SEARCH, "limit", False)


def test_a_response_without_a_model_is_unpriced_never_free(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    rec = chat.respond(input=1000, output=10)
    chat.again(rec, model=None)
    s = _one(load([chat.write(gemini_chat_path(home, PROJECT, chat.session_id))]))
    assert s.unpriced_models == [UNKNOWN_MODEL] and s.cost_partial


def test_bad_lines_are_skipped_and_counted(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=1000, output=10)
    path = gemini_chat_path(home, PROJECT, chat.session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = chat.jsonl().split(b"\n")
    path.write_bytes(b"\n".join(lines[:2] + [b'{"id": "x", "type": "gem', b"\x00\x00\x00", b"]]"] + lines[2:]))
    s = _one(load([path]))
    assert s.bad_lines == 2 and s.usage.total == 1010


def test_a_file_growing_mid_line_gives_the_whole_file_s_totals(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    for i in range(6):
        chat.user(f"step {i}")
        chat.respond(input=5000 + i, output=50 + i, cached=1000, tools=[("glob", {"pattern": "*.py"})])
    data = chat.jsonl()
    path = gemini_chat_path(home, PROJECT, chat.session_id)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    store, reader = Store(), Reader()
    for a, b in zip(range(0, len(data), 777), range(777, len(data) + 777, 777)):
        append_bytes(path, data[a:b])
        batch = reader.read(path, GEMINI)
        if batch is not None:
            store.add_batch(batch, "gemini")
    s = _one(store)
    assert usage_dict(s.usage) == usage_dict(chat.expected) and s.api_calls == 6 and s.prompts == 6
    assert reader.read(path, GEMINI) is None


# --- legacy documents, rewritten in place ---------------------------------------------------------


def test_a_legacy_document_rewritten_in_place_replaces_what_it_gave(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100)
    path = chat.write_document(gemini_chat_path(home, PROJECT, chat.session_id, legacy=True))
    store, reader = Store(), Reader()
    load([path], store=store, reader=reader)
    assert _one(store).usage.total == 7100
    assert reader.read(path, GEMINI) is None  # unchanged: nothing read
    chat.respond(input=9000, output=200)
    st = os.stat(path)
    with open(path, "r+") as f:  # in place: same inode, as Node's writeFileSync does
        f.write(json.dumps(chat.document(), indent=2))
        f.truncate()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    batch = reader.read(path, GEMINI)
    assert batch.replaces_file and len(batch.calls) == 2
    store.add_batch(batch, "gemini")
    assert _one(store).usage.total == 7100 + 9200 == chat.expected.total


def test_a_document_caught_mid_rewrite_keeps_the_previous_reading(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100)
    path = chat.write_document(gemini_chat_path(home, PROJECT, chat.session_id, legacy=True))
    store, reader = Store(), Reader()
    load([path], store=store, reader=reader)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    batch = reader.read(path, GEMINI)
    assert not batch.replaces_file and batch.bad_lines == 1 and not batch.calls
    store.add_batch(batch, "gemini")
    s = _one(store)
    assert s.usage.total == 7100 and s.bad_lines == 1
    path.write_bytes(whole)
    store.add_batch(reader.read(path, GEMINI), "gemini")
    assert _one(store).bad_lines == 0 and _one(store).usage.total == 7100


def test_a_legacy_session_migrated_to_jsonl_counts_once(tmp_path):
    """Resuming a legacy session writes its messages again into ``<same name>.jsonl``."""
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100)
    legacy = chat.write_document(gemini_chat_path(home, PROJECT, chat.session_id, legacy=True))
    chat.respond(input=9000, output=100)
    jsonl = chat.write(legacy.with_suffix(".jsonl"))
    s = _one(load([legacy, jsonl]))
    assert s.api_calls == 2 and s.usage.total == 7100 + 9100 and s.prompts == 1
    assert len(s.paths) == 2


# --- sub-agents, projects, turn ends ----------------------------------------------------------


def test_a_subagent_file_rolls_into_its_parent(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100, tools=[("invoke_agent", {"agent": "codebase_investigator"})])
    main = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    sub = GeminiChat(gemini_id(99), kind="subagent")
    sub.meta()
    sub.user("Investigate the limiter")  # written by the parent agent, not a human
    sub.respond(input=3000, output=40, model="gemini-2.5-flash")
    sub_path = sub.write(main.parent / chat.session_id / f"{sub.session_id}.jsonl")
    assert GEMINI.claims(sub_path) and GEMINI.session_files(main) == [main, sub_path]
    store = load([sub_path, main])
    assert list(store.sessions) == [("gemini", chat.session_id)]
    s = _one(store)
    assert s.api_calls == 2 and s.prompts == 1 and s.assistant_turns == 1
    assert [(a.agent_id, a.usage.total, a.task) for a in s.subagents] == [(sub.session_id, 3040,
                                                                             "Investigate the limiter")]
    assert usage_dict(s.usage) == usage_dict(_sum(chat.expected, sub.expected))


def _sum(*usages: Usage) -> Usage:
    out = Usage()
    for u in usages:
        out.add(u)
    return out


@pytest.mark.parametrize("layout", ["marker", "registry", "hash", "unknown"])
def test_the_project_path_comes_from_the_registry_else_the_folder(tmp_path, layout):
    home = tmp_path / "gemini"
    cwd = "/home/dev/ml-pipeline"
    digest = hashlib.sha256(cwd.encode()).hexdigest()
    folder = {"marker": "ml-pipeline", "registry": "ml-pipeline-1", "hash": digest, "unknown": digest}[layout]
    (home / "tmp" / folder).mkdir(parents=True)
    if layout == "marker":
        (home / "tmp" / folder / ".project_root").write_text(cwd)
    elif layout in ("registry", "hash"):
        (home / "projects.json").write_text(json.dumps({"projects": {cwd: "ml-pipeline-1", "/else": "else"}}))
    chat = _chat()
    chat.respond()
    s = _one(load([chat.write(gemini_chat_path(home, folder, chat.session_id))]))
    assert s.project == (digest if layout == "unknown" else cwd)


def test_turn_end_when_the_last_response_asks_for_no_tool(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(tools=[("read_file", {"file_path": "a"})])
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    assert not [e for e in load([path]).events.values() if e.kind == "turn_end"]
    last = chat.respond(text="All done.")
    path = chat.write(path)
    ends = [e for e in load([path]).events.values() if e.kind == "turn_end"]
    assert [(e.key[-1], e.timestamp) for e in ends] == [(last["id"], ends[0].timestamp)]
    assert ends[0].timestamp > 0


# --- discovery, the watcher, the index ------------------------------------------------------------


def test_discovery_and_claims_agree_and_leftovers_are_not_transcripts(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.respond()
    main = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    legacy = chat.write_document(gemini_chat_path(home, PROJECT, gemini_id(2), legacy=True))
    sub = chat.write(main.parent / chat.session_id / "sub.jsonl")
    junk = [main.parent / f"{main.name}.tmp-1234", main.parent / f"{main.name}.unreadable-1", main.parent / "logs.json",
            home / "tmp" / PROJECT / "logs.json", home / "projects.json"]
    for j in junk:
        j.write_text("{}")
    listed = {p for top in GEMINI.scan_roots([home]) for p in GEMINI.files(top)}
    assert listed == {main, legacy, sub}
    on_disk = {Path(d) / n for d, _dirs, names in os.walk(home) for n in names}
    assert {p for p in on_disk if GEMINI.claims(p)} == listed


def test_the_watcher_reads_a_changed_chat(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.respond()
    main = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    w = Watcher(resolve_roots(["gemini"], {"gemini": [str(home)]}))
    w.watch_dirs()
    assert w.classify([str(main), str(main) + ".tmp-99"]) == [("gemini", main)]


def test_the_index_reads_only_what_is_new_and_equals_a_fresh_read(tmp_path):
    home = _home(tmp_path)
    chat = _chat()
    chat.user("go")
    chat.respond(input=7000, output=100)
    path = chat.write(gemini_chat_path(home, PROJECT, chat.session_id))
    roots = resolve_roots(["gemini"], {"gemini": [str(home)]})
    data = tmp_path / "data"

    def run():
        index = Index.for_roots(roots, data)
        try:
            return index.sync(discover(roots))
        finally:
            index.close()

    first = run()
    assert [s.usage.total for s in first.summaries] == [7100]
    assert run().files_read == 0
    undo = chat.user("redo")
    chat.respond(input=9000, output=50)
    path.write_bytes(chat.jsonl())
    assert {s.usage.total for s in run().summaries} == {7100 + 9050}
    chat.rewind(undo)
    path.write_bytes(chat.jsonl())
    got = run()
    assert [(s.usage.total, s.api_calls, s.prompts) for s in got.summaries] == [(7100, 1, 1)]
    assert [s.usage.total for s in summaries(load([path])).values()] == [7100]


def test_a_fifo_named_like_a_chat_never_blocks_a_read(tmp_path):
    home = _home(tmp_path)
    fifo = gemini_chat_path(home, PROJECT, gemini_id(5))
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    assert Reader().read(fifo, GEMINI) is None
    os.mkfifo(fifo.with_suffix(".json"))
    assert Reader().read(fifo.with_suffix(".json"), GEMINI) is None


def test_fifos_in_place_of_the_project_files_never_block_a_read(tmp_path):
    home = tmp_path / "gemini"
    folder = home / "tmp" / "ml-pipeline"
    folder.mkdir(parents=True)
    os.mkfifo(folder / ".project_root")
    os.mkfifo(home / "projects.json")
    chat = _chat()
    chat.respond()
    # A plain open() of either FIFO would wait for a writer forever; the folder name it is.
    s = _one(load([chat.write(gemini_chat_path(home, "ml-pipeline", chat.session_id))]))
    assert s.project == "ml-pipeline" and s.usage.total == chat.expected.total
