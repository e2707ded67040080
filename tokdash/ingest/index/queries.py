"""Reading the index without syncing it: history facts, one session, a snapshot, the status.

Each function reads inside one transaction of its own, which it rolls back (none
of them writes), so it sees one consistent state even while another tokdash writes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tokdash.ingest.index import codec, db
from tokdash.ingest.index.db import _Corrupt
from tokdash.ingest.index.identity import NEW, SCHEMA_VERSION, version_problem
from tokdash.ingest.index.tables import SLOT_CK_SQL, check_session_row
from tokdash.ingest.index.store import IndexStore
from tokdash.ingest.index.run import SyncResult
from tokdash.model.history import BUCKET_SECONDS, PICO, Fact, facts_from_sessions
from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session, SessionKey


@dataclass
class SessionsSnapshot:
    """Every session as the index stores it at one moment (see :meth:`Index.sessions_snapshot`)."""

    summaries: dict[SessionKey, SessionSummary]
    """The sessions whose stored summary is new or differs from what the caller knew."""
    fingerprints: dict[SessionKey, int]
    """Every session's stored summary, fingerprinted: pass it back to learn only what changed."""
    archived: set[SessionKey]
    """Sessions whose transcript files are all gone."""
    stale: bool = False
    """Stored by another version of tokdash's parser: the next sync rebuilds, numbers may move."""


def facts(open_conn: Callable[[], sqlite3.Connection], result: SyncResult,
          since: float | None = None, until: float | None = None) -> list[Fact]:
    """Usage per session, model and quarter hour in [since, until), for the history reports.

    Grouped in SQL from the calls table, so calls are never loaded one by one; the
    sessions of a run that could not save come from that run's memory instead (and
    when that run was a rebuild, everything does: ``open_conn`` is then not called).
    """
    memory: dict[SessionKey, Session] = {}
    if not result.saved and result.store is not None:
        memory = dict(result.store.sessions)
        if result.rebuilt:
            return _in_range(facts_from_sessions(memory.values(), result.prices), since, until)
    where, args = [], []
    if since is not None:
        where.append("ts > 0 AND ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts > 0 AND ts < ?")
        args.append(until)
    # Costs are stored as (whole dollars, pico-dollars below a dollar), both integers: each
    # part's SUM is exact and cannot overflow for any real fleet; if a hostile one does
    # overflow (SQLite raises), the sums are TOTALled as floats instead of failing.
    # Damage: every row is checked against its ``ck`` in the same pass, and the whole scan
    # must add up to the table's tally (rows and ck sum, kept by triggers), so a row a
    # damaged page hides, or shows twice, is noticed too. Hence every row is scanned (the
    # range is a GROUP BY column, not a WHERE), NOT INDEXED: the calls table has no index on
    # ``ts``, and a flipped byte in an index page can end a range scan early or point it at
    # another row (benchmarks/bench_index_checks.py measures the cost).
    cols = ("input", "output", "cw5", "cw1h", "cr", "reasoning", "web", "cost_usd", "cost_pico")
    inside = "(" + " AND ".join(where) + ")" if where else "1"
    conn = open_conn()

    def query(agg: str) -> list:
        return conn.execute(
            f"SELECT CAST(ts / {BUCKET_SECONDS} AS INTEGER) * {BUCKET_SECONDS} AS b, agent, session_id, model, "
            f"{inside} AS inr, COUNT(*), " + ", ".join(f"{agg}({c})" for c in cols) + ", SUM(cost_usd IS NULL), "
            f"SUM(ck IS NOT {SLOT_CK_SQL}), SUM(ck) FROM slots NOT INDEXED GROUP BY b, agent, session_id, model, inr",
            args,
        ).fetchall()

    conn.execute("BEGIN")
    try:
        try:
            rows = query("SUM")
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            rows = query("TOTAL")
        n_rows, ck_sum = db.tally(conn, "slots")
        # The text columns a fact is grouped by are checked against what else the index holds:
        # a flipped byte in a session id or a model would make a session or a model of its own.
        known_sessions = set(conn.execute("SELECT agent, session_id FROM sessions").fetchall())
        known_models = {r[0] for r in conn.execute("SELECT model FROM prices")}
    finally:
        conn.execute("ROLLBACK")
    out: list[Fact] = []
    seen = seen_ck = 0
    for b, agent, sid, model, inr, n, i, o, w5, w1, cr, rs, web, usd, pico, unpriced, bad, cks in rows:
        if bad or (agent, sid) not in known_sessions or model not in known_models:
            raise _Corrupt("a stored call fails its checksum")
        seen += n
        seen_ck += cks or 0
        if not inr or memory and (agent, sid) in memory:
            continue
        usage = Usage(*(int(t) for t in (i, o, w5, w1, cr, rs, web)))
        cost = int(usd or 0) * PICO + int(pico or 0)
        out.append(Fact(float(b) if b > 0 else 0.0, agent, sid, model, usage, n, cost, unpriced))
    if (seen, seen_ck % db.TALLY_MODULUS) != (n_rows, ck_sum):
        raise _Corrupt(f"the calls table reads {seen} rows where {n_rows} were written")
    if memory:
        out += _in_range(facts_from_sessions(memory.values(), result.prices), since, until)
    return out


