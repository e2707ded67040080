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
        """Changed paths to transcript files to read: the file each agent's source maps the
        change to (the path itself, a database for its ``-wal``, a session for one of its
        message files); a new folder is scanned for files."""
        out: dict[str, tuple[str, Path]] = {}
        for p in raw:
            try:
                self._classify_one(p, out)
            except (OSError, ValueError):
                continue  # one odd name (or a folder gone meanwhile) must not stop the others
        return list(out.values())

    def _classify_one(self, p: str, out: dict[str, tuple[str, Path]]) -> None:
        path = Path(p)
        agent = self.agent_of(path)
        if agent is None:
            return
        source = SOURCES[agent]
        target = source.file_for_change(path)
        if target is not None:
            if os.path.isfile(target):
                out[str(target)] = (agent, target)
        elif os.path.isdir(p):
            for dirpath, _dirs, names in os.walk(p):
                for n in names:
                    f = Path(dirpath) / n
                    if source.claims(f):
                        out[str(f)] = (agent, f)

    async def changes(self, stop: asyncio.Event | None = None) -> AsyncIterator[list[tuple[str, Path]]]:
        """Yield batches of changed transcript files until ``stop`` is set.

        Folders whose source reads only the files directly in them (a database beside
        large unrelated trees) are watched without their subfolders, by a second watch.
        """
        dirs = self.watch_dirs()
        if not dirs:
            return
        deep = [d for a, d in dirs if SOURCES[a].watch_recursively(d)]
        shallow = [d for a, d in dirs if not SOURCES[a].watch_recursively(d)]
        groups = [(paths, flag) for paths, flag in ((deep, True), (shallow, False)) if paths]
        if len(groups) == 1:
            async for batch in self._watch(*groups[0], stop):
                yield batch
            return
        queue: asyncio.Queue = asyncio.Queue()

        async def pump(paths: list[Path], recursive: bool) -> None:
            try:
                async for batch in self._watch(paths, recursive, stop):
                    await queue.put(batch)
            finally:
                await queue.put(None)

        tasks = [asyncio.ensure_future(pump(paths, flag)) for paths, flag in groups]
        try:
            running = len(tasks)
            while running:
                batch = await queue.get()
                if batch is None:
                    running -= 1
                else:
                    yield batch
        finally:
            for t in tasks:
                t.cancel()

    async def _watch(self, paths: list[Path], recursive: bool,
                     stop: asyncio.Event | None) -> AsyncIterator[list[tuple[str, Path]]]:
        from watchfiles import Change, awatch

        while True:
            try:
                async for events in awatch(
                    *paths,
                    debounce=DEBOUNCE_MS,
                    step=STEP_MS,
                    stop_event=stop,
                    watch_filter=None,
                    recursive=recursive,
                ):
                    raw = sorted({p for change, p in events if change != Change.deleted})
                    if raw:
                        batch = self.classify(raw)
                        if batch:
                            yield batch
                return
            except Exception as exc:  # noqa: BLE001 - only the one below is handled
                if not _undecodable_path(exc):
                    raise
            # watchfiles gives up on a file name that is not valid UTF-8, and the events of
            # that batch are lost: watch again, and have every file looked at once (only
            # what changed is read), so live updates go on for every session.
            if stop is not None and stop.is_set():
                return
            await asyncio.sleep(RESTART_SECONDS)
            batch = self.classify([str(d) for d in paths])
            if batch:
                yield batch


RESTART_SECONDS = 0.2
"""Pause before watching again after watchfiles failed on a file name."""


def _undecodable_path(exc: BaseException) -> bool:
    """watchfiles' error for a path it cannot decode (possibly inside an exception group)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_undecodable_path(e) for e in exc.exceptions)
    return isinstance(exc, RuntimeError) and "decode path" in str(exc)


def settled_tails(reader: Reader, now: float | None = None, age: float = TAIL_SETTLE_SECONDS) -> list[str]:
    """Files whose unterminated last line has not grown for ``age`` seconds: read them with finalize."""
    now = time.time() if now is None else now
    return [p for p, st in reader.files.items() if st.size > st.offset and now - st.mtime >= age]
