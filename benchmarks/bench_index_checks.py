#!/usr/bin/env python3
"""What the index's damage checks cost: each check timed beside the same read without it.

    python benchmarks/bench_index_checks.py [CORPUS] [--runs 7]

CORPUS holds ``claude/`` and ``codex/`` (default ``/tmp/bench-corpus``, made by
``benchmarks/gen_corpus.py``). The index is built once in a temp dir; then, on that same
file, each pair is timed in one run, ``--runs`` times, medians side by side:

- decoding every stored summary (what ``report sessions`` does on a warm index) with the
  CRC-32 check of each blob, and without it (the same bytes, the check skipped);
- the history facts of every call (``report daily``) as the index runs them (row checksum
  recomputed in SQL, a full scan), and the same aggregate with neither;
- discovery (``discover``: the sources' listings, a ``stat`` per file, and the walk that
  notes unreadable and symlinked folders) beside the sources' listings with only the
  ``stat`` (what it was before the checks);
- writing every call (what a cold build inserts) into a copy of the calls table with the
  tally trigger that keeps its row count and checksum sum, and into one without;
- the facts of the last day (``--since``, the status line's "today") as run (a full scan,
  ``NOT INDEXED``), and through an index on ``ts`` (created here for the comparison: the
  index had one before the checks) with no row check.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tokdash.ingest.discovery import Roots, discover  # noqa: E402
from tokdash.ingest.index import Index, SyncResult, codec  # noqa: E402
from tokdash.ingest.index.queries import facts  # noqa: E402
from tokdash.ingest.index.tables import SLOT_CK_SQL  # noqa: E402
from tokdash.model.history import BUCKET_SECONDS  # noqa: E402
from tokdash.sources import SOURCES  # noqa: E402

_SQL = (f"SELECT CAST(ts / {BUCKET_SECONDS} AS INTEGER) * {BUCKET_SECONDS} AS b, agent, session_id, model, "
        "COUNT(*), SUM(input), SUM(output), SUM(cw5), SUM(cw1h), SUM(cr), SUM(reasoning), SUM(web), "
        "SUM(cost_usd), SUM(cost_pico), SUM(cost_usd IS NULL){check} FROM slots{scan}{where} "
        "GROUP BY b, agent, session_id, model")
CHECKED = {"check": f", SUM(ck IS NOT {SLOT_CK_SQL})", "scan": " NOT INDEXED"}
"""As ``queries.facts`` runs it: every row's checksum recomputed, rows scanned (no index)."""
PLAIN = {"check": "", "scan": ""}
"""The same aggregate without the check, free to use the ``ts`` index (as before the checks)."""


def _median(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=Path("/tmp/bench-corpus"))
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    roots = Roots(by_agent={"claude": [args.corpus / "claude"], "codex": [args.corpus / "codex"]})
    with tempfile.TemporaryDirectory() as tmp:
        index = Index.for_roots(roots, Path(tmp))
        t0 = time.perf_counter()
        index.sync(discover(roots))
        build = time.perf_counter() - t0
        conn = index._open()
        blobs = [r[0] for r in conn.execute("SELECT summary FROM sessions")]
        calls = conn.execute("SELECT COUNT(*) FROM slots").fetchone()[0]
        last = conn.execute("SELECT MAX(ts) FROM slots").fetchone()[0] - 86400
        conn.execute("CREATE INDEX IF NOT EXISTS bench_ts ON slots (ts)")  # what the plain range scan used
        checked, unchecked = codec.Reader(), codec.Reader(checked=False)
        day = " WHERE ts > 0 AND ts >= ?"

        def listing_only() -> list:
            out = []
            for agent, top in roots.scan_dirs():
                for p in SOURCES[agent].files(top):
                    try:
                        out.append((os.stat(p).st_mtime, os.path.realpath(p), agent, p))
                    except OSError:
                        pass
            return out

        conn.execute("CREATE TEMP TABLE bench_tally (n INTEGER, ck INTEGER)")
        conn.execute("INSERT INTO bench_tally VALUES (0, 0)")
        for name, trigger in (("bench_with", True), ("bench_without", False)):
            conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM slots WHERE 0")
            if trigger:
                conn.execute(f"CREATE TEMP TRIGGER bench_trig AFTER INSERT ON {name} BEGIN UPDATE bench_tally "
                             "SET n = n + 1, ck = (ck + NEW.ck) % 2147483647; END")

        def write_all(table: str):
            def go():
                conn.execute("BEGIN")
                conn.execute(f"INSERT INTO {table} SELECT * FROM slots")
                conn.execute("ROLLBACK")
            return go

        rows = [
            ("discovery", lambda: discover(roots), listing_only),
            ("write every call", write_all("bench_with"), write_all("bench_without")),
            ("decode every summary", lambda: [checked.loads(b) for b in blobs],
             lambda: [unchecked.loads(b) for b in blobs]),
            ("facts SQL, every call", lambda: conn.execute(_SQL.format(where="", **CHECKED)).fetchall(),
             lambda: conn.execute(_SQL.format(where="", **PLAIN)).fetchall()),
            ("facts SQL, the last day", lambda: conn.execute(_SQL.format(where=day, **CHECKED), (last,)).fetchall(),
             lambda: conn.execute(_SQL.format(where=day, **PLAIN), (last,)).fetchall()),
        ]
        for _name, a, b in rows:  # warm the page cache and the allocator first
            a(), b()
        whole, _ = _median(lambda: facts(index._open, SyncResult([])), args.runs)
        print(f"corpus {args.corpus}: {len(blobs)} sessions, {calls} calls; index built in {build:.2f} s")
        print(f"{'step':24} {'checked (s)':>12} {'unchecked (s)':>14} {'cost':>8}   (medians of {args.runs})")
        for name, with_check, without in rows:
            a, _ = _median(with_check, args.runs)
            b, _ = _median(without, args.runs)
            print(f"{name:24} {a:12.4f} {b:14.4f} {a - b:+8.4f}")
        print(f"(for scale: Index.facts of every call, SQL and Python together, {whole:.4f} s)")
        index.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
