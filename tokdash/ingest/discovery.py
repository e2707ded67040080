"""Where to look: the roots of each agent CLI, and the transcript files under them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.sources import SOURCES
from tokdash.sources import claude, codex

_DEFAULT_ROOTS = {"claude": claude.default_roots, "codex": codex.default_roots}


@dataclass(slots=True)
class Roots:
    """The roots to read, per agent, and what was wrong with any of them."""

    by_agent: dict[str, list[Path]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """One line per root that exists but cannot be read."""

    def scan_dirs(self) -> list[tuple[str, Path]]:
        """(agent, folder) pairs that hold transcripts: Claude's ``projects/``, Codex's ``sessions/``."""
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
    claude_dirs: list[str] | None = None,
    codex_dirs: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Roots:
    """Roots for the chosen agents: flags win over the environment, which wins over defaults.

    A missing root is normal (many users run one agent only). A root that exists
    but cannot be listed is reported by name.
    """
    given = {"claude": claude_dirs, "codex": codex_dirs}
    roots = Roots()
    for agent in agents:
        if given.get(agent):
            paths = [Path(os.path.expanduser(p)) for p in given[agent]]
        else:
            paths = _DEFAULT_ROOTS[agent](env)
        roots.by_agent[agent] = paths
        for p in paths:
            if p.exists() and not os.access(p, os.R_OK | os.X_OK):
                roots.problems.append(f"cannot read {agent} folder {p}: permission denied")
            elif p.exists() and not p.is_dir():
                roots.problems.append(f"{agent} folder {p} is not a directory")
    return roots


def discover(roots: Roots) -> list[tuple[str, Path]]:
    """Every transcript file under the roots as (agent, path), newest first.

    Newest first so that a UI filling in a long history shows today's sessions
    before last month's.
    """
    found: list[tuple[float, str, Path]] = []
    seen: set[str] = set()
    for agent, top in roots.scan_dirs():
        for path in SOURCES[agent].files(top):
            try:
                real = os.path.realpath(path)
                mtime = os.stat(path).st_mtime
            except OSError:
                continue
            if real in seen:
                continue  # the same folder reached through two roots (a symlink, a repeated flag)
            seen.add(real)
            found.append((mtime, agent, path))
    found.sort(key=lambda t: (-t[0], str(t[2])))
    return [(agent, path) for _mtime, agent, path in found]
