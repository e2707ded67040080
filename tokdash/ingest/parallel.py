"""Reading many files on every core, for one-shot commands (reports).

Parsing is CPU-bound Python, so threads do not help; forked workers do. Each
worker reads a share of the files (balanced by size) into a Store of its own,
which already collapses the streaming duplicates inside its files, and sends the
surviving records back through a pipe as plain tuples (``marshal``, far cheaper
than pickling objects). The parent merges them into its store with the same
dedup-with-replacement as any batch, so the result does not depend on how the
files were shared out — a test checks it equals the serial load.

Only used where ``os.fork`` exists and the bytes to read make it worth the
~10 ms a fork costs; the live dashboard keeps the serial, incremental path.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from tokdash.ingest.reader import Reader
from tokdash.model.records import Batch, Call, Event, SessionMeta, ToolUse, Usage
from tokdash.model.store import Store
from tokdash.sources import SOURCES

MIN_BYTES_PER_WORKER = 24 * 1024 * 1024
"""Below this many bytes per worker a fork costs more than it saves."""

_META_FIELDS = tuple(SessionMeta.__dataclass_fields__)


def worker_count(total_bytes: int, jobs: int | None = None) -> int:
    """How many processes to read ``total_bytes`` with (1 = serial)."""
    if not hasattr(os, "fork"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    want = jobs if jobs is not None else cpus
    return max(1, min(want, cpus, total_bytes // MIN_BYTES_PER_WORKER or 1))


PARENT_HANDICAP_BYTES = 32 * 1024 * 1024
"""The parent reads a share too, after loading the price table (~0.1 s, about what
32 MB of transcripts cost to parse): its share is that much smaller."""


def partition(files: list[tuple[str, Path, int]], n: int, handicap: int = 0) -> list[list[tuple[str, Path]]]:
    """Share files among ``n`` workers, largest first to the least loaded (LPT).

    Worker 0 starts with ``handicap`` bytes of other work already counted.
    """
    shares: list[list[tuple[str, Path]]] = [[] for _ in range(n)]
    loads = [0] * n
    loads[0] = handicap
    for agent, path, size in sorted(files, key=lambda f: -f[2]):
        i = loads.index(min(loads))
        shares[i].append((agent, path))
        loads[i] += size
    return shares


def _dump_store(store: Store, unreadable: dict[str, str] | None = None) -> bytes:
    calls = []
    seen: set[int] = set()
    for (agent, _sid), session in store.sessions.items():
        for slot in session.slots.values():
            if id(slot) in seen:
                continue
            seen.add(id(slot))
            c = slot.best
            u = c.usage
            calls.append((
                agent, c.key, c.session_id, c.model, c.timestamp,
                (u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search),
                c.rank, c.sidechain, c.agent_id, c.fast, c.msg_id, c.replica,
                tuple((k, t.name, t.target, t.whole_file, t.kind) for k, t in slot.tools.items()),
                slot.open, c.stop_reason, c.file_path, c.line_no,
            ))
    events = [
        (agent, e.key, e.session_id, e.kind, e.timestamp, e.rank, e.text, e.agent_id, e.value, e.tool_kind)
        for (agent, _sid), session in store.sessions.items()
        for e in session.events.values()
    ]
    metas = [
        tuple(getattr(m, f) for f in _META_FIELDS)
        for session in store.sessions.values()
        for m in session.metas.values()
    ]
    return marshal.dumps((calls, events, metas, unreadable or {}))


def _load_into(store: Store, blob: bytes, unreadable: dict[str, str] | None = None) -> set:
    calls, events, metas, cannot = marshal.loads(blob)
    if unreadable is not None:
        unreadable.update(cannot)
    changed: set = set()
    per_agent: dict[str, Batch] = {}
    for fields in metas:
        meta = SessionMeta(*fields)
        per_agent.setdefault(meta.agent, Batch()).metas.append(meta)
    for (agent, key, sid, model, ts, u, rank, sidechain, agent_id, fast, msg_id, replica, tools, is_open,
         stop, path, line_no) in calls:
        per_agent.setdefault(agent, Batch()).calls.append(
            Call(key=key, session_id=sid, model=model, timestamp=ts, usage=Usage(*u), rank=rank,
                 sidechain=sidechain, agent_id=agent_id, fast=fast, msg_id=msg_id, replica=replica,
                 tools={k: ToolUse(n, t, w, kind) for k, n, t, w, kind in tools}, open=is_open, stop_reason=stop,
                 file_path=path, line_no=line_no)
        )
    for agent, key, sid, kind, ts, rank, text, agent_id, value, tool_kind in events:
        per_agent.setdefault(agent, Batch()).events.append(Event(key, sid, kind, ts, rank, text, agent_id, value,
                                                                 tool_kind))
    for agent, batch in per_agent.items():
        changed |= store.add_batch(batch, agent)
    return changed


def _read_share(share: list[tuple[str, Path]], finalize: bool) -> tuple[Store, dict[str, str]]:
    reader = Reader()
    store = Store()
    for agent, path in share:
        batch = reader.read(path, SOURCES[agent], finalize=finalize)
        if batch is not None:
            store.add_batch(batch, agent)
    return store, reader.unreadable


def load_parallel(store: Store, shares: list[list[tuple[str, Path]]], *, finalize: bool = True,
                  warm=None, unreadable: dict[str, str] | None = None) -> set:
    """Read ``shares[0]`` here and every other share in a forked process; merge all into ``store``.

    ``warm`` is called here first, while the workers read (e.g. loading the price
    table), so that it costs no wall time. A worker that dies is re-read here: the
    result is never partial. Files that could not be read are added to ``unreadable``.
    """
    procs: list[tuple[int, int, list[tuple[str, Path]]]] = []
    for share in shares[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: read, send, exit without running the parent's cleanup
            status = 0
            try:
                os.close(r)
                blob = _dump_store(*_read_share(share, finalize))
                with os.fdopen(w, "wb") as out:
                    out.write(blob)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        os.close(w)
        procs.append((pid, r, share))
    if warm is not None:
        warm()
    changed: set = set()
    reader = Reader()
    for agent, path in shares[0]:
        batch = reader.read(path, SOURCES[agent], finalize=finalize)
        if batch is not None:
            changed |= store.add_batch(batch, agent)
    if unreadable is not None:
        unreadable.update(reader.unreadable)
    for pid, r, share in procs:
        with os.fdopen(r, "rb") as inp:
            blob = inp.read()
        _pid, status = os.waitpid(pid, 0)
        if status == 0 and blob:
            changed |= _load_into(store, blob, unreadable)
        else:
            changed |= _load_into(store, _dump_store(*_read_share(share, finalize)), unreadable)
    return changed
