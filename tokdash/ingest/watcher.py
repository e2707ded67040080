"""Live: turn file-system events under the agents' folders into files to re-read.

``watchfiles.awatch`` debounces 1,600 ms by default, far too slow for a live view;
here it runs with a short debounce and a stop event. A file created right after
its folder (Claude Code makes ``projects/<new-cwd>/`` and writes the first line
at once) is often missed by the inotify watch, which reaches the new folder too
late, so a folder-added event makes us scan that folder ourselves.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tokdash.ingest.discovery import Roots
from tokdash.ingest.reader import Reader
from tokdash.sources import SOURCES

DEBOUNCE_MS = 40
"""How long watchfiles gathers events before yielding them."""
STEP_MS = 10
"""How often watchfiles checks for new events while gathering."""
TAIL_SETTLE_SECONDS = 5.0
"""An unterminated last line that has not grown for this long is taken as complete."""


class Watcher:
    """Watches every root's transcript folders; yields (agent, path) lists of files that changed."""

    def __init__(self, roots: Roots) -> None:
        self.roots = roots
        self._dirs: list[tuple[str, Path]] = []

    def watch_dirs(self) -> list[tuple[str, Path]]:
        """(agent, dir) to watch: each agent's transcript folders, or the root itself while
        those do not exist yet (so a first session creating ``projects/`` is seen)."""
        out: list[tuple[str, Path]] = []
        for agent, roots in self.roots.by_agent.items():
            found = SOURCES[agent].scan_roots(roots)
            if found:
                out += [(agent, d) for d in found]
            else:
                out += [(agent, r) for r in roots if r.is_dir()]
        self._dirs = out
        return out

    def agent_of(self, path: Path) -> str | None:
        """Which agent's folder ``path`` lies under (longest match wins)."""
        best, best_len = None, -1
        sp = str(path)
        for agent, d in self._dirs:
            ds = str(d)
            if (sp == ds or sp.startswith(ds + os.sep)) and len(ds) > best_len:
                best, best_len = agent, len(ds)
        return best

    def classify(self, raw: list[str]) -> list[tuple[str, Path]]:
        """Changed paths to transcript files to read (those the agent's source claims); a new
        folder is scanned for files."""
        out: dict[str, tuple[str, Path]] = {}
        for p in raw:
            path = Path(p)
            agent = self.agent_of(path)
            if agent is None:
                continue
            source = SOURCES[agent]
            if source.claims(path):
                if os.path.isfile(p):
                    out[p] = (agent, path)
            elif os.path.isdir(p):
                for dirpath, _dirs, names in os.walk(p):
                    for n in names:
                        f = Path(dirpath) / n
                        if source.claims(f):
                            out[str(f)] = (agent, f)
        return list(out.values())

    async def changes(self, stop: asyncio.Event | None = None) -> AsyncIterator[list[tuple[str, Path]]]:
        """Yield batches of changed transcript files until ``stop`` is set."""
        from watchfiles import Change, awatch

        dirs = self.watch_dirs()
        if not dirs:
            return
        async for events in awatch(
            *[d for _a, d in dirs],
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop,
            watch_filter=None,
            recursive=True,
        ):
            raw = sorted({p for change, p in events if change != Change.deleted})
            if raw:
                batch = self.classify(raw)
                if batch:
                    yield batch


def settled_tails(reader: Reader, now: float | None = None, age: float = TAIL_SETTLE_SECONDS) -> list[str]:
    """Files whose unterminated last line has not grown for ``age`` seconds: read them with finalize."""
    now = time.time() if now is None else now
    return [p for p, st in reader.files.items() if st.size > st.offset and now - st.mtime >= age]
