"""Incremental reading of transcript files by byte offset.

Only complete lines are consumed: a half-written tail stays unread until its
newline arrives (or, with ``finalize``, until it is known complete). Within a
chunk, lines are found by searching the whole buffer for each source's byte
markers, so the many lines that carry nothing to count (progress, snapshots,
tool results) are never split, copied or decoded in Python.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from tokdash import paths
from tokdash.model.records import Batch
from tokdash.sources.base import FileContext, Source, decode_line

CHUNK = 8 * 1024 * 1024
"""Bytes read per ``read()``; files of hundreds of MB are streamed, never loaded whole."""
HEAD = 4096
"""Bytes at the start of a file whose digest is kept: a file rewritten in place with other
content (same inode, no shorter) is told apart from one that only grew."""


class Unreadable(OSError):
    """A transcript that exists but cannot be read: no permission, not a regular file (a
    FIFO, a folder, a device), a symlink loop, an I/O error. Its history is kept as it was;
    the caller reports it (one line) and counts it."""


def _refuse(path: str, exc: OSError | None = None, why: str | None = None) -> Unreadable:
    if exc is not None:
        return Unreadable(exc.errno, exc.strerror or str(exc), path)
    return Unreadable(errno.EINVAL, why or "not a regular file", path)


def describe(exc: OSError) -> str:
    """One line naming what could not be read and why (the path is the caller's to clean)."""
    return exc.strerror or str(exc)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=8).digest()


def _pread(fd: int, n: int, at: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, at)
    os.lseek(fd, at, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, n)


def open_regular(path: str) -> tuple[int, os.stat_result] | None:
    """``tokdash.paths.open_regular`` (open without blocking, ``fstat`` says a regular file),
    with every refusal as :class:`Unreadable`."""
    try:
        return paths.open_regular(path)
    except OSError as exc:
        raise _refuse(path, exc) from None


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
    head_len: int = 0
    """How many bytes at the start of the file ``head_sum`` covers (at most ``HEAD``)."""
    head_sum: bytes = b""
    """Digest of the file's first ``head_len`` bytes when last read."""

    def same_head(self, fd: int) -> bool:
        """Whether the open file still starts with the bytes this state last saw there."""
        if not self.head_len:
            return True
        head = _pread(fd, self.head_len, 0)
        return len(head) == self.head_len and _digest(head) == self.head_sum

    def _note_head(self, fd: int, size: int) -> None:
        if self.head_len < HEAD and size > self.head_len:
            head = _pread(fd, min(size, HEAD), 0)
            self.head_len, self.head_sum = len(head), _digest(head)


def same_file(state: FileState, path: str) -> bool:
    """Whether ``path`` is the file ``state`` was read from, under another name (a rename):
    the same device and inode, starting with the same bytes. A new file that merely reuses
    a deleted file's inode number starts with other bytes."""
    if state.ident is None:
        return False
    try:
        opened = open_regular(path)
    except Unreadable:
        return False
    if opened is None:
        return False
    fd, st = opened
    try:
        return (st.st_dev, st.st_ino) == state.ident and st.st_size >= state.offset and state.same_head(fd)
    finally:
        os.close(fd)


