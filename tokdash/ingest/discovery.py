"""Where to look: the roots of each agent CLI, and the transcript files under them.

Everything agent-specific (default folders, layouts) comes from the sources in
``SOURCES``; this module only combines them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.sources import SOURCES


@dataclass(slots=True)
class Roots:
    """The roots to read, per agent, and what was wrong with any of them."""

    by_agent: dict[str, list[Path]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """One line per root that exists but cannot be read."""

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
