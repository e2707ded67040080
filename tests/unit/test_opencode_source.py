"""OpenCode: the live database (incremental, read-only, a locked or half-migrated db), the
legacy JSON tree (each message once, the database first), step-finish parts never added,
child sessions rolled into their root, null tokens, the watcher on the WAL."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.unit.agent_builders import OPENCODE_MODEL, OpenCodeData, load
from tests.unit.builders import prices, usage_dict
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.index import Index
from tokdash.ingest.loader import Loader
from tokdash.ingest.reader import Reader
from tokdash.ingest.watcher import Watcher
from tokdash.model.records import EDIT, READ, SUBAGENT
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.sources import SOURCES, notices
from tokdash.sources.opencode import db as db_mod
from tokdash.sources.opencode.records import UNKNOWN_MODEL

OPENCODE = SOURCES["opencode"]
ROOT = "ses_3f2a9b1c6ffeAAAA"
CHILD = "ses_3f2a9b1c6ffeBBBB"


@pytest.fixture
def data(tmp_path):
    d = OpenCodeData(tmp_path / "opencode")
    yield d
    d.close()


def _session(data: OpenCodeData) -> None:
    data.session(ROOT)
    data.user(ROOT, "Add rate limiting to /v2")
    data.assistant(ROOT, tools=[("read", {"filePath": "/home/dev/acme-api/src/a.py"})])
    data.assistant(ROOT, tools=[("edit", {"filePath": "/home/dev/acme-api/src/a.py"})], reasoning=120)
    data.assistant(ROOT, finish="stop", output=90)


def _summary(store: Store, sid: str = ROOT):
    return summarize(store.sessions[("opencode", sid)], prices())


def test_calls_come_from_message_tokens_and_step_finish_parts_are_never_added(data):
    _session(data)
    s = _summary(load([data.db_path]))
    assert s.api_calls == 3 and s.prompts == 1
    assert usage_dict(s.usage) == usage_dict(data.expected[ROOT])
    assert s.usage.output == 300 + 300 + 120 + 90 and s.usage.reasoning == 120  # output + reasoning
    assert s.usage.cache_write_5m == 3 * 800 and s.usage.cache_read == 3 * 12000
    # OpenCode stored cost 0 (a subscription): the call is priced from the table.
    assert s.cost > 0 and not s.unpriced_models and s.models == [OPENCODE_MODEL]
    assert s.title == "Add rate limiting" and s.project == "/home/dev/acme-api"
    assert s.resume_command == f"opencode --session {ROOT}"
    assert s.tool_uses == {"read": 1, "edit": 1}


def test_tools_have_kinds_and_targets(data):
    _session(data)
    data.assistant(ROOT, tools=[("task", {"description": "explore"}), ("bash", {"command": "make"})])
    store = load([data.db_path])
    tools = {t.name: t for slot in store.sessions[("opencode", ROOT)].slots.values() for t in slot.tools.values()}
    assert (tools["read"].kind, tools["read"].target, tools["read"].whole_file) == (READ, "/home/dev/acme-api/src/a.py",
                                                                                    True)
    assert tools["edit"].kind == EDIT and tools["task"].kind == SUBAGENT and tools["bash"].kind == "other"


def test_child_sessions_roll_into_their_root_with_a_row_each(data):
    _session(data)
    data.session(CHILD, parent=ROOT, title="Explore the limiter (@explore subagent)")
    data.user(CHILD, "Find every rate limiter")  # the parent agent's task, not a human prompt
    data.assistant(CHILD, input=10, output=50, read=3000, write=0, model="claude-haiku-4-5", finish="stop")
    grandchild = data.session("ses_3f2a9b1c6ffeCCCC", parent=CHILD)
    data.assistant(grandchild, input=5, output=20, read=1000, write=0, model="claude-haiku-4-5")
    store = load([data.db_path])
    assert list(store.sessions) == [("opencode", ROOT)]
    s = _summary(store)
    assert s.api_calls == 5 and s.prompts == 1 and s.assistant_turns == 3
    assert usage_dict(s.usage) == usage_dict(data.expected[ROOT])
    assert [(a.agent_id, a.calls) for a in s.subagents] == [(CHILD, 1), (grandchild, 1)]
    assert [a.task for a in s.subagents] == ["Explore the limiter (@explore subagent)", ""]  # its title
    ends = [e for e in store.sessions[("opencode", ROOT)].events.values() if e.kind == "turn_end"]
    assert len(ends) == 1 and ends[0].text == "stop"  # the child's "stop" is not the human's turn


def test_null_tokens_and_an_unknown_model(data):
    data.session(ROOT)
    data.user(ROOT, "go")
    mid = data.assistant(ROOT, tokens=None, completed=False, finish=None, step_finish=False)
    data.assistant(ROOT, model="", input=100, output=10, read=0, write=0)
    s = _summary(load([data.db_path]))
    assert s.api_calls == 1 and s.unpriced_models == [UNKNOWN_MODEL]
    data.update_message(mid, tokens={"input": 7, "output": 3, "reasoning": 0, "cache": {"read": 500, "write": 0}},
                        time={"created": 1, "completed": 2}, finish="stop")
    s = _summary(load([data.db_path]))
    assert s.api_calls == 2 and s.usage.total == 110 + 510


def test_incremental_reads_see_only_what_changed_and_add_up(data):
    _session(data)
    store, reader = Store(), Reader()
    load([data.db_path], store=store, reader=reader)
    assert reader.read(data.db_path, OPENCODE) is None  # nothing new: nothing to merge
    mid = data.assistant(ROOT, finish=None, completed=False, tokens=None, step_finish=False, count=False)
    data.update_message(mid, tokens={"input": 50, "output": 400, "reasoning": 0, "cache": {"read": 15000, "write": 0}},
                        finish="stop")
    batch = reader.read(data.db_path, OPENCODE)
    assert [c.key for c in batch.calls] == [("opencode", mid)]
    store.add_batch(batch, "opencode")
    s = _summary(store)
    assert s.api_calls == 4 and s.usage.total == data.expected[ROOT].total + 15450
    assert _summary(load([data.db_path])).to_json() == s.to_json()


def test_a_prompt_waits_for_its_text_part(data):
    data.session(ROOT)
    mid = data.user(ROOT, None)  # the message row first; its text part is written just after
    store, reader = Store(), Reader()
    load([data.db_path], store=store, reader=reader)
    assert _summary(store).prompts == 0
    data.part(mid, ROOT, {"type": "text", "text": "Explain the limiter"})
    store.add_batch(reader.read(data.db_path, OPENCODE), "opencode")
    s = _summary(store)
    assert s.prompts == 1


def test_the_legacy_tree_and_the_database_count_each_message_once(data):
    _session(data)
    storage = data.export_storage()
    data.assistant(ROOT, finish="stop")  # only in the database (after the migration)
    roots = resolve_roots(["opencode"], {"opencode": [str(data.root)]})
    files = discover(roots)
    assert {p.name for _a, p in files} == {"opencode.db", f"{ROOT}.json"}
    for order in (files, list(reversed(files))):
        store = load([p for _a, p in order])
        s = _summary(store)
        assert s.api_calls == 4 and usage_dict(s.usage) == usage_dict(data.expected[ROOT])
        assert sorted(s.paths) == sorted([str(data.db_path), str(storage / "session" / "prj_1" / f"{ROOT}.json")])
    # The legacy tree alone (a machine that never ran v1.2) is read the same way.
    s = _summary(load([storage / "session" / "prj_1" / f"{ROOT}.json"]))
    assert s.api_calls == 3 and s.prompts == 1 and s.title == "Add rate limiting"


def test_legacy_child_sessions_roll_up_too(data):
    _session(data)
    data.session(CHILD, parent=ROOT)
    data.assistant(CHILD, model="claude-haiku-4-5")
    storage = data.export_storage()
    store = load([storage / "session" / "prj_1" / f"{CHILD}.json", storage / "session" / "prj_1" / f"{ROOT}.json"])
    assert list(store.sessions) == [("opencode", ROOT)]
    assert [a.agent_id for a in _summary(store).subagents] == [CHILD]


def test_undecodable_message_data_is_skipped_and_counted(data):
    _session(data)
    data.open().execute("INSERT INTO message VALUES ('msg_bad', ?, 1, 1, '{\"role\":\"assist')", (ROOT,))
    s = _summary(load([data.db_path]))
    assert s.bad_lines == 1 and s.api_calls == 3


# --- reading the live database safely -------------------------------------------------------------


def test_a_write_transaction_in_progress_never_blocks_nor_half_counts(data):
    """OpenCode holds a write transaction (WAL): tokdash reads the last committed state
    at once, and sees the new call only when it is committed."""
    _session(data)
    store, reader = Store(), Reader()
    load([data.db_path], store=store, reader=reader)
    before = _summary(store).usage.total
    writer = data.open()
    writer.execute("BEGIN IMMEDIATE")
    data.assistant(ROOT, input=1, output=1, read=1, write=1, count=False)
    assert reader.read(data.db_path, OPENCODE) is None  # not blocked, nothing uncommitted
    assert _summary(store).usage.total == before
    writer.execute("COMMIT")
    store.add_batch(reader.read(data.db_path, OPENCODE), "opencode")
    assert _summary(store).usage.total == before + 4


def test_a_locked_database_gives_a_notice_and_is_read_on_the_next_tick(tmp_path):
    """A rollback-journal database (mid-migration, an old build) locked exclusively by its
    writer: no crash, no wrong total, a notice, and the next read gets it."""
    data = OpenCodeData(tmp_path / "opencode", journal="delete")
    try:
        _session(data)
        writer = data.open()
        writer.execute("BEGIN EXCLUSIVE")
        store, reader = Store(), Reader()
        assert reader.read(data.db_path, OPENCODE) is None
        assert any("locked" in n and str(data.db_path) in n for n in notices.current())
        state = reader.files[str(data.db_path)]
        assert state.size > state.offset  # looks unfinished: the next tick reads it again
        writer.execute("COMMIT")
        store.add_batch(reader.read(data.db_path, OPENCODE), "opencode")
        assert _summary(store).api_calls == 3
        assert not [n for n in notices.current() if str(data.db_path) in n]
    finally:
        data.close()


def test_a_database_without_its_tables_yet_is_retried(tmp_path):
    root = tmp_path / "opencode"
    root.mkdir()
    conn = sqlite3.connect(root / "opencode.db")
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE __drizzle_migrations (id integer)")
    conn.commit()
    reader = Reader()
    assert reader.read(root / "opencode.db", OPENCODE) is None
    assert any("migrating" in n for n in notices.current())
    conn.close()
    data = OpenCodeData(root)
    _session(data)
    store = Store()
    store.add_batch(reader.read(root / "opencode.db", OPENCODE), "opencode")
    assert _summary(store).api_calls == 3
    data.close()


def test_reading_a_closed_database_writes_nothing_into_its_folder(data):
    _session(data)
    data.close()  # OpenCode exits: the WAL is checkpointed and removed
    assert sorted(os.listdir(data.root)) == ["opencode.db"]
    assert _summary(load([data.db_path])).api_calls == 3
    assert sorted(os.listdir(data.root)) == ["opencode.db"]


def test_the_read_only_connection_cannot_write(data):
    _session(data)
    conn = db_mod.connect(str(data.db_path))
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM message")
    conn.close()


def test_many_reads_while_opencode_writes(data):
    """A writer committing calls while tokdash reads in a loop: every read is a consistent
    snapshot, and the reads add up to the writer's total."""
    _session(data)
    path = data.db_path
    writer = OpenCodeData(data.root, clock=data.clock)
    store, reader = Store(), Reader()
    done = threading.Event()

    def write():
        for _ in range(40):
            writer.assistant(ROOT, input=3, output=5, read=7, write=0)
        done.set()

    t = threading.Thread(target=write)
    t.start()
    while not done.is_set():
        batch = reader.read(path, OPENCODE)
        if batch is not None:
            store.add_batch(batch, "opencode")
    t.join()
    writer.close()
    batch = reader.read(path, OPENCODE)
    if batch is not None:
        store.add_batch(batch, "opencode")
    assert _summary(store).api_calls == 3 + 40
    assert _summary(store).usage.total == data.expected[ROOT].total + 40 * 15


