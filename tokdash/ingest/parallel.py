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

:func:`read_states` is the other way in, for the index: it reads given reader states
(a cold build's fresh ones, or an update's) in forked workers and hands each file's
batch and new state back *in the order given*, so the one writer merging them does
exactly what a serial read would do -- same batches, same order, same result -- while
the reading happens on every core.
"""

from __future__ import annotations

import gc
import marshal
import os
import signal
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


# --- reading given states in workers, handing results back in order (the index) --------

_CALL_NAMES = tuple(Call.__dataclass_fields__)
_USAGE_AT = _CALL_NAMES.index("usage")
_TOOLS_AT = _CALL_NAMES.index("tools")
_USAGE_NAMES = tuple(Usage.__dataclass_fields__)
_TOOL_NAMES = tuple(ToolUse.__dataclass_fields__)
_EVENT_NAMES = tuple(Event.__dataclass_fields__)
_STATE_FIELDS = ("offset", "ident", "size", "mtime", "resets", "bad_lines", "head_len", "head_sum")
FRAME_BYTES = 256 * 1024
"""A worker writes its results in frames of about this many bytes (fewer wake-ups of the parent)."""


def _fields(obj, names: tuple[str, ...]) -> list:
    return [getattr(obj, n) for n in names]


def pack_batch(batch: Batch) -> tuple:
    """A batch as plain values ``marshal`` takes (every field of every record, by field order)."""
    calls = []
    for c in batch.calls:
        t = _fields(c, _CALL_NAMES)
        t[_USAGE_AT] = tuple(_fields(c.usage, _USAGE_NAMES))
        t[_TOOLS_AT] = tuple((k, *_fields(v, _TOOL_NAMES)) for k, v in c.tools.items())
        calls.append(tuple(t))
    events = [tuple(_fields(e, _EVENT_NAMES)) for e in batch.events]
    metas = [tuple(getattr(m, f) for f in _META_FIELDS) for m in batch.metas]
    return (batch.path, batch.replaces_file, calls, events, metas, batch.bad_lines)


def unpack_batch(t: tuple) -> Batch:
    """The batch :func:`pack_batch` packed."""
    path, replaces, calls, events, metas, bad = t
    out = Batch(path=path, replaces_file=replaces, bad_lines=bad)
    for row in calls:
        r = list(row)
        r[_USAGE_AT] = Usage(*r[_USAGE_AT])
        r[_TOOLS_AT] = {k: ToolUse(*v) for k, *v in r[_TOOLS_AT]}
        out.calls.append(Call(*r))
    out.events = [Event(*e) for e in events]
    out.metas = [SessionMeta(*m) for m in metas]
    return out


def _read_one(state, finalize: bool, pack_ctx, pack_extra=None) -> tuple:
    """(kind, payload...) for one state: ``ok`` with the packed batch, the new state, its
    context and ``pack_extra(batch)``; ``unreadable`` with why. Any other error is the
    parent's to meet (``retry``)."""
    from tokdash.ingest.reader import Unreadable, describe, read_state

    try:
        batch = read_state(state, finalize=finalize)
    except Unreadable as exc:
        return ("unreadable", describe(exc), tuple(getattr(state, f) for f in _STATE_FIELDS), pack_ctx(state.ctx),
                None)
    except Exception:  # noqa: BLE001 - the parent reads it again itself and meets the error there
        return ("retry",)
    packed = pack_batch(batch) if batch is not None else None
    extra = pack_extra(batch) if pack_extra is not None and batch is not None else None
    return ("ok", packed, tuple(getattr(state, f) for f in _STATE_FIELDS), pack_ctx(state.ctx), extra)


