"""Spend as tokdash last recorded it, read in milliseconds: for the hook, which runs before every tool call.

The guard must not read transcripts. What tokdash already knows is in two places:

- the persistent index (every session as the last sync of any tokdash left it), read
  here read-only with one grouped query over its calls table;
- the status line's per-session states (:mod:`tokdash.ingest.session_state`), brought up
  to date on every render of a Claude Code session: fresher than the index for the
  sessions that have one. Only their headers are read.

For each session the fresher of the two counts (the one that has seen more calls), never
both. The alerts already raised are kept here too (``alerts-<channel>.json``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from tokdash.ingest import datafiles
from tokdash.ingest.discovery import Roots, resolve_roots
from tokdash.ingest.session_state import FOLDER, read_header, state_path
from tokdash.model.alerts import AlertTracker
from tokdash.model.history import Fact
from tokdash.model.records import Usage
from tokdash.model.tally import Tally
from tokdash.paths import data_dir
from tokdash.sources import SOURCES

SessionKey = tuple[str, str]
COLUMNS = frozenset({"agent", "session_id", "ts", "model", "input", "output", "cw5", "cw1h", "cr", "reasoning",
                     "web", "cost"})
"""The columns of the index's ``slots`` table this reader sums (a test checks its sums against
the index's own ``facts``); an index without them is one this reader does not know."""
BUSY_SECONDS = 0.05
"""How long a read waits for a lock before the index counts as locked (the hook fails open)."""


class SpendUnavailable(Exception):
    """What tokdash recorded cannot be read (no index yet, locked, damaged); one-line message."""


def default_roots() -> Roots:
    """Every agent's default roots (what ``tokdash`` with no flag reads), as absolute paths."""
    roots = resolve_roots(list(SOURCES), {})
    roots.by_agent = {a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()}
    return roots


def index_file(roots: Roots, data: Path | None = None) -> Path:
    """The index file of ``roots``: the same name ``tokdash.ingest.index.identity.index_path``
    gives (a test keeps the two equal), without importing the index package (~30 ms)."""
    lines = sorted(f"{agent}\t{os.path.abspath(p)}" for agent, paths in roots.by_agent.items() for p in paths)
    digest = hashlib.blake2b("\n".join(lines).encode(), digest_size=6).hexdigest()
    return (data if data is not None else data_dir()) / f"index-{digest}.db"


