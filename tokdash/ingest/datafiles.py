"""Small files of tokdash's own in its data dir: written atomically, private, read leniently.

The status line's per-session state, the plan windows Claude Code reported and the
alerts already raised are each a small file under ``tokdash.paths.data_dir()`` (never
in an agent's folder). Writes go to a temporary file in the same folder, created
``0600`` (it says what a user spends and works on), then replace the old file in one
``rename``, so a reader (or a crash) sees the old file or the new one, never half of
one. A file that is missing or does not decode reads as absent: these files are
caches and ledgers that tokdash can do without, never a reason to fail.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import orjson


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step, the file private to the user (``0600``).

    Creates the folder (``0700``) if needed. Raises ``OSError`` (a full disk, a read-only
    data dir): callers that can do without the file catch it.
    """
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = _create(folder, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_serial = itertools.count()


def _create(folder: Path, name: str) -> tuple[int, str]:
    """A new private temporary file beside the target (``tempfile`` costs a status line 3 ms
    to import; a name from the pid and a counter, created exclusively, is as safe)."""
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.{next(_serial)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), tmp
        except FileExistsError:
            continue  # left by a process of the same pid that died: take the next name


def read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """The file's bytes (at most ``limit``), or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read() if limit is None else f.read(limit)
    except OSError:
        return None


def read_json(path: Path) -> dict | None:
    """A JSON object from ``path``; None when it is missing, unreadable or not an object."""
    data = read_bytes(path)
    if not data:
        return None
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def write_json(path: Path, obj: dict) -> None:
    """Write a JSON object atomically (see :func:`write_atomic`)."""
    write_atomic(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
