"""Project labels that tell projects apart: the shortest unique tail of each working directory.

Five projects all called ``cli`` and worktrees called ``2`` and ``3`` read the same in a
table by their last folder name. :func:`project_labels` gives each path the fewest
trailing components that no other path shares (``api/cli``, ``tools/cli``), and never
stops at a bare number or a one- or two-letter name (``worktrees/2``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEP = re.compile(r"[\\/]+")


def _parts(path: str) -> list[str]:
    return [p for p in _SEP.split(path.strip()) if p]


def _too_short(name: str) -> bool:
    return name.isdigit() or len(name) <= 2


def project_labels(paths: Iterable[str]) -> dict[str, str]:
    """Each distinct path -> its label (``"?"`` for an empty path)."""
    distinct = sorted(set(paths))
    parts = {p: _parts(p) for p in distinct}
    out: dict[str, str] = {}
    depth = {p: 1 for p in distinct}
    pending = [p for p in distinct if parts[p]]
    for p in distinct:
        if not parts[p]:
            out[p] = p or "?"
    while pending:
        tails: dict[tuple[str, ...], list[str]] = {}
        for p in pending:
            tails.setdefault(tuple(parts[p][-depth[p]:]), []).append(p)
        nxt: list[str] = []
        for tail, owners in tails.items():
            for p in owners:
                whole = depth[p] >= len(parts[p])
                if (len(owners) == 1 and not _too_short(tail[0])) or whole:
                    out[p] = "/".join(tail) if not whole else "/".join(parts[p])
                    if whole and p.startswith(("/", "\\")) and len(owners) > 1:
                        out[p] = p  # the whole path is all that tells it apart
                else:
                    depth[p] += 1
                    nxt.append(p)
        pending = nxt
    return out
