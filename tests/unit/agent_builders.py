"""Fixture builders for Gemini CLI, OpenCode and Qwen Code, written in code in each CLI's
real format (see ``shared/docs/transcript-formats.md`` §3 and the sources' docstrings for
what was checked against each CLI's own code). Nothing here is copied from a corpus.

Like ``builders.py``, every builder keeps its own ground truth in ``expected``: the
session's true token totals by the counting rules, recorded when a call is *made*.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tests.unit.builders import T0, epoch, prices, stamp
from tokdash.ingest.reader import Reader
from tokdash.model.records import Usage
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.sources import SOURCES

GEMINI_MODEL = "gemini-2.5-pro"
QWEN_MODEL = "qwen3-coder-plus"
OPENCODE_MODEL = "claude-sonnet-4-5"

_n = itertools.count(1)


def gemini_id(n: int) -> str:
    return f"{n:08x}-1e4e-44f6-8bf5-{n:012x}"


def msg_uuid() -> str:
    n = next(_n)
    return f"{n:08x}-9dc1-4590-8ff5-{n:012x}"


def agent_of(path: Path) -> str:
    """The source that claims ``path``."""
    for name, source in SOURCES.items():
        if source.claims(Path(path)):
            return name
    raise ValueError(path)


def load(paths, *, store: Store | None = None, reader: Reader | None = None, finalize: bool = True) -> Store:
    """Read files (any agent) in order into one store, as the loader merges them."""
    store = store if store is not None else Store()
    reader = reader if reader is not None else Reader()
    for p in paths:
        agent = agent_of(Path(p))
        batch = reader.read(p, SOURCES[agent], finalize=finalize)
        if batch is not None:
            store.add_batch(batch, agent)
    return store


def summaries(store: Store) -> dict:
    return {s.session_id: summarize(s, prices()) for s in store.sessions.values()}


# --- Gemini CLI ------------------------------------------------------------------------------


def gemini_tokens(input: int, output: int, cached: int = 0, thoughts: int = 0, tool: int = 0) -> dict:
    """``TokensSummary`` as gemini-cli's ``recordMessageTokens`` writes it (cached inside input)."""
    return {"input": input, "output": output, "cached": cached, "thoughts": thoughts, "tool": tool,
            "total": input + output + thoughts + tool}


def gemini_usage(input: int, output: int, cached: int = 0, thoughts: int = 0, tool: int = 0) -> Usage:
    """What the counting rules make of those tokens."""
    return Usage(input=input - cached + tool, output=output + thoughts, cache_read=cached, reasoning=thoughts)