def test_a_row_committed_late_with_an_older_stamp_is_not_missed(data):
    """Two OpenCode processes: one stamps a message, the other stamps and commits a later
    one first; the earlier stamp committed after tokdash read the later one still counts."""
    _session(data)
    store, reader = Store(), Reader()
    late = OpenCodeData(data.root, clock=data.clock)  # stamps now, commits after the next read
    data.clock += 30
    data.assistant(ROOT, finish="stop")
    load([data.db_path], store=store, reader=reader)
    assert _summary(store).api_calls == 4
    late.assistant(ROOT, input=1, output=2, read=3, write=0)
    late.close()
    store.add_batch(reader.read(data.db_path, OPENCODE), "opencode")
    assert _summary(store).api_calls == 5
    assert _summary(store).usage.total == data.expected[ROOT].total + 6
    assert reader.read(data.db_path, OPENCODE) is None


# --- discovery, the watcher, the index ------------------------------------------------------------


def test_discovery_lists_databases_and_legacy_sessions_only(data):
    _session(data)
    data.export_storage()
    for junk in ("snapshot/prj_1/objects/ab/cdef", "log/2026-03-02.log", "opencode.db-shm.bak", "auth.json"):
        p = data.root / junk
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    (data.root / "opencode-beta.db").write_bytes((data.root / "opencode.db").read_bytes())
    tops = OPENCODE.scan_roots([data.root])
    assert tops == [data.root, data.root / "storage"]
    assert [OPENCODE.watch_recursively(t) for t in tops] == [False, True]
    listed = {p for top in tops for p in OPENCODE.files(top)}
    assert {p.name for p in listed} == {"opencode.db", "opencode-beta.db", f"{ROOT}.json"}
    on_disk = {Path(d) / n for d, _dirs, names in os.walk(data.root) for n in names}
    assert {p for p in on_disk if OPENCODE.claims(p)} == listed


