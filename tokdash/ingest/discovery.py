"""Where to look: the roots of each agent CLI, and the transcript files under them.

Everything agent-specific (default folders, layouts) comes from the sources in
``SOURCES``; this module only combines them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.sources import SOURCES

MAX_DEPTH = 16
"""How deep below a scan root the check for unreadable folders goes (transcripts sit 1-4 deep)."""


@dataclass(slots=True)
class Roots:
    """The roots to read, per agent, and what was wrong with any of them."""

    by_agent: dict[str, list[Path]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """One line per root that exists but cannot be read."""
    skipped: dict[str, str] = field(default_factory=dict)
    """What the last :func:`discover` met under the roots but could not read, path -> why:
    folders without permission, transcript names that are no regular file (a FIFO, a
    folder, a device, a symlink loop), symlinked folders (never followed: a link out of
    an agent's folder could lead anywhere, or back into itself). Sessions whose files sit
    there keep their history; nothing there is marked deleted."""

    def scan_dirs(self) -> list[tuple[str, Path]]:
        """(agent, folder) pairs that hold transcripts: each source's ``scan_roots`` of its roots."""
        out = []
        for agent, roots in self.by_agent.items():
            for d in SOURCES[agent].scan_roots(roots):
                out.append((agent, d))
        return out

    def describe(self) -> list[str]:
        """Human lines naming every place looked at."""
        return [f"{agent}: {r}" for agent, roots in self.by_agent.items() for r in roots]


def resolve_roots(
    agents: list[str],
    dirs: Mapping[str, list[str] | None] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Roots:
    """Roots for the chosen agents: flags win over the environment, which wins over defaults.

    ``dirs`` maps an agent's name to the folders given for it (``--<name>-dir``); an
    agent with none given (absent, None or empty) gets its source's ``default_roots(env)``.
    A missing root is normal (many users run one agent only). A root that exists
    but cannot be listed is reported by name.
    """
    given = dict(dirs or {})
    roots = Roots()
    for agent in agents:
        source = SOURCES[agent]
        folders = given.get(agent)
        paths = [Path(os.path.expanduser(p)) for p in folders] if folders else source.default_roots(env)
        roots.by_agent[agent] = paths
        for p in paths:
            # is_dir first: a plain file has no execute bit, and would read as "permission denied"
            if p.exists() and not p.is_dir():
                roots.problems.append(f"{agent} folder {p} is not a directory")
            elif p.exists() and not os.access(p, os.R_OK | os.X_OK):
                roots.problems.append(f"cannot read {agent} folder {p}: permission denied")
    return roots


def discover(roots: Roots) -> list[tuple[str, Path]]:
    """Every transcript file under the roots as (agent, path), newest first.

    Newest first so that a UI filling in a long history shows today's sessions
    before last month's. Only regular files are listed (a FIFO named like a transcript
    would hang a reader); what exists but cannot be read is left in ``roots.skipped``.
    """
    found: list[tuple[float, str, Path]] = []
    seen: set[tuple[int, int] | str] = set()
    skipped: dict[str, str] = {}
    for agent, top in roots.scan_dirs():
        source = SOURCES[agent]
        listed = _listed(source.files(top), skipped)
        if listed is None:  # the source's listing broke off: list what it claims, safely
            listed = [p for p in _walk(top, skipped) if source.claims(p)]
        else:
            _walk_dirs(top, skipped)
        for path in listed:
            try:
                st = os.stat(path)
            except OSError as exc:
                skipped[str(path)] = _why(exc)
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped[str(path)] = "a folder, not a file" if stat.S_ISDIR(st.st_mode) else "not a regular file"
                continue
            # The same file reached through two roots (a symlink, a repeated flag) is one file: its
            # device and inode say so without resolving every path component (realpath cost an
            # lstat per component, ~4,000 calls for 577 files).
            # (A file system without inode numbers, st_ino 0, is known by its path instead: two
            # different files must never look like one.)
            identity: tuple[int, int] | str = (st.st_dev, st.st_ino) if st.st_ino else str(path)
            if identity in seen:
                continue
            seen.add(identity)
            found.append((st.st_mtime, agent, path))
    found.sort(key=lambda t: (-t[0], str(t[2])))
    roots.skipped = skipped
    return [(agent, path) for _mtime, agent, path in found]


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _listed(paths: Iterable[Path], skipped: dict[str, str]) -> list[Path] | None:
    """The source's listing, or None when it raised (e.g. a symlink loop met by ``is_file``)."""
    out: list[Path] = []
    try:
        for p in paths:
            out.append(p)
    except OSError as exc:
        skipped[str(getattr(exc, "filename", None) or "?")] = _why(exc)
        return None
    return out


def _entries(folder: str, skipped: dict[str, str]) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except FileNotFoundError:
        return []
    except OSError as exc:
        skipped[folder] = _why(exc)
        return []


def _walk_dirs(top: Path, skipped: dict[str, str]) -> None:
    """Note the folders below ``top`` that cannot be listed or are symlinks (not followed)."""
    for _ in _walk(top, skipped, files=False):
        pass


def _walk(top: Path, skipped: dict[str, str], *, files: bool = True) -> Iterable[Path]:
    """Every regular-looking file below ``top`` (symlinks to folders not followed, errors noted,
    never raising): the safe listing used when a source's own listing fails."""
    stack = [(str(top), 0)]
    while stack:
        folder, depth = stack.pop()
        for e in _entries(folder, skipped):
            try:
                if e.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        stack.append((e.path, depth + 1))
                elif e.is_symlink():
                    try:
                        if e.is_dir():
                            skipped[e.path] = "a symlinked folder, not followed"
                            continue
                    except OSError as exc:
                        if files:
                            skipped[e.path] = _why(exc)
                        continue
                    if files:
                        yield Path(e.path)
                elif files:
                    yield Path(e.path)
            except OSError as exc:
                skipped[e.path] = _why(exc)