@dataclass
class GeminiChat:
    """One Gemini CLI chat: records appended as gemini-cli's ChatRecordingService appends them.

    ``respond`` writes a model message the way gemini-cli does: the text first, the same
    message again with its tokens, and again with its tool calls (three copies, one id).
    ``expected`` holds the usage of every message still in the chat (a rewind takes it out).
    """

    session_id: str
    project_hash: str = "ab14fe397f91d5f283525b3178d2314aef552f761131c42172a21b7bf735e73d"
    kind: str | None = None
    clock: float = 0.0
    records: list[dict] = field(default_factory=list)
    usages: dict[str, Usage] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def tick(self, s: float = 3.0) -> str:
        self.clock += s
        return stamp(self.clock)

    @property
    def expected(self) -> Usage:
        total = Usage()
        for mid in self.order:
            if mid in self.usages:
                total.add(self.usages[mid])
        return total

    def meta(self) -> dict:
        rec = {"sessionId": self.session_id, "projectHash": self.project_hash, "startTime": stamp(self.clock),
               "lastUpdated": stamp(self.clock)}
        if self.kind:
            rec["kind"] = self.kind
        self.records.append(rec)
        return rec

    def _message(self, rec: dict) -> dict:
        self.records.append(json.loads(json.dumps(rec)))
        if rec["id"] not in self.order:
            self.order.append(rec["id"])
        return rec

    def set(self, **fields) -> dict:
        rec = {"$set": fields}
        self.records.append(rec)
        return rec

    def user(self, text: str) -> dict:
        rec = self._message({"id": msg_uuid(), "timestamp": self.tick(), "type": "user",
                             "content": [{"text": text}]})
        self.set(lastUpdated=stamp(self.clock))
        return rec

    def respond(self, *, input: int = 8000, output: int = 120, cached: int = 0, thoughts: int = 0, tool: int = 0,
                tools: list[tuple[str, dict]] | None = None, model: str = GEMINI_MODEL, text: str = "Done.",
                tokens: bool = True) -> dict:
        """One model response: text, then tokens, then tool calls, each a new copy."""
        rec = {"id": msg_uuid(), "timestamp": self.tick(), "type": "gemini", "content": text, "thoughts": [],
               "tokens": None, "model": model}
        self._message(rec)
        if tokens:
            rec["tokens"] = gemini_tokens(input, output, cached, thoughts, tool)
            self._message(rec)
            self.usages[rec["id"]] = gemini_usage(input, output, cached, thoughts, tool)
        if tools:
            rec["toolCalls"] = [{"id": f"{name}-{msg_uuid()[:8]}", "name": name, "args": args, "status": "success",
                                 "timestamp": stamp(self.clock)} for name, args in tools]
            self._message(rec)
        self.set(lastUpdated=stamp(self.clock))
        return rec

    def again(self, rec: dict, **changes) -> dict:
        """Append another copy of an earlier message (``changes`` applied): the last copy wins."""
        copy = {**json.loads(json.dumps(rec)), **changes}
        self.records.append(copy)
        if isinstance(copy.get("tokens"), dict):
            t = copy["tokens"]
            self.usages[copy["id"]] = gemini_usage(t["input"], t["output"], t["cached"], t["thoughts"], t["tool"])
        return copy

    def rewind(self, to: dict) -> dict:
        """``/rewind``: that message and every later one leave the chat."""
        i = self.order.index(to["id"])
        for mid in self.order[i:]:
            self.usages.pop(mid, None)
        del self.order[i:]
        rec = {"$rewindTo": to["id"]}
        self.records.append(rec)
        return rec

    def jsonl(self) -> bytes:
        return b"".join(orjson.dumps(r) + b"\n" for r in self.records)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.jsonl())
        return path

    def document(self) -> dict:
        """The legacy single document the chat was before v0.39 (the last copy of each message)."""
        meta: dict = {}
        msgs: dict[str, dict] = {}
        for r in self.records:
            if "id" in r:
                msgs[r["id"]] = r
            elif "$set" in r:
                meta.update(r["$set"])
            elif "$rewindTo" in r:
                ids = list(msgs)
                for mid in ids[ids.index(r["$rewindTo"]):]:
                    del msgs[mid]
            else:
                meta.update(r)
        return {**meta, "messages": list(msgs.values())}

    def write_document(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=2, ensure_ascii=False))
        return path


def gemini_chat_path(home: Path, project: str, session_id: str, *, legacy: bool = False, start: float = 0.0) -> Path:
    """``<home>/tmp/<project>/chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`` (or ``.json``)."""
    t = T0.timestamp() + start
    from datetime import UTC, datetime
    d = datetime.fromtimestamp(t, UTC)
    name = f"session-{d:%Y-%m-%dT%H-%M}-{session_id[:8]}.{'json' if legacy else 'jsonl'}"
    return home / "tmp" / project / "chats" / name


# --- Qwen Code -------------------------------------------------------------------------------