def test_the_watcher_maps_the_wal_and_legacy_files_to_what_to_read(data):
    _session(data)
    storage = data.export_storage()
    wal = Path(str(data.db_path) + "-wal")
    assert wal.exists()
    w = Watcher(resolve_roots(["opencode"], {"opencode": [str(data.root)]}))
    w.watch_dirs()
    session_file = storage / "session" / "prj_1" / f"{ROOT}.json"
    msg = next((storage / "message" / ROOT).iterdir())
    part = next(p for d in (storage / "part").iterdir() for p in d.iterdir())
    got = w.classify([str(wal), str(data.db_path) + "-shm", str(msg), str(part), str(data.root / "log" / "x.log")])
    assert sorted(got) == sorted([("opencode", data.db_path), ("opencode", session_file)])


def test_the_index_follows_the_live_database(tmp_path, data):
    _session(data)
    roots = resolve_roots(["opencode"], {"opencode": [str(data.root)]})
    store_dir = tmp_path / "index"

    def run():
        index = Index.for_roots(roots, store_dir)
        try:
            return index.sync(discover(roots))
        finally:
            index.close()

    assert [s.api_calls for s in run().summaries] == [3]
    data.assistant(ROOT, finish="stop")  # lands in the WAL: the database file need not change
    assert [s.api_calls for s in run().summaries] == [4]
    data.close()  # checkpointed: the file changes once more, then stays
    assert [s.api_calls for s in run().summaries] == [4]
    assert run().files_read == 0
    memory = Loader(roots)
    memory.load_all()
    assert _summary(memory.store).to_json() == run().summaries[0].to_json()


