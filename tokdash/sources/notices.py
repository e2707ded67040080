"""Notices about transcript files a source could not read this time (a database that is
locked or half-migrated), one line each, until a later read succeeds.

A source's ``read`` hook returns None in that case (nothing new is known, nothing is
withdrawn) and states why here; the command line and the dashboard show ``current()``.
Thread-safe: feeds read on their own threads.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_current: dict[str, str] = {}


def post(path: str, text: str) -> None:
    """``path`` could not be read this time, for the reason ``text`` (one line)."""
    with _lock:
        _current[path] = text


def clear(path: str) -> None:
    """``path`` was read again: its notice is over."""
    with _lock:
        _current.pop(path, None)


def current() -> list[str]:
    """Every notice still standing, one line each, in path order."""
    with _lock:
        return [_current[p] for p in sorted(_current)]
