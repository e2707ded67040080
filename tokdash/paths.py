"""Where tokdash keeps its own data (the persistent index) on each platform.

- ``$TOKDASH_DATA_DIR`` if set (tests and unusual setups);
- Linux and other Unixes: ``$XDG_DATA_HOME/tokdash``, default ``~/.local/share/tokdash``;
- macOS: ``~/Library/Application Support/tokdash``;
- Windows: ``%LOCALAPPDATA%\\tokdash``.

Data, not config: the index can always be rebuilt from transcripts that still exist,
but it is also the only record of sessions whose transcripts were deleted, so it does
not belong in a cache dir that cleaners empty.
"""

from __future__ import annotations

import os
import stat as _stat
import sys
from pathlib import Path

DATA_DIR_ENV = "TOKDASH_DATA_DIR"
"""Environment variable that overrides the data dir."""


def data_dir(env: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The platform data dir of tokdash (not created here)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = env.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(os.path.expanduser(override))
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        base = Path(local) if local else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME", "")
        # The XDG spec says a relative value is invalid and must be ignored.
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / "tokdash"


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
"""tokdash's own files hold prompt excerpts, titles and paths: readable by their owner only."""


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by its owner only; returns it.

    A folder that already exists is tightened only when it is tokdash's own (the last
    part of the default data dir, ``tokdash``, or a folder it just made): a
    ``$TOKDASH_DATA_DIR`` pointing at a folder of the user's is left as they set it.
    """
    existed = path.is_dir()
    if not existed:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if not existed or path.name == "tokdash":
        _chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path, *, create: bool = False) -> None:
    """Give an existing file of tokdash's the mode ``0600`` (with ``create``, create it empty
    with that mode first if missing). Never follows a symlink into someone else's file."""
    if create:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE_MODE)
        except FileExistsError:
            pass
        else:
            os.close(fd)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if _stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
        _chmod(path, PRIVATE_FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # not ours to change (another owner, a read-only mount): leave it


class NotARegularFile(OSError):
    """A path that exists but is no regular file (a FIFO, a folder, a device)."""


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
"""Never block in ``open``: a FIFO named like a transcript would wait for a writer forever."""


def open_regular(path: str | Path) -> tuple[int, os.stat_result] | None:
    """Open ``path`` for reading without blocking, and check with ``fstat`` that it is a regular file.

    Returns (fd, stat) -- the caller closes fd -- or None when nothing is there (any
    more). Raises ``OSError`` when it exists but cannot be opened (permission, a symlink
    loop...) and :class:`NotARegularFile` when it is a FIFO, a folder or a device: the
    check is on the opened descriptor, so a file swapped for a FIFO after it was listed
    is refused too. Every read of a file tokdash did not write goes through this.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not _stat.S_ISREG(st.st_mode):
        os.close(fd)
        import errno

        what = "a folder, not a file" if _stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise NotARegularFile(errno.EINVAL, what, str(path))
    return fd, st


def read_regular(path: str | Path, limit: int | None = None, *, tail: bool = False) -> bytes | None:
    """The bytes of a regular file (at most ``limit``; with ``tail`` the last ``limit``), or None
    when it does not exist. Raises ``OSError`` (see :func:`open_regular`)."""
    opened = open_regular(path)
    if opened is None:
        return None
    fd, st = opened
    try:
        if limit is not None and tail and st.st_size > limit:
            os.lseek(fd, st.st_size - limit, os.SEEK_SET)
        chunks, total = [], 0
        while limit is None or total < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
