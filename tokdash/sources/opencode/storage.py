"""OpenCode's legacy JSON tree (v1.1 and before): ``storage/session/<projectID>/<sessionID>.json``,
``storage/message/<sessionID>/<messageID>.json``, ``storage/part/<messageID>/<partID>.json``.

Checked against OpenCode's ``storage/json-migration.ts``, which moves this tree into the
database at the first start of v1.2 and leaves it in place: a machine may hold both, and
each message counts once, the database's copy first (these copies rank after it).

The unit read is one session: its file, then the message files that changed since the last
read (by modification time), then the parts of those messages.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from tokdash.model.records import Batch, ToolUse
from tokdash.sources.base import clean_str, load_json
from tokdash.sources.opencode.records import PROMPT_TRIES, Builder, Tree, tool_of

LIVE_WINDOW = 24 * 3600.0
"""A session whose files changed this recently may still be written by an old OpenCode:
its message files can change without its session file changing, so every sync looks."""
_MAX_DEPTH = 32


def read_json(path: str | Path):
    """A JSON file's content (None: missing, unreadable, no regular file, or not JSON).
    Opened without blocking, then checked: a FIFO named like a message must not hang a read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            return load_json(f.read())
    except OSError:
        return None
    finally:
        os.close(fd)


def storage_of(session_file: Path) -> Path:
    """``storage/`` of ``storage/session/<projectID>/<sessionID>.json``."""
    return session_file.parents[2]


def session_file(storage: Path, session_id: str) -> Path | None:
    """The session file of ``session_id`` (whichever project folder holds it)."""
    top = storage / "session"
    try:
        projects = list(os.scandir(top))
    except OSError:
        return None
    for p in projects:
        candidate = Path(p.path) / f"{session_id}.json"
        if candidate.is_file():
            return candidate
    return None


def _add_session(tree: Tree, doc, fallback: str) -> str:
    sid = doc.get("id") if isinstance(doc.get("id"), str) and doc["id"] else fallback
    tree.add(sid, doc.get("parentID"), doc.get("title"), doc.get("directory"), doc.get("version"))
    return sid


def _ancestors(tree: Tree, storage: Path, sid: str) -> None:
    """Make the chain of parents of ``sid`` known (their session files), once."""
    cur = sid
    for _ in range(_MAX_DEPTH):
        row = tree.known.get(cur)
        parent = row[0] if row else None
        if parent is None or parent in tree.known:
            return
        found = session_file(storage, parent)
        doc = read_json(found) if found is not None else None
        if not isinstance(doc, dict):
            tree.add(parent, None, None, None, None)  # gone: the chain stops there
            return
        _add_session(tree, doc, parent)
        cur = parent


def _parts(storage: Path, mid: str, kind: str) -> list[dict]:
    folder = storage / "part" / mid
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".json"))
    except OSError:
        return []
    out = []
    for name in names:
        part = read_json(folder / name)
        if isinstance(part, dict) and part.get("type") == kind:
            out.append(part)
    return out


def read_session(state) -> Batch | None:
    """The messages of one legacy session that changed since the last read."""
    path = Path(state.path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    ctx = state.ctx
    cur = ctx.state
    storage = storage_of(path)
    tree = Tree(cur.setdefault("sessions", {}))
    batch = Batch(path=state.path)
    build = Builder(ctx, tree, batch, native=False, metas=cur.setdefault("metas", {}))
    doc = read_json(path)
    if not isinstance(doc, dict):
        build.bad(None)
        sid = clean_str(path.stem)
    else:
        sid = _add_session(tree, doc, clean_str(path.stem))
        _ancestors(tree, storage, sid)
    seen: dict = cur.setdefault("seen", {})
    pending: dict = cur.setdefault("pending", {})
    folder = storage / "message" / sid
    try:
        entries = sorted((e for e in os.scandir(folder) if e.name.endswith(".json")), key=lambda e: e.name)
    except OSError:
        entries = []
    newest = st.st_mtime
    for e in entries:
        try:
            stamp = e.stat().st_mtime_ns
        except OSError:
            continue
        newest = max(newest, stamp / 1e9)
        if seen.get(e.name) == stamp:
            continue
        data = read_json(e.path)
        if not isinstance(data, dict):
            build.bad(sid)
            seen[e.name] = stamp
            continue
        mid = data.get("id") if isinstance(data.get("id"), str) and data["id"] else clean_str(e.name[:-5])
        tools: dict[str, ToolUse] = {}
        text = None
        if data.get("role") == "assistant":
            for part in _parts(storage, mid, "tool"):
                tool = tool_of(part)
                if tool is not None:
                    tools[tool[0]] = tool[1]
        elif data.get("role") == "user":
            text = next((p["text"] for p in _parts(storage, mid, "text") if isinstance(p.get("text"), str)
                         and not p.get("synthetic") and not p.get("ignored")), None)
            tries = pending.get(mid, 0) + 1
            if text is None and tries < PROMPT_TRIES:
                pending[mid] = tries
                stamp = None  # look at it again next time: its text part may follow
            else:
                text = text or ""
                pending.pop(mid, None)
        time_doc = data.get("time") if isinstance(data.get("time"), dict) else {}
        created = time_doc.get("created")
        build.message(mid, sid, data, created if type(created) is int else 0, tools, text)
        if stamp is not None:
            seen[e.name] = stamp
    state.ident, state.mtime, state.offset = (st.st_dev, st.st_ino), st.st_mtime, st.st_size
    state.size = -1 if time.time() - newest < LIVE_WINDOW else st.st_size
    state.bad_lines += batch.bad_lines
    build.finish()
    return batch if batch.calls or batch.events or batch.metas else None
