"""OpenCode's live SQLite database (``opencode.db``, channel builds ``opencode-<channel>.db``).

Checked against OpenCode's ``storage/db.ts`` (WAL, ``busy_timeout = 5000`` on its side,
``Path``: ``opencode.db`` for the latest/beta channels, ``opencode-<channel>.db``
otherwise) and ``session/session.sql.ts`` (tables ``session``, ``message``, ``part``; JSON
``data`` columns; epoch-millisecond ``time_created``/``time_updated``).

Read so that OpenCode never notices:

- read-only (``mode=ro``), a short busy timeout, one short transaction per read (one
  consistent snapshot), the connection closed at once. A WAL database whose ``-wal`` file is
  gone (OpenCode not running, fully checkpointed) is opened ``immutable``: a read-only
  connection would otherwise create ``-wal``/``-shm`` files in OpenCode's folder.
- incremental: only messages whose ``time_updated`` is at or after the last one seen (and
  their parts), plus the few user messages still waiting for their text part.
- a locked or half-migrated database (``database is locked``, ``no such table``) is not
  read this time: a notice says so, nothing is withdrawn, and the file reads as changed so
  that the next tick (or the next sync) tries again.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from urllib.parse import quote

from tokdash.model.records import Batch, ToolUse
from tokdash.paths import read_regular
from tokdash.sources import notices
from tokdash.sources.base import load_json
from tokdash.sources.opencode.records import PROMPT_TRIES, Builder, Tree, ms, tool_of

BUSY_TIMEOUT = 0.25
"""Seconds a read waits for a lock before giving up until the next tick."""
LOOKBACK_MS = 120_000
"""Rows are asked for from this long before the newest ``time_updated`` seen: a row is
stamped before its transaction commits, so a row committed later (by another OpenCode
process) can carry an older stamp. Rows seen already, with that same stamp, are skipped."""
_IDS_PER_QUERY = 500
_WAL_HEADER = 2
"""Byte 18 of a SQLite header: 2 when the database is in WAL mode."""


def connect(path: str) -> sqlite3.Connection:
    """A read-only connection that cannot block OpenCode's writer for long, nor write
    into its folder."""
    uri = "file:" + quote(path, safe="/")
    if not os.path.exists(path + "-wal") and _wal_mode(path):
        uri += "?immutable=1"  # nobody writes it now; mode=ro would create -wal and -shm files
    else:
        uri += "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    return conn


def _wal_mode(path: str) -> bool:
    try:
        head = read_regular(path, 20) or b""
    except OSError:
        return False
    return len(head) == 20 and head.startswith(b"SQLite format 3\x00") and head[18] == _WAL_HEADER


def _chunks(ids: list[str]):
    for i in range(0, len(ids), _IDS_PER_QUERY):
        part = ids[i:i + _IDS_PER_QUERY]
        yield part, ",".join("?" * len(part))


def _parts(conn: sqlite3.Connection, ids: list[str], kind: str) -> dict[str, list[dict]]:
    """The parts of type ``kind`` of the messages ``ids`` (message id -> parts, in order).

    The LIKE keeps large parts of other types (tool outputs, long texts) out of the query
    before they are decoded; the type is checked again on the decoded part.
    """
    out: dict[str, list[dict]] = {}
    like = f'%"type":"{kind}"%'
    for part, marks in _chunks(ids):
        rows = conn.execute(
            f"SELECT message_id, data FROM part WHERE message_id IN ({marks}) AND data LIKE ? ORDER BY message_id, id",
            (*part, like))
        for mid, data in rows:
            obj = load_json(data)
            if isinstance(obj, dict) and obj.get("type") == kind:
                out.setdefault(mid, []).append(obj)
    return out


def _fresh(rows: list, cur: dict, table: str) -> list:
    """The rows not seen before with the same ``time_updated`` (the last column for sessions,
    the fourth for messages), and the cursor moved past them: ``cur[table]`` is the newest
    stamp seen, ``cur[table + "_seen"]`` the stamps of the rows within the look-back."""
    at = -1 if table == "s" else 3
    seen: dict = cur.setdefault(table + "_seen", {})
    out = [r for r in rows if seen.get(r[0]) != r[at]]
    newest = max([cur.get(table, -1), *(r[at] for r in rows if type(r[at]) is int)])
    cur[table] = newest
    for r in rows:
        if type(r[at]) is int:
            seen[r[0]] = r[at]
    floor = newest - LOOKBACK_MS
    for key in [k for k, v in seen.items() if type(v) is not int or v < floor]:
        del seen[key]
    return out


_SESSION_COLUMNS = "id, parent_id, title, directory, version, time_updated"
_SPAN = (
    "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT s.id FROM session s JOIN tree t ON s.parent_id = t.id) "
    "SELECT min(time_created), max(time_updated) FROM message WHERE session_id IN (SELECT id FROM tree)"
)
"""First and last activity of a root session and every session under it."""
_MAX_DEPTH = 32


def _query(path: str, cur: dict) -> tuple:
    """Everything one read needs, in one snapshot: (changed session rows, every session row
    needed to find roots, changed message rows with their data decoded, tool parts, text
    parts, the span of every touched root, the cursor's new stamps). ``cur`` itself is left
    alone: the caller moves it once everything was read."""
    cur = {**cur, "s_seen": dict(cur.get("s_seen", {})), "m_seen": dict(cur.get("m_seen", {}))}
    conn = connect(path)
    try:
        conn.execute("BEGIN")
        changed = _fresh(conn.execute(f"SELECT {_SESSION_COLUMNS} FROM session WHERE time_updated >= ?",
                                      (cur.get("s", -1) - LOOKBACK_MS,)).fetchall(), cur, "s")
        rows = _fresh(conn.execute(
            "SELECT id, session_id, time_created, time_updated, data FROM message WHERE time_updated >= ? "
            "ORDER BY time_updated, id", (cur.get("m", -1) - LOOKBACK_MS,)).fetchall(), cur, "m")
        have = {r[0] for r in rows}
        waiting = [mid for mid in cur.get("pending", {}) if mid not in have]
        for part, marks in _chunks(waiting):
            rows += conn.execute(f"SELECT id, session_id, time_created, time_updated, data FROM message "
                                 f"WHERE id IN ({marks})", part).fetchall()
        messages = [(mid, sid, created, updated, load_json(data)) for mid, sid, created, updated, data in rows]
        # The sessions of these messages and their parents, up to each root.
        sessions = {r[0]: r for r in changed}
        need = {sid for _m, sid, *_ in messages if isinstance(sid, str)} - set(sessions)
        for _ in range(_MAX_DEPTH):
            if not need:
                break
            for part, marks in _chunks(sorted(need)):
                for r in conn.execute(f"SELECT {_SESSION_COLUMNS} FROM session WHERE id IN ({marks})", part):
                    sessions[r[0]] = r
            need = {r[1] for r in sessions.values() if isinstance(r[1], str)} - set(sessions) - need
        roles: dict[str, list[str]] = {"assistant": [], "user": []}
        for mid, _sid, _c, _u, data in messages:
            if isinstance(data, dict) and data.get("role") in roles:
                roles[data["role"]].append(mid)
        tools = _parts(conn, roles["assistant"], "tool")
        texts = _parts(conn, roles["user"], "text")
        tree = Tree({})
        for sid, parent, title, directory, version, _updated in sessions.values():
            tree.add(sid, parent, title, directory, version)
        roots = {tree.root(sid) for _m, sid, *_ in messages if isinstance(sid, str)}
        roots |= {tree.root(r[0]) for r in changed}
        spans = {root: conn.execute(_SPAN, (root,)).fetchone() for root in roots}
        conn.execute("COMMIT")
    finally:
        conn.close()
    moved = {k: cur[k] for k in ("s", "m", "s_seen", "m_seen")}
    return tree, messages, tools, texts, spans, moved


def read_db(state) -> Batch | None:
    """What changed in one OpenCode database since the last read (None: nothing, or the
    database could not be read this time: see ``tokdash.sources.notices``)."""
    path = state.path
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # a FIFO or a folder named like a database: SQLite would block or fail
    ctx = state.ctx
    cur = ctx.state
    state.ident, state.mtime = (st.st_dev, st.st_ino), st.st_mtime
    try:
        tree, messages, tools, texts, spans, moved = _query(path, cur)
    except sqlite3.Error as exc:
        # Locked by a writer in rollback-journal mode, half-migrated, or not a database
        # (yet): nothing is known, nothing is withdrawn. A size that no longer matches makes
        # the next tick (and the index's next sync) read it again.
        cur["fails"] = cur.get("fails", 0) + 1
        state.size = state.offset + cur["fails"]
        notices.post(path, f"OpenCode database {path} not read this time ({_reason(exc)}); "
                           "it is read again on the next change")
        return None
    notices.clear(path)
    cur.update(moved)
    cur["fails"] = 0
    try:
        wal = os.path.getsize(path + "-wal")
    except OSError:
        wal = 0
    # OpenCode's writes land in the -wal file and reach the database file only at a
    # checkpoint: while the WAL holds any, the size the index compares never matches, so
    # every sync asks (a cheap query when nothing changed).
    state.offset = st.st_size
    state.size = -1 if wal else st.st_size
    batch = Batch(path=path)
    build = Builder(ctx, tree, batch, native=True, metas={})
    bad: dict = cur.setdefault("bad", {})
    pending = cur.setdefault("pending", {})
    for mid, sid, created, _updated, data in messages:
        if not isinstance(data, dict) or not isinstance(sid, str):
            root = build.bad(sid)
            if root is not None:
                bad[root] = bad.get(root, 0) + 1
            continue
        found: dict[str, ToolUse] = {}
        for part in tools.get(mid, ()):
            tool = tool_of(part)
            if tool is not None:
                found[tool[0]] = tool[1]
        text = None
        if data.get("role") == "user":
            text = next((p["text"] for p in texts.get(mid, ()) if isinstance(p.get("text"), str)
                         and not p.get("synthetic") and not p.get("ignored")), None)
            if text is None:
                tries = pending.get(mid, 0) + 1
                if tries < PROMPT_TRIES:
                    pending[mid] = tries  # its text part may not be written yet
                else:
                    text = ""
            if text is not None:
                pending.pop(mid, None)
        build.message(mid, sid, data, created if type(created) is int else 0, found, text)
    for root, (first, last) in spans.items():
        if first is None:
            continue  # a session without messages yet: nothing to show
        meta = build.meta(root)
        meta.first_ts, meta.last_ts = ms(first), ms(last)
        meta.bad_lines = bad.get(root, 0)
    state.bad_lines += batch.bad_lines
    build.finish()
    return batch if batch.calls or batch.events or batch.metas else None


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "locked" in text or "busy" in text:
        return "locked by OpenCode"
    if "no such table" in text or "no such column" in text:
        return "its tables are not there yet (OpenCode may be migrating it)"
    return text