class Reader:
    """Reads any number of files incrementally; each call returns only what is new.

    A file that exists but cannot be read (see :class:`Unreadable`) is not an error here:
    :meth:`read` returns None and notes why in :attr:`unreadable` until it reads again.
    """

    def __init__(self) -> None:
        self.files: dict[str, FileState] = {}
        self.unreadable: dict[str, str] = {}
        """path -> why it could not be read, for the files that could not be read last time."""
        self._by_ident: dict[tuple[int, int], str] = {}
        """(st_dev, st_ino) -> the tracked path last read with it (to tell a rename)."""

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
        try:
            batch = read_state(state, finalize=finalize)
        except Unreadable as exc:
            self.unreadable[state.path] = describe(exc)
            return None
        self.unreadable.pop(state.path, None)
        if state.ident is not None:
            self._by_ident[state.ident] = state.path
        return batch

    def reread(self, path: str, *, finalize: bool = True) -> Batch | None:
        """Everything ``path`` holds now, read from zero with a fresh context, leaving the
        tracked state alone: the records a store asks to be offered again (its ``reoffer``).
        None when the file is not tracked, gone or unreadable."""
        state = self.files.get(path)
        if state is None:
            return None
        return reread(state.source, path, finalize=finalize)

    def renamed_from(self, path: str) -> str | None:
        """The tracked path that ``path`` (not tracked yet) was renamed from, if any: a file
        no longer found under its old name that ``same_file`` says is this one."""
        if path in self.files or not self._by_ident:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        old = self._by_ident.get((st.st_dev, st.st_ino))
        state = self.files.get(old) if old is not None else None
        if state is None or old == path or os.path.lexists(old) or not same_file(state, path):
            return None
        return old

    def forget(self, path: str) -> None:
        """Stop following ``path`` (it was renamed: its new name is followed instead)."""
        state = self.files.pop(path, None)
        self.unreadable.pop(path, None)
        if state is not None and state.ident is not None and self._by_ident.get(state.ident) == path:
            del self._by_ident[state.ident]


def read_state(state: FileState, *, finalize: bool = False) -> Batch | None:
    """Read the new bytes of one tracked file into a Batch (see ``Reader.read``).

    None when there is nothing new or the file is gone; raises :class:`Unreadable` when
    it exists but cannot be read. A file that shrank, was replaced (another inode) or
    was rewritten in place with other content is read again from zero, and that batch
    has ``replaces_file`` set (even when the file is empty now): it is the file's whole
    content, and the store withdraws what the file held before.
    """
    hook = getattr(state.source, "read", None)
    if hook is not None:
        # Not appended JSON lines (a document rewritten in place, a live database): the
        # source reads the file itself, its cursor in state.ctx.state (see Source.read).
        return hook(state, finalize)
    opened = open_regular(state.path)
    if opened is None:
        return None
    fd, st = opened
    try:
        ident = (st.st_dev, st.st_ino)
        reset = state.ident is not None and (
            ident != state.ident or st.st_size < state.offset or not state.same_head(fd))
        if reset:
            # Truncated, replaced or rewritten: start over; the batch replaces the file's records.
            fresh = state.source.context_for(Path(state.path))
            if fresh is not None:
                state.ctx = fresh
            state.offset = 0
            state.bad_lines = 0  # they will be met (and counted) again
            state.resets += 1
            state.head_len, state.head_sum = 0, b""
        state.ident = ident
        state.size = st.st_size
        state.mtime = st.st_mtime
        state._note_head(fd, st.st_size)
        if st.st_size == state.offset and not reset:
            return None
        batch = Batch(path=state.path, replaces_file=reset)
        os.lseek(fd, state.offset, os.SEEK_SET)
        base = state.offset
        carry = b""
        while True:
            try:
                chunk = os.read(fd, CHUNK)
            except OSError as exc:
                # An I/O error mid-file: the parse context has moved past what is recorded,
                # so the next read starts over from zero (and replaces the file's records).
                state.ident, state.offset, state.head_len = (-1, -1), 0, 0
                raise _refuse(state.path, exc) from None
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


def reread(source: Source, path: str, *, finalize: bool = True) -> Batch | None:
    """The calls and events ``path`` holds now, read from zero into a fresh context (no
    tracked state is touched, no file facts are kept): what a store's ``reoffer`` asks for.
    None when the file is gone, unreadable or not the source's."""
    ctx = source.context_for(Path(path))
    if ctx is None:
        return None
    try:
        batch = read_state(FileState(path, source, ctx), finalize=finalize)
    except Unreadable:
        return None
    if batch is not None:
        batch.metas.clear()  # the file's own tracked state keeps its facts
        batch.bad_lines = 0
        batch.replaces_file = False  # more copies to offer, never a replacement of the file
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
