"""Incremental reading of transcript files by byte offset.

Only complete lines are consumed: a half-written tail stays unread until its
newline arrives (or, with ``finalize``, until it is known complete). Within a
chunk, lines are found by searching the whole buffer for each source's byte
markers, so the many lines that carry nothing to count (progress, snapshots,
tool results) are never split, copied or decoded in Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from tokdash.model.records import Batch
from tokdash.sources.base import FileContext, Source, decode_line

CHUNK = 8 * 1024 * 1024
"""Bytes read per ``read()``; files of hundreds of MB are streamed, never loaded whole."""


@dataclass(slots=True)
class FileState:
    """How far one file has been read, and the parse context that continues from there."""

    path: str
    source: Source
    ctx: FileContext
    offset: int = 0
    """Byte offset just past the last consumed line."""
    ident: tuple[int, int] | None = None
    """(st_dev, st_ino) when last read: a change means the file was replaced."""
    size: int = 0
    mtime: float = 0.0
    resets: int = 0
    """How many times the file was found truncated or replaced and re-read from zero."""
    bad_lines: int = 0
    """Lines that looked relevant (held a marker) but did not decode, since the first read."""


class Reader:
    """Reads any number of files incrementally; each call returns only what is new."""

    def __init__(self) -> None:
        self.files: dict[str, FileState] = {}

    def track(self, path: Path | str, source: Source) -> FileState | None:
        """Start following ``path`` (idempotent); None if the source does not claim it."""
        key = str(path)
        st = self.files.get(key)
        if st is None:
            ctx = source.context_for(Path(key))
            if ctx is None:
                return None
            st = self.files[key] = FileState(key, source, ctx)
        return st

    def read(self, path: Path | str, source: Source, *, finalize: bool = False) -> Batch | None:
        """Read what was appended to ``path`` since the last call.

        Returns None when there is nothing new (or the file is gone). With
        ``finalize`` an unterminated last line that decodes completely is consumed
        too: a copied transcript without a final newline is complete.
        """
        state = self.track(path, source)
        if state is None:
            return None
        return read_state(state, finalize=finalize)


def read_state(state: FileState, *, finalize: bool = False) -> Batch | None:
    """Read the new bytes of one tracked file into a Batch (see ``Reader.read``)."""
    try:
        fd = os.open(state.path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.fstat(fd)
        ident = (st.st_dev, st.st_ino)
        if state.ident is not None and (ident != state.ident or st.st_size < state.offset):
            # Truncated or replaced in place: start over. Re-offering records the store
            # already holds is idempotent (dedup by key), so nothing is counted twice.
            fresh = state.source.context_for(Path(state.path))
            if fresh is not None:
                state.ctx = fresh
            state.offset = 0
            state.bad_lines = 0  # they will be met (and counted) again
            state.resets += 1
        state.ident = ident
        state.size = st.st_size
        state.mtime = st.st_mtime
        if st.st_size == state.offset:
            return None
        batch = Batch(path=state.path)
        os.lseek(fd, state.offset, os.SEEK_SET)
        base = state.offset
        carry = b""
        while True:
            chunk = os.read(fd, CHUNK)
            if not chunk:
                break
            buf = carry + chunk if carry else chunk
            end = buf.rfind(b"\n")
            if end == -1:
                carry = buf
                continue
            _scan(buf, end + 1, base, state, batch)
            base += end + 1
            carry = buf[end + 1 :]
        state.offset = base
        if carry and finalize:
            objs, bad = decode_line(carry)
            if objs and not bad:
                for obj in objs:
                    state.source.parse(obj, state.ctx, base, batch)
                state.offset += len(carry)
    finally:
        os.close(fd)
    ctx = state.ctx
    state.bad_lines += batch.bad_lines
    if ctx.meta is not None:
        ctx.meta.bad_lines = state.bad_lines
        # A snapshot, not the live object: the parser keeps mutating its own copy
        # (possibly on another thread) while the store reads this one.
        batch.metas.append(replace(ctx.meta))
    return batch


def _scan(buf: bytes, end: int, base: int, state: FileState, batch: Batch) -> None:
    """Decode and parse every line of ``buf[:end]`` that contains one of the source's markers.

    Each marker costs one pass over the buffer in C (``bytes.find``, or a regex for a
    group of rare markers); Python only touches the lines that matched. ``hits`` tells
    the source which markers a line matched, so it need not search the line again.
    """
    source = state.source
    find = buf.find
    rfind = buf.rfind
    lines: dict[int, int] = {}
    hits: dict[int, int] = {}
    for bit, marker in enumerate(source.markers):
        flag = 1 << bit
        if isinstance(marker, bytes):
            i = find(marker, 0, end)
            while i != -1:
                ls = rfind(b"\n", 0, i) + 1
                le = find(b"\n", i, end)
                lines[ls] = le
                hits[ls] = hits.get(ls, 0) | flag
                i = find(marker, le + 1, end)
        else:
            pos = -1
            for m in marker.finditer(buf, 0, end):
                i = m.start()
                if i < pos:
                    continue  # another match on a line already taken
                ls = rfind(b"\n", 0, i) + 1
                le = find(b"\n", i, end)
                lines[ls] = le
                hits[ls] = hits.get(ls, 0) | flag
                pos = le
    if not lines:
        return
    ctx = state.ctx
    parse = source.parse
    wants = source.wants
    for ls in sorted(lines):
        line = buf[ls : lines[ls]]
        if not wants(line, hits[ls], ctx, base + ls, batch):
            continue
        objs, bad = decode_line(line)
        if bad:
            batch.bad_lines += bad
        for obj in objs:
            parse(obj, ctx, base + ls, batch)