@dataclass
class QwenChat:
    """One Qwen Code session file: append-only ``ChatRecord`` lines."""

    session_id: str
    cwd: str = "/home/dev/acme-api"
    version: str = "0.6.0"
    clock: float = 0.0
    records: list[dict] = field(default_factory=list)
    expected: Usage = field(default_factory=Usage)
    calls: int = 0
    _parent: str | None = None
    compact: bool = True

    def tick(self, s: float = 3.0) -> str:
        self.clock += s
        return stamp(self.clock)

    def _base(self, typ: str, **extra) -> dict:
        uuid = msg_uuid()
        rec = {"uuid": uuid, "parentUuid": self._parent, "sessionId": self.session_id, "timestamp": self.tick(),
               "type": typ, "cwd": self.cwd, "version": self.version, "gitBranch": "main", **extra}
        self._parent = uuid
        self.records.append(rec)
        return rec

    def user(self, text: str, **extra) -> dict:
        return self._base("user", message={"role": "user", "parts": [{"text": text}]}, **extra)

    def assistant(self, *, prompt: int = 9000, output: int = 150, cached: int = 0, thoughts: int = 0,
                  tools: list[tuple[str, dict]] | None = None, model: str = QWEN_MODEL, legacy: bool = False,
                  count: bool = True, **extra) -> dict:
        parts: list[dict] = [{"text": "Working on it."}]
        for name, args in tools or ():
            parts.append({"functionCall": {"id": f"call_{msg_uuid()[:8]}", "name": name, "args": args}})
        if legacy:
            usage = {"input": prompt, "output": output, "cached": cached, "thoughts": thoughts, "tool": 0,
                     "total": prompt + output + thoughts}
        else:
            usage = {"promptTokenCount": prompt, "candidatesTokenCount": output, "cachedContentTokenCount": cached,
                     "thoughtsTokenCount": thoughts, "totalTokenCount": prompt + output + thoughts}
        rec = self._base("assistant", model=model, message={"role": "model", "parts": parts}, usageMetadata=usage,
                         **extra)
        if count:
            self.expected.add(Usage(input=prompt - cached, output=output + thoughts, cache_read=cached,
                                    reasoning=thoughts))
            self.calls += 1
        return rec

    def tool_result(self, text: str = "ok") -> dict:
        return self._base("tool_result", message={"role": "user", "parts": [
            {"functionResponse": {"name": "read_file", "response": {"output": text}}}]})

    def system(self, subtype: str, payload: dict) -> dict:
        return self._base("system", subtype=subtype, systemPayload=payload)

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.compact:
            data = b"".join(orjson.dumps(r) + b"\n" for r in self.records)
        else:
            data = "".join(json.dumps(r) + "\n" for r in self.records).encode()
        path.write_bytes(data)
        return path


def qwen_chat_path(home: Path, project: str, session_id: str) -> Path:
    return home / "projects" / project / "chats" / f"{session_id}.jsonl"


# --- OpenCode --------------------------------------------------------------------------------

OPENCODE_SCHEMA = """
CREATE TABLE project (id text PRIMARY KEY, worktree text NOT NULL, vcs text, name text,
    time_created integer NOT NULL, time_updated integer NOT NULL);
CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    workspace_id text, parent_id text, slug text NOT NULL, directory text NOT NULL, path text, title text NOT NULL,
    version text NOT NULL, share_url text, cost real NOT NULL DEFAULT 0, tokens_input integer NOT NULL DEFAULT 0,
    tokens_output integer NOT NULL DEFAULT 0, time_created integer NOT NULL, time_updated integer NOT NULL,
    time_compacting integer, time_archived integer);
CREATE INDEX session_parent_idx ON session (parent_id);
CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL REFERENCES session(id) ON DELETE CASCADE,
    time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE part (id text PRIMARY KEY, message_id text NOT NULL REFERENCES message(id) ON DELETE CASCADE,
    session_id text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX part_message_id_id_idx ON part (message_id, id);
"""
"""The v1.2 tables tokdash reads, as ``session/session.sql.ts`` declares them (trimmed of
columns tokdash does not read)."""


def opencode_tokens(input: int = 0, output: int = 0, reasoning: int = 0, read: int = 0, write: int = 0) -> dict:
    return {"total": input + output + reasoning + read + write, "input": input, "output": output,
            "reasoning": reasoning, "cache": {"read": read, "write": write}}


def _ms(seconds: float) -> int:
    return int(epoch(seconds) * 1000)