async def test_the_live_watcher_sees_opencode_write_its_wal(data):
    """The data folder is watched without its subfolders (``snapshot/`` can be huge) and
    ``storage/`` with them, by two watches merged into one stream; a commit that only
    touches the WAL yields the database."""
    import asyncio

    _session(data)
    data.export_storage()
    (data.root / "snapshot" / "prj_1").mkdir(parents=True)
    w = Watcher(resolve_roots(["opencode"], {"opencode": [str(data.root)]}))
    stop = asyncio.Event()
    seen: list = []

    async def watch():
        async for batch in w.changes(stop):
            seen.extend(batch)
            if ("opencode", data.db_path) in seen:
                stop.set()

    task = asyncio.ensure_future(watch())
    await asyncio.sleep(0.3)  # the watches are set up
    (data.root / "snapshot" / "prj_1" / "objects").write_text("x")  # not a transcript, never yielded
    data.assistant(ROOT, finish="stop")
    await asyncio.wait_for(task, timeout=10)
    assert ("opencode", data.db_path) in seen
    assert all(p.name in ("opencode.db",) or "storage" in p.parts for _a, p in seen)


def test_fifos_named_like_transcripts_never_block_a_read(data, tmp_path):
    _session(data)
    storage = data.export_storage()
    os.mkfifo(storage / "message" / ROOT / "msg_fifo.json")
    os.mkfifo(storage / "part" / next(iter(os.listdir(storage / "part"))) / "prt_fifo.json")
    s = _summary(load([storage / "session" / "prj_1" / f"{ROOT}.json"]))
    assert s.api_calls == 3
    fifo_db = tmp_path / "other" / "opencode.db"
    fifo_db.parent.mkdir()
    os.mkfifo(fifo_db)
    assert Reader().read(fifo_db, OPENCODE) is None