def _in_range(facts: list[Fact], since: float | None, until: float | None) -> list[Fact]:
    return [
        f for f in facts
        if (since is None or (f.ts > 0 and f.ts >= since)) and (until is None or (f.ts > 0 and f.ts < until))
    ]


def load_session(conn: sqlite3.Connection, reader: codec.Reader, agent: str, session_id: str) -> Session | None:
    """One session with all its records (calls, events, file facts), or None if the index has none."""
    conn.execute("BEGIN")
    try:
        return IndexStore(conn, empty=False, reader=reader).load_session(agent, session_id)
    finally:
        conn.execute("ROLLBACK")


def sessions_snapshot(conn: sqlite3.Connection, reader: codec.Reader,
                      known: dict[SessionKey, int] | None) -> SessionsSnapshot | None:
    """Every stored session, decoding only the summaries whose bytes differ from ``known``.

    None when the index is new or in another format. Raises ``sqlite3.DatabaseError``
    or ``codec.CodecError`` as they come (the caller decides what damage means).
    """
    conn.execute("BEGIN")
    try:
        meta = db.read_meta(conn)
        problem = version_problem(meta)
        if meta.get("schema") != str(SCHEMA_VERSION) or problem == NEW:
            return None
        known = known or {}
        summaries: dict[SessionKey, SessionSummary] = {}
        prints: dict[SessionKey, int] = {}
        archived: set[SessionKey] = set()
        loads = reader.loads
        n_rows = 0
        for agent, sid, arch, blob in conn.execute("SELECT agent, session_id, archived, summary FROM sessions"):
            check_session_row(agent, sid, arch)
            n_rows += 1
            key = (agent, sid)
            fp = hash(blob)
            prints[key] = fp
            if known.get(key) != fp:
                summaries[key] = loads(blob)  # type: ignore[assignment]
            if arch:
                archived.add(key)
        if n_rows != db.tally(conn, "sessions")[0]:
            raise _Corrupt(f"the sessions table reads {n_rows} rows where {db.tally(conn, 'sessions')[0]} were written")
        return SessionsSnapshot(summaries, prints, archived, stale=problem is not None)
    finally:
        conn.execute("ROLLBACK")


def status(conn: sqlite3.Connection, path: Path, roots_sig: str) -> dict:
    """What ``tokdash index`` prints."""
    conn.execute("BEGIN")
    try:
        meta = db.read_meta(conn)

        def one(sql: str):
            return conn.execute(sql).fetchone()[0]

        return {
            "path": str(path),
            "roots": [_root_line(r) for r in (meta.get("roots") or roots_sig).splitlines()],
            "files": one("SELECT COUNT(*) FROM files WHERE gone = 0"),
            "files_gone": one("SELECT COUNT(*) FROM files WHERE gone = 1"),
            "sessions": one("SELECT COUNT(*) FROM sessions"),
            "archived_sessions": one("SELECT COUNT(*) FROM sessions WHERE archived = 1"),
            "api_calls": one("SELECT COUNT(*) FROM slots"),
            "bytes_read": int(one("SELECT TOTAL(offset) FROM files")),
            "forgotten": sorted(codec.dec_path(r[0]) for r in conn.execute("SELECT path FROM forgotten")),
            "size_bytes": sum(
                os.path.getsize(str(path) + s) for s in ("", "-wal") if os.path.exists(str(path) + s)
            ),
            "schema": meta.get("schema"),
            "built": meta.get("built"),
        }
    finally:
        conn.execute("ROLLBACK")


def _root_line(line: str) -> str:
    agent, _, path = line.partition("\t")
    return f"{agent}\t{codec.dec_path(path)}"


def _under(path: str, targets: list[str]) -> bool:
    return any(path == t or path.startswith(t.rstrip(os.sep) + os.sep) for t in targets)


def forget_preview(conn: sqlite3.Connection, targets: list[str]) -> tuple[list[str], set[SessionKey]]:
    """(the files of the index that ``targets`` name or hold, the sessions with a file among them)."""
    conn.execute("BEGIN")
    try:
        files = sorted(p for p in (codec.dec_path(r[0]) for r in conn.execute("SELECT path FROM files"))
                       if _under(p, targets))
        chosen = set(files)
        sessions = {(a, s) for path_t, a, s in conn.execute("SELECT path, agent, session_id FROM metas")
                    if codec.dec_path(path_t) in chosen}
        return files, sessions
    finally:
        conn.execute("ROLLBACK")


def unforget(conn: sqlite3.Connection, targets: list[str]) -> list[str]:
    """Remove the forgotten paths that ``targets`` name or hold; returns them."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        hit = sorted(p for p in (codec.dec_path(r[0]) for r in conn.execute("SELECT path FROM forgotten"))
                     if _under(p, targets))
        conn.executemany("DELETE FROM forgotten WHERE path = ?", [(codec.enc_path(p),) for p in hit])
        conn.execute("COMMIT")
        return hit
    except BaseException:
        db.abort(conn)
        raise