def _worker(states, indices: list[int], w: int, finalize: bool, pack_ctx, pack_extra=None) -> None:
    """A forked worker: read its states in order, writing (index, result) frames to ``w``."""
    gc.disable()  # it lives for one share and exits: collections would only cost time
    out = bytearray()
    for i in indices:
        blob = marshal.dumps((i, _read_one(states[i], finalize, pack_ctx, pack_extra)))
        out += len(blob).to_bytes(4, "little") + blob
        if len(out) >= FRAME_BYTES:
            _write_all(w, out)
            out.clear()
    _write_all(w, out)


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_states(states: list, *, finalize: bool, workers: int, weights: list[int], pack_ctx, unpack_ctx,
                idle=None, pack_extra=None):
    """Read every reader state of ``states`` in ``workers`` forked processes; yield
    ``(i, batch, why, extra)`` for i = 0, 1, ... in order, each state updated in place as
    ``read_state`` would have left it (``why``: the file exists but cannot be read, as
    ``read_state``'s ``Unreadable`` says; ``batch`` is then None). ``extra`` is what
    ``pack_extra(batch)`` made of the batch in the worker (work done on every core, e.g.
    encoding records the way they are stored), None when the parent read the file itself.

    ``weights`` (bytes to read per state) balance the shares; each worker reads its share
    in the given order, so results arrive roughly in order and the caller merges while
    the workers read. ``pack_ctx``/``unpack_ctx`` carry a parse context across the pipe.
    ``idle`` is called once the workers run, before the first result is awaited (work this
    process would otherwise do later, e.g. loading the price table).
    A worker that dies, or a read that fails in a worker for any other reason, is read
    again here, so an error surfaces exactly as in a serial read.
    """
    import select

    from tokdash.ingest.reader import Unreadable, describe, read_state

    n = len(states)
    shares = _shares(weights, workers)
    procs: dict[int, tuple[int, list[int]]] = {}
    done = False
    try:
        for k, share in enumerate(shares):
            if not share:
                continue
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: read, send, exit without the parent's cleanup
                status = 0
                try:
                    os.close(r)
                    _worker(states, share, w, finalize, pack_ctx, pack_extra)
                except BaseException:
                    status = 1
                finally:
                    os._exit(status)
            os.close(w)
            _grow_pipe(r)
            procs[r] = (pid, share)
        if idle is not None:
            idle()
        ready: dict[int, tuple] = {}
        buffers = {r: bytearray() for r in procs}
        open_fds = set(procs)
        lost: set[int] = set()
        nxt = 0
        while nxt < n:
            while nxt not in ready and nxt not in lost:
                if not open_fds:
                    lost.add(nxt)  # its worker ended without sending it
                    break
                for r in select.select(list(open_fds), [], [])[0]:
                    chunk = os.read(r, 1 << 20)
                    if not chunk:
                        open_fds.discard(r)
                        lost.update(i for i in procs[r][1] if i not in ready and i >= nxt)
                        continue
                    buf = buffers[r]
                    buf += chunk
                    _frames(buf, ready)
            state = states[nxt]
            got = ready.pop(nxt, None)
            if got is None or got[0] == "retry":
                try:  # read here: the same outcome a serial read has, errors included
                    yield nxt, read_state(state, finalize=finalize), None, None
                except Unreadable as exc:
                    yield nxt, None, describe(exc), None
            else:
                for f, v in zip(_STATE_FIELDS, got[2], strict=True):
                    setattr(state, f, tuple(v) if f == "ident" and v is not None else v)
                state.ctx = unpack_ctx(got[3])
                if got[0] == "unreadable":
                    yield nxt, None, got[1], None
                else:
                    yield nxt, unpack_batch(got[1]) if got[1] is not None else None, None, got[4]
            nxt += 1
        done = True
    finally:
        for r, (pid, _share) in procs.items():
            if not done:  # the caller stopped early (an error): the rest is not wanted
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.close(r)
            except OSError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _frames(buf: bytearray, ready: dict[int, tuple]) -> None:
    """Take every complete frame out of ``buf`` into ``ready``."""
    at = 0
    size = len(buf)
    while size - at >= 4:
        length = int.from_bytes(buf[at : at + 4], "little")
        if size - at - 4 < length:
            break
        i, result = marshal.loads(buf[at + 4 : at + 4 + length])
        ready[i] = result
        at += 4 + length
    del buf[:at]


def _grow_pipe(fd: int) -> None:
    """Let a pipe hold 1 MiB (Linux), so a worker ahead of the merge rarely waits."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (OSError, ImportError):
        pass


def _shares(weights: list[int], n: int) -> list[list[int]]:
    """Indices shared among ``n`` workers, heaviest first to the least loaded (LPT); each
    share in increasing index order, so every worker goes through the list as the merge does."""
    shares: list[list[int]] = [[] for _ in range(n)]
    loads = [0] * n
    for i in sorted(range(len(weights)), key=lambda i: -weights[i]):
        k = loads.index(min(loads))
        shares[k].append(i)
        loads[k] += weights[i]
    for share in shares:
        share.sort()
    return shares
