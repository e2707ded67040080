"""Codex CLI's plan windows: the newest real ``rate_limits`` of its ``token_count`` events.

Every ``event_msg``/``token_count`` line of a rollout may carry ``payload.rate_limits``
(``{limit_id, primary: {used_percent, window_minutes, resets_at}, secondary: ..., credits,
plan_type}``): the official figures of the user's plan, as of that call. Finding the
newest one must stay cheap, since a dashboard asks again and again: rollouts are
ordered by modification time and only the *tail* of the newest ones is read (the last
snapshot of a file is near its end), growing the tail only when it holds none. A file
modified before the best snapshot found so far cannot hold a newer one, which ends
the search. Answers per file are kept while its size and mtime hold.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

import orjson

from tokdash.model.limits import PlanWindow, from_raw, real_windows
from tokdash.paths import open_regular
from tokdash.sources.base import parse_ts

TAIL = 256 * 1024
"""Bytes read first from the end of a rollout."""
MAX_TAIL = 4 * 1024 * 1024
"""The tail grows (doubling) up to this when it holds no real snapshot."""
MAX_FILES = 24
"""Rollouts looked into at most, newest first."""

_NOT_WINDOWS = frozenset({"limit_id", "limit_name", "credits", "plan_type"})

_lock = threading.Lock()
_memo: dict[str, tuple[int, float, tuple[float, list[dict]] | None]] = {}
"""path -> (size, mtime, newest real snapshot of the file: (seen at, raw windows) or None)."""


def plan_windows(agent: str, scan_dirs: Iterable[Path], now: float) -> list[PlanWindow]:
    """The windows of the newest real snapshot under the rollout folders ``scan_dirs``.

    ``now`` bounds what counts: a snapshot dated in the future (a wrong clock) is not
    newer than every real one.
    """
    best: tuple[float, list[dict]] | None = None
    for path, size, mtime in _newest_rollouts(scan_dirs)[:MAX_FILES]:
        if best is not None and mtime < best[0]:
            break  # last written before the best snapshot was taken: nothing newer in it
        snap = _file_snapshot(path, size, mtime, now)
        if snap is not None and (best is None or snap[0] > best[0]):
            best = snap
    if best is None:
        return []
    seen_at, raws = best
    windows = [w for w in (from_raw(agent, raw, seen_at) for raw in raws) if w is not None]
    return windows


def _newest_rollouts(scan_dirs: Iterable[Path]) -> list[tuple[str, int, float]]:
    """(path, size, mtime) of every rollout under the folders, most recently modified first."""
    out: list[tuple[str, int, float]] = []
    stack = [str(d) for d in scan_dirs]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.name.startswith("rollout-") and e.name.endswith(".jsonl") and e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    out.append((e.path, st.st_size, st.st_mtime))
            except OSError:
                continue
    out.sort(key=lambda t: (-t[2], t[0]))
    return out


def _file_snapshot(path: str, size: int, mtime: float, now: float) -> tuple[float, list[dict]] | None:
    with _lock:
        hit = _memo.get(path)
    if hit is not None and hit[0] == size and hit[1] == mtime:
        return hit[2]
    snap = read_tail(path, size, now)
    with _lock:
        _memo[path] = (size, mtime, snap)
    return snap


def read_tail(path: str, size: int, now: float) -> tuple[float, list[dict]] | None:
    """The newest real snapshot in the end of one rollout: (seen at, raw windows), or None.

    Opened without blocking and checked to be a regular file (a FIFO named like a rollout
    must not hang a dashboard or a status line)."""
    try:
        opened = open_regular(path)
    except OSError:
        return None
    if opened is None:
        return None
    fd, st = opened
    size = st.st_size
    tail = TAIL
    try:
        while True:
            start = max(size - tail, 0)
            data = os.pread(fd, size - start, start)
            snap = newest_in(data, whole=start == 0, now=now)
            if snap is not None or start == 0 or tail >= MAX_TAIL:
                return snap
            tail *= 2
    except OSError:
        return None
    finally:
        os.close(fd)


def newest_in(data: bytes, *, whole: bool, now: float) -> tuple[float, list[dict]] | None:
    """The last real snapshot in ``data`` (lines of a rollout; the first is partial unless ``whole``)."""
    lines = data.split(b"\n")
    if not whole:
        lines = lines[1:]  # starts mid-line
    for line in reversed(lines):
        if b'"rate_limits"' not in line or b"token_count" not in line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        snap = snapshot_of(obj, now)
        if snap is not None:
            return snap
    return None


def snapshot_of(obj: object, now: float) -> tuple[float, list[dict]] | None:
    """(seen at, raw windows) of one decoded ``token_count`` line with real ``rate_limits``, else None.

    Windows are every object of ``rate_limits`` but its bookkeeping (``primary``,
    ``secondary`` today): classified later by ``window_minutes``, never by slot. A
    snapshot whose windows are all null or zero is a placeholder, not a reading.
    """
    if not isinstance(obj, dict) or obj.get("type") != "event_msg":
        return None
    payload = obj.get("payload")
    if not isinstance(payload, dict) or payload.get("type") != "token_count":
        return None
    limits = payload.get("rate_limits")
    if not isinstance(limits, dict):
        return None
    raws = [v for k, v in limits.items() if k not in _NOT_WINDOWS and isinstance(v, dict)]
    if not raws or not real_windows(raws):
        return None
    ts = parse_ts(obj.get("timestamp"))
    if ts is None or ts > now + 300:
        return None
    return ts, raws