def _connect(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise SpendUnavailable(f"no index yet at {path} (run tokdash or a report once)")
    uri = "file:" + urllib.parse.quote(str(path)) + "?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
        conn.execute("PRAGMA query_only = 1")
        columns = {r[1] for r in conn.execute("PRAGMA table_info(slots)")}
    except sqlite3.Error as exc:
        raise SpendUnavailable(f"cannot read the index {path}: {_reason(exc)}") from None
    if not COLUMNS <= columns:
        conn.close()
        raise SpendUnavailable(f"the index {path} is empty or from another version of tokdash")
    return conn


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Recorded:
    """The index (read-only) and the status line's states: facts, sessions, projects."""

    def __init__(self, index: Path, data: Path | None = None) -> None:
        self.data = data
        self.conn = _connect(index)
        self.projects: dict[SessionKey, str] = {}
        """Projects of the sessions whose state was read (from their headers)."""

    def close(self) -> None:
        """Let go of the index."""
        self.conn.close()

    def facts(self, since: float) -> list[Fact]:
        """Usage per quarter hour, session and model from ``since`` on, each session counted once
        from the fresher of the index and its status-line state."""
        try:
            rows = self.conn.execute(
                "SELECT CAST(ts / 900 AS INTEGER) * 900, agent, session_id, model, COUNT(*), SUM(input), "
                "SUM(output), SUM(cw5), SUM(cw1h), SUM(cr), SUM(reasoning), SUM(web), SUM(IFNULL(cost, 0)), "
                "SUM(cost IS NULL) FROM slots WHERE ts > 0 AND ts >= ? GROUP BY 1, 2, 3, 4", (since,)).fetchall()
        except sqlite3.Error as exc:
            raise SpendUnavailable(f"cannot read the index: {_reason(exc)}") from None
        out = [Fact(float(b), a, s, m, Usage(i, o, w5, w1, cr, rs, web), n, cost, un)
               for b, a, s, m, n, i, o, w5, w1, cr, rs, web, cost, un in rows]
        states = self._fresher_states(since)
        if states:
            out = [f for f in out if f.session_key not in states]
            for key, tally in states.items():
                out += [f for f in tally.facts(key[0]) if f.ts > 0 and f.ts >= since]
        return out

    def _fresher_states(self, since: float) -> dict[SessionKey, Tally]:
        found: dict[SessionKey, Tally] = {}
        for header in recent_headers(since, self.data):
            key = (header["agent"], header["sid"])
            found[key] = Tally(header["sid"], header["tally"])
            self.projects[key] = header.get("project") or ""
        if not found:
            return found
        counts = self.calls(found)
        return {k: t for k, t in found.items() if t.calls >= counts.get(k, 0)}

    def calls(self, keys: Iterable[SessionKey]) -> dict[SessionKey, int]:
        """How many calls the index holds of each session."""
        out: dict[SessionKey, int] = {}
        try:
            for agent, sid in keys:
                row = self.conn.execute("SELECT COUNT(*) FROM slots WHERE agent = ? AND session_id = ?",
                                        (agent, sid)).fetchone()
                out[(agent, sid)] = row[0]
        except sqlite3.Error as exc:
            raise SpendUnavailable(f"cannot read the index: {_reason(exc)}") from None
        return out

    def session(self, agent: str, sid: str) -> tuple[float, int, bool, int]:
        """(cost, tokens, partial, calls) of one session as the index holds it."""
        try:
            row = self.conn.execute(
                "SELECT SUM(IFNULL(cost, 0)), SUM(input + output + cw5 + cw1h + cr), SUM(cost IS NULL), COUNT(*) "
                "FROM slots WHERE agent = ? AND session_id = ?", (agent, sid)).fetchone()
        except sqlite3.Error as exc:
            raise SpendUnavailable(f"cannot read the index: {_reason(exc)}") from None
        return (row[0] or 0) / 1e12, row[1] or 0, bool(row[2]), row[3]

    def session_projects(self, keys: Iterable[SessionKey]) -> dict[SessionKey, str]:
        """Each session's project (cwd): from its state, else from the index's stored summary."""
        out = {k: p for k, p in self.projects.items() if p}
        todo = [k for k in keys if k not in out]
        if todo:
            from tokdash.ingest.index import codec, db  # only for project budgets: decoding summaries

            try:
                reader = db.read_layouts(self.conn)
                for agent, sid in todo:
                    row = self.conn.execute("SELECT summary FROM sessions WHERE agent = ? AND session_id = ?",
                                            (agent, sid)).fetchone()
                    if row is not None:
                        try:
                            out[(agent, sid)] = reader.loads(row[0]).project  # type: ignore[attr-defined]
                        except (codec.CodecError, AttributeError):
                            continue
            except sqlite3.Error as exc:
                raise SpendUnavailable(f"cannot read the index: {_reason(exc)}") from None
        return out


def recent_headers(since: float, data: Path | None = None) -> list[dict]:
    """The headers of the status line's states updated at or after ``since``."""
    folder = (data if data is not None else data_dir()) / FOLDER
    out = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for e in entries:
        if not e.name.endswith(".state"):
            continue
        try:
            if e.stat().st_mtime < since:
                continue
        except OSError:
            continue
        header = read_header(Path(e.path))
        if header and isinstance(header.get("agent"), str) and isinstance(header.get("sid"), str) \
                and isinstance(header.get("tally"), dict):
            out.append(header)
    return out


def session_header(transcript: Path, data: Path | None = None) -> dict | None:
    """The state header of the session whose main transcript is ``transcript``, if it has one."""
    return read_header(state_path(transcript, data))


# --- alerts raised ----------------------------------------------------------------------------


def alerts_path(channel: str, data: Path | None = None) -> Path:
    """Where the crossings already raised on ``channel`` (``dashboard``, ``hook``) are kept."""
    return (data if data is not None else data_dir()) / f"alerts-{channel}.json"


def load_tracker(channel: str, alert_at: Iterable[float], data: Path | None = None) -> AlertTracker:
    """The alert tracker of ``channel`` as last saved (fresh when missing or damaged)."""
    return AlertTracker(alert_at, datafiles.read_json(alerts_path(channel, data)))


def save_tracker(channel: str, tracker: AlertTracker, data: Path | None = None) -> None:
    """Save the tracker when it changed; a failure to write is not an error (alerts may repeat)."""
    if tracker.changed:
        try:
            datafiles.write_json(alerts_path(channel, data), tracker.state())
            tracker.changed = False
        except OSError:
            pass