@dataclass
class OpenCodeData:
    """An OpenCode data folder: ``opencode.db`` (WAL, as OpenCode opens it) and, on request,
    the legacy ``storage/`` tree. ``expected`` maps a root session to its true usage."""

    root: Path
    clock: float = 0.0
    expected: dict[str, Usage] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    conn: sqlite3.Connection | None = None
    journal: str = "wal"
    parents: dict[str, str | None] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.root / "opencode.db"

    def open(self) -> sqlite3.Connection:
        if self.conn is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
            self.conn.execute(f"PRAGMA journal_mode = {self.journal}")
            if not self.conn.execute("SELECT name FROM sqlite_master WHERE name = 'message'").fetchone():
                self.conn.executescript(OPENCODE_SCHEMA)
                self.conn.execute("INSERT INTO project VALUES ('prj_1', '/home/dev/acme-api', 'git', NULL, ?, ?)",
                                  (_ms(0), _ms(0)))
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def tick(self, s: float = 3.0) -> int:
        self.clock += s
        return _ms(self.clock)

    def root_of(self, sid: str) -> str:
        while self.parents.get(sid):
            sid = self.parents[sid]  # type: ignore[assignment]
        return sid

    def session(self, sid: str, *, parent: str | None = None, title: str = "Add rate limiting",
                directory: str = "/home/dev/acme-api") -> str:
        now = self.tick(0.1)
        self.parents[sid] = parent
        self.open().execute(
            "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, "
            "time_updated) VALUES (?, 'prj_1', ?, 'brave-otter', ?, ?, '1.2.10', ?, ?)",
            (sid, parent, directory, title, now, now))
        return sid

    def _insert_message(self, mid: str, sid: str, data: dict, created: int) -> None:
        self.open().execute("INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)",
                            (mid, sid, created, self.tick(0.01), json.dumps(data, separators=(",", ":"))))

    def part(self, mid: str, sid: str, data: dict) -> str:
        pid = f"prt_{next(_n):020d}"
        now = self.tick(0.01)
        self.open().execute("INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                            (pid, mid, sid, now, now, json.dumps(data, separators=(",", ":"))))
        return pid

    def user(self, sid: str, text: str | None, *, with_part: bool = True) -> str:
        mid = f"msg_{next(_n):020d}"
        created = self.tick()
        self._insert_message(mid, sid, {"role": "user", "time": {"created": created}, "agent": "build",
                                        "model": {"providerID": "anthropic", "modelID": OPENCODE_MODEL}}, created)
        if with_part and text is not None:
            self.part(mid, sid, {"type": "text", "text": text})
        return mid

    def assistant(self, sid: str, *, input: int = 40, output: int = 300, reasoning: int = 0, read: int = 12000,
                  write: int = 800, finish: str | None = "tool-calls", tools: list[tuple[str, dict]] = (),
                  model: str = OPENCODE_MODEL, completed: bool = True, tokens: dict | None | bool = True,
                  step_finish: bool = True, cost: float = 0.0, count: bool = True, mid: str | None = None) -> str:
        """One assistant message (one API call) with its parts: step-start, tools, step-finish
        (which repeats the message's tokens and must not be added)."""
        mid = mid or f"msg_{next(_n):020d}"
        created = self.tick()
        tok = opencode_tokens(input, output, reasoning, read, write) if tokens is True else tokens
        data = {"role": "assistant", "time": {"created": created}, "parentID": "msg_parent", "modelID": model,
                "providerID": "anthropic", "mode": "build", "agent": "build",
                "path": {"cwd": "/home/dev/acme-api", "root": "/home/dev/acme-api"}, "cost": cost,
                "tokens": tok if tok is not None else None}
        if completed:
            data["time"]["completed"] = created + 2500
        if finish is not None:
            data["finish"] = finish
        self.part(mid, sid, {"type": "step-start"})
        for name, args in tools:
            self.part(mid, sid, {"type": "tool", "callID": f"toolu_{next(_n):08d}", "tool": name,
                                 "state": {"status": "completed", "input": args, "output": "ok", "title": name,
                                           "metadata": {}, "time": {"start": created, "end": created + 100}}})
        if step_finish and isinstance(tok, dict):
            self.part(mid, sid, {"type": "step-finish", "reason": finish or "stop", "cost": cost, "tokens": tok})
        self._insert_message(mid, sid, data, created)
        if count and isinstance(tok, dict):
            root = self.root_of(sid)
            self.expected.setdefault(root, Usage()).add(
                Usage(input=input, output=output + reasoning, cache_write_5m=write, cache_read=read,
                      reasoning=reasoning))
            self.calls[root] = self.calls.get(root, 0) + 1
        return mid

    def update_message(self, mid: str, **changes) -> None:
        """Rewrite a message's data (OpenCode updates a message in place as it completes)."""
        conn = self.open()
        row = conn.execute("SELECT data FROM message WHERE id = ?", (mid,)).fetchone()
        data = {**json.loads(row[0]), **changes}
        conn.execute("UPDATE message SET data = ?, time_updated = ? WHERE id = ?",
                     (json.dumps(data, separators=(",", ":")), self.tick(0.01), mid))

    def export_storage(self) -> Path:
        """Write the legacy ``storage/`` tree of everything in the database (what a v1.1
        OpenCode had written, and what the migration leaves behind)."""
        conn = self.open()
        top = self.root / "storage"
        for sid, parent, title, directory, created, updated in conn.execute(
                "SELECT id, parent_id, title, directory, time_created, time_updated FROM session"):
            doc = {"id": sid, "projectID": "prj_1", "directory": directory, "title": title, "version": "1.1.9",
                   "time": {"created": created, "updated": updated}}
            if parent:
                doc["parentID"] = parent
            _write_json(top / "session" / "prj_1" / f"{sid}.json", doc)
        for mid, sid, data in conn.execute("SELECT id, session_id, data FROM message"):
            _write_json(top / "message" / sid / f"{mid}.json", {"id": mid, "sessionID": sid, **json.loads(data)})
        for pid, mid, sid, data in conn.execute("SELECT id, message_id, session_id, data FROM part"):
            _write_json(top / "part" / mid / f"{pid}.json",
                        {"id": pid, "messageID": mid, "sessionID": sid, **json.loads(data)})
        return top


def _write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2))


