"""Reading the files one sync must read: serially, or on every core when it is worth it.

A sync reads files in one order and merges each file's batch into its store in that
order. :func:`read_in_order` keeps that contract whichever way the bytes are read: with
enough bytes to read (a first build, a rebuild, a day's worth of new sessions) the files
are parsed in forked workers (``tokdash.ingest.parallel.read_states``) while this
process merges the batches as they arrive, in the very order a serial read gives them,
so the index holds the same rows either way (a test compares the two databases).

Workers are forked only from a single-threaded process (a report, the status line, the
``index`` command): a process with other threads (the dashboard) may hold locks a forked
child would wait on forever, so it reads serially.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from tokdash.ingest import parallel
from tokdash.ingest.index import codec, rows
from tokdash.ingest.reader import FileState, Unreadable, describe, read_state
from tokdash.model.records import Batch

MIN_FILES = 4
"""Fewer files than this are read here: a live sync of a few files never forks."""


def _weight(state: FileState) -> int:
    """Bytes there are to read (the whole file when it will be read from zero)."""
    try:
        size = os.stat(state.path).st_size
    except OSError:
        return 0
    return size - state.offset if 0 <= state.offset <= size else size


def workers_for(todo: list[tuple[str, FileState]]) -> tuple[int, list[int]]:
    """(how many processes to read ``todo`` with, the bytes to read per file); 1: serially."""
    if len(todo) < MIN_FILES or not hasattr(os, "fork") or threading.active_count() > 1:
        return 1, []
    weights = [_weight(st) for _agent, st in todo]
    return parallel.worker_count(sum(weights)), weights


def read_in_order(todo: list[tuple[str, FileState]], *, finalize: bool, jobs: int | None = None,
                  idle: Callable[[], None] | None = None, encoded: rows.Encoded | None = None,
                  ) -> Iterator[tuple[str, FileState, Batch | None, str | None]]:
    """``(agent, state, batch, why)`` per item of ``todo``, in order, each state updated as
    ``read_state`` leaves it: ``batch`` is what is new (None: nothing, or gone), ``why`` says
    why a file that exists cannot be read (``read_state``'s ``Unreadable``), else None.
    ``idle`` runs while forked workers read (never in a serial read: nothing waits there);
    ``encoded`` takes the rows those workers encoded of what they read (see ``rows.Encoded``)."""
    n, weights = workers_for(todo) if jobs is None else (jobs, [_weight(st) for _a, st in todo])
    if n <= 1:
        for agent, state in todo:
            try:
                batch = read_state(state, finalize=finalize)
            except Unreadable as exc:
                yield agent, state, None, describe(exc)
                continue
            yield agent, state, batch, None
        return
    states = [st for _agent, st in todo]
    for i, batch, why, extra in parallel.read_states(
        states, finalize=finalize, workers=n, weights=weights, pack_ctx=codec.dumps, unpack_ctx=codec.loads,
        idle=idle, pack_extra=rows.pre_encode if encoded is not None else None,
    ):
        if extra is not None and batch is not None and encoded is not None:
            encoded.add(batch, extra)
        yield todo[i][0], states[i], batch, why
