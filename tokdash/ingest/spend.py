"""Spend as tokdash last recorded it, read in milliseconds: for the hook, which runs before every tool call.

The guard must not read transcripts. What tokdash already knows is in two places:

- the persistent index (every session as the last sync of any tokdash left it), read
  here read-only through the index's own queries (its grouped history facts, its stored
  session summaries), so every check it makes on its rows applies;
- the status line's per-session states (:mod:`tokdash.ingest.session_state`), brought up
  to date on every render of a Claude Code session: fresher than the index for the
  sessions that have one. Only their headers are read.

For each session the fresher of the two counts (the one that has seen more calls), never
both. The alerts already raised are kept here too (``alerts-<channel>.json``).
"""

from __future__ import annotations

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
from tokdash.model.tally import Tally
from tokdash.paths import data_dir
from tokdash.sources import SOURCES

SessionKey = tuple[str, str]
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
    """The index file of ``roots`` (the dashboard and the reports without flags use that of
    :func:`default_roots`)."""
    from tokdash.ingest.index.identity import index_path

    return index_path(roots, data)


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Recorded:
    """The index (read-only, never synced) and the status line's states: facts, sessions, projects.

    Raises :class:`SpendUnavailable` when the index is missing, locked, damaged or of
    another layout.
    """

    def __init__(self, index: Path, data: Path | None = None) -> None:
        from tokdash.ingest.index import db
        from tokdash.ingest.index.identity import SCHEMA_VERSION

        self.data = data
        self.projects: dict[SessionKey, str] = {}
        """Projects of the sessions whose state was read (from their headers)."""
        self._summaries: dict[SessionKey, object] = {}
        if not index.exists():
            raise SpendUnavailable(f"no index yet at {index} (run tokdash or a report once)")
        uri = "file:" + urllib.parse.quote(str(index)) + "?mode=rw"
        try:
            self.conn = sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS, isolation_level=None)
            self.conn.execute("PRAGMA query_only = 1")
            meta = db.read_meta(self.conn)
            self.reader = db.read_layouts(self.conn)
        except sqlite3.Error as exc:
            raise SpendUnavailable(f"cannot read the index {index}: {_reason(exc)}") from None
        if meta.get("schema") != str(SCHEMA_VERSION) or not meta.get("code"):
            self.close()
            raise SpendUnavailable(f"the index {index} is not built yet, or by another version of tokdash")

    def close(self) -> None:
        """Let go of the index."""
        try:
            self.conn.close()
        except sqlite3.Error:
            pass

    def _guard(self, fn):
        from tokdash.ingest.index import codec
        from tokdash.ingest.index.db import _Corrupt

        try:
            return fn()
        except (sqlite3.Error, _Corrupt, codec.CodecError) as exc:
            raise SpendUnavailable(f"cannot read the index: {_reason(exc)}") from None

    def facts(self, since: float) -> list[Fact]:
        """Usage per quarter hour, session and model from ``since`` on, each session counted once
        from the fresher of the index and its status-line state."""
        from tokdash.ingest.index import queries
        from tokdash.ingest.index.run import SyncResult

        out = self._guard(lambda: queries.facts(lambda: self.conn, SyncResult([]), since, None))
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
        return {k: t for k, t in found.items() if t.calls >= self.calls(k)}

    def summary(self, key: SessionKey):
        """The index's stored summary of one session (a ``SessionSummary``), or None."""
        if key not in self._summaries:
            from tokdash.ingest.index.tables import check_session_row

            def read():
                row = self.conn.execute("SELECT agent, session_id, archived, summary FROM sessions "
                                        "WHERE agent = ? AND session_id = ?", key).fetchone()
                if row is None:
                    return None
                check_session_row(row[0], row[1], row[2])
                return self.reader.loads(row[3])

            self._summaries[key] = self._guard(read)
        return self._summaries[key]

    def calls(self, key: SessionKey) -> int:
        """How many calls the index holds of one session."""
        s = self.summary(key)
        return s.api_calls if s is not None else 0  # type: ignore[attr-defined]

    def session(self, agent: str, sid: str) -> tuple[float, int, bool, int]:
        """(cost, tokens, partial, calls) of one session as the index holds it."""
        s = self.summary((agent, sid))
        if s is None:
            return 0.0, 0, False, 0
        return s.cost, s.usage.total, s.cost_partial, s.api_calls  # type: ignore[attr-defined]

    def session_projects(self, keys: Iterable[SessionKey]) -> dict[SessionKey, str]:
        """Each session's project (cwd): from its state, else from the index's stored summary."""
        out = {k: p for k, p in self.projects.items() if p}
        for key in keys:
            if key not in out:
                s = self.summary(key)
                if s is not None:
                    out[key] = s.project  # type: ignore[attr-defined]
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