# --- hostile strings -------------------------------------------------------------------------


def js_dumps(obj) -> bytes:
    """JSON as JavaScript's ``JSON.stringify`` writes a string cut mid-emoji: a lone
    surrogate comes out as an escape (``"\\ud83d"``), which orjson refuses to decode."""
    return json.dumps(obj, ensure_ascii=True).encode()


def survives(agent: str, home: Path, data: Path) -> list[dict]:
    """Read ``home`` as ``agent``'s folder every way tokdash does and check that nothing
    downstream chokes on what was read: summaries as orjson, the index (SQLite), and
    ``report sessions`` as JSON and as a text table. Returns the JSON sessions."""
    import io
    import os
    import sys

    from tokdash import cli
    from tokdash.ingest.discovery import discover, resolve_roots
    from tokdash.ingest.index import Index

    roots = resolve_roots([agent], {agent: [str(home)]})
    store = load([p for _a, p in discover(roots)])
    out = [orjson.loads(orjson.dumps(summarize(s, prices()).to_json())) for s in store.sessions.values()]
    index = Index.for_roots(roots, data)
    try:
        for s in index.sync(discover(roots)).summaries:
            orjson.dumps(s.to_json())
    finally:
        index.close()
    old_env, old_out = os.environ.get("TOKDASH_DATA_DIR"), sys.stdout
    os.environ["TOKDASH_DATA_DIR"] = str(data)
    try:
        for extra in (["--json"], []):
            sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
            status = cli.main(["report", "sessions", *extra, "--agent", agent, f"--{agent}-dir", str(home)])
            sys.stdout.flush()
            text = sys.stdout.buffer.getvalue()
            assert status == 0, text
            if extra:
                assert len(orjson.loads(text)["sessions"]) == len(out)
    finally:
        sys.stdout = old_out
        if old_env is None:
            os.environ.pop("TOKDASH_DATA_DIR", None)
        else:
            os.environ["TOKDASH_DATA_DIR"] = old_env
    return out
