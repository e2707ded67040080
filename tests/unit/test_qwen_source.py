"""Qwen Code: ``projects/<project>/chats/<sessionId>.jsonl``, ``usageMetadata`` counted as
Gemini's (cached inside the prompt), both usage shapes, sub-agents inline, branch copies,
spaced JSON, turn ends."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit.agent_builders import QWEN_MODEL, QwenChat, load, qwen_chat_path
from tests.unit.builders import append_bytes, prices, usage_dict
from tokdash.ingest.discovery import resolve_roots
from tokdash.ingest.reader import Reader
from tokdash.ingest.watcher import Watcher
from tokdash.model.records import EDIT, READ
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.sources import SOURCES

QWEN = SOURCES["qwen"]
SID = "7c1e9a20-3b4d-4e5f-8a6b-0123456789ab"
PROJECT = "-home-dev-acme-api"


def _one(store: Store):
    (s,) = store.sessions.values()
    return summarize(s, prices())


def _chat(**kw) -> QwenChat:
    chat = QwenChat(SID, **kw)
    chat.user("Add rate limiting to the /v2 endpoints")
    chat.assistant(prompt=9000, output=150, cached=6000, thoughts=40,
                   tools=[("read_file", {"absolute_path": "/home/dev/acme-api/src/a.py"})])
    chat.tool_result()
    chat.assistant(prompt=11000, output=90, cached=8800, tools=[("edit", {"file_path": "/home/dev/acme-api/src/a.py"})])
    chat.tool_result()
    chat.assistant(prompt=11500, output=60, cached=10900, legacy=True)
    return chat


def test_usage_metadata_counts_like_gemini_in_both_shapes(tmp_path):
    chat = _chat()
    s = _one(load([chat.write(qwen_chat_path(tmp_path / "qwen", PROJECT, SID))]))
    assert s.api_calls == 3 and s.prompts == 1
    assert usage_dict(s.usage) == usage_dict(chat.expected)
    assert s.usage.input == (9000 - 6000) + (11000 - 8800) + (11500 - 10900)
    assert s.usage.reasoning == 40 and s.models == [QWEN_MODEL]
    assert s.project == "/home/dev/acme-api" and s.cli_version == "0.6.0" and s.git_branch == "main"
    assert s.resume_command == f"qwen --resume {SID}"
    # Qwen's own API models are not in the bundled price table: unpriced, never $0.
    assert s.unpriced_models == [QWEN_MODEL] and s.cost_partial


def test_spaced_json_reads_the_same(tmp_path):
    """Lines written with spaces after the separators (Python's ``json.dumps``) are not missed."""
    compact = _one(load([_chat().write(qwen_chat_path(tmp_path / "a", PROJECT, SID))]))
    spaced = _one(load([_chat(compact=False).write(qwen_chat_path(tmp_path / "b", PROJECT, SID))]))
    assert compact.to_json() | {"paths": []} == spaced.to_json() | {"paths": []}


def test_tool_calls_have_kinds_and_targets(tmp_path):
    store = load([_chat().write(qwen_chat_path(tmp_path / "qwen", PROJECT, SID))])
    tools = {t.name: t for slot in next(iter(store.sessions.values())).slots.values() for t in slot.tools.values()}
    assert (tools["read_file"].kind, tools["read_file"].target) == (READ, "/home/dev/acme-api/src/a.py")
    assert tools["edit"].kind == EDIT


def test_subagent_records_are_rows_of_the_session_and_branch_copies_count_once(tmp_path):
    chat = _chat()
    chat.user("Task for the explorer", isSidechain=True, agentId="explore-7f3c")
    chat.assistant(prompt=3000, output=20, isSidechain=True, agentId="explore-7f3c", model="qwen3-coder-flash")
    main = chat.write(qwen_chat_path(tmp_path / "qwen", PROJECT, SID))
    s = _one(load([main]))
    assert s.prompts == 1 and s.api_calls == 4
    assert [(a.agent_id, a.calls) for a in s.subagents] == [("explore-7f3c", 1)]
    # /branch: every record copied verbatim into a new session, with ``forkedFrom``.
    fork = "9d2e0b31-4c5e-4f60-9b7c-123456789abc"
    copy = QwenChat(fork)
    for rec in chat.records:
        copy.records.append({**rec, "sessionId": fork, "forkedFrom": {"sessionId": SID, "messageUuid": rec["uuid"]}})
    copy.assistant(prompt=12000, output=40, cached=11000)
    fork_path = copy.write(qwen_chat_path(tmp_path / "qwen", PROJECT, fork))
    store = load([fork_path, main])
    by = {sid: summarize(x, prices()) for (_a, sid), x in store.sessions.items()}
    assert by[SID].api_calls == 4 and by[fork].api_calls == 1
    assert by[fork].prompts == 0  # copied prompts are the original session's


def test_turn_ends_and_system_records(tmp_path):
    chat = _chat()
    chat.system("chat_compression", {"info": {"originalTokenCount": 90000, "newTokenCount": 12000},
                                     "compressedHistory": []})
    chat.system("custom_title", {"customTitle": "Rate limits", "titleSource": "manual"})
    chat.system("turn_result", {"promptId": "p-1", "state": "error", "endedAt": 1,
                                "error": {"message": "429 Too Many Requests"}})
    store = load([chat.write(qwen_chat_path(tmp_path / "qwen", PROJECT, SID))])
    s = _one(store)
    assert s.compactions == 1 and s.title == "Rate limits" and s.rate_limits == 1
    ends = [e for e in next(iter(store.sessions.values())).events.values() if e.kind == "turn_end"]
    assert sorted(e.text for e in ends) == ["error", "stop"]  # the last response asked for no tool


def test_a_file_growing_mid_line_and_bad_lines(tmp_path):
    chat = _chat()
    data = b"".join(line + b"\n" for line in _chat().write(tmp_path / "x.jsonl").read_bytes().split(b"\n") if line)
    path = qwen_chat_path(tmp_path / "qwen", PROJECT, SID)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    store, reader = Store(), Reader()
    for a in range(0, len(data), 501):
        append_bytes(path, data[a:a + 501])
        batch = reader.read(path, QWEN)
        if batch is not None:
            store.add_batch(batch, "qwen")
    append_bytes(path, b'{"type": "assistant", "usageMetadata": {"prompt\n')
    store.add_batch(reader.read(path, QWEN), "qwen")
    s = _one(store)
    assert usage_dict(s.usage) == usage_dict(chat.expected) and s.bad_lines == 1


def test_discovery_claims_and_the_watcher_agree(tmp_path):
    home = tmp_path / "qwen"
    main = _chat().write(qwen_chat_path(home, PROJECT, SID))
    old = _chat().write(home / "tmp" / ("a" * 64) / "chats" / "old.jsonl")
    for junk in (home / "projects" / PROJECT / "memory.md", home / "tmp" / ("a" * 64) / "shell_history",
                 home / "projects" / PROJECT / "chats" / "index.json"):
        junk.write_text("x")
    tops = QWEN.scan_roots([home])
    listed = {p for top in tops for p in QWEN.files(top)}
    assert listed == {main, old}
    on_disk = {Path(d) / n for d, _dirs, names in os.walk(home) for n in names}
    assert {p for p in on_disk if QWEN.claims(p)} == listed
    w = Watcher(resolve_roots(["qwen"], {"qwen": [str(home)]}))
    w.watch_dirs()
    assert w.classify([str(main), str(home / "projects" / PROJECT / "memory.md")]) == [("qwen", main)]
