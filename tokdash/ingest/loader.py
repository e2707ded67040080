"""Loading: read every discovered file into a Store, once or incrementally."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.reader import Reader
from tokdash.model.records import Batch
from tokdash.model.store import SessionKey, Store
from tokdash.sources import SOURCES


@dataclass(slots=True)
class LoadResult:
    """What one pass over the files changed."""

    changed: set[SessionKey] = field(default_factory=set)
    files_read: int = 0
    bytes_read: int = 0


class Loader:
    """Owns a Reader and a Store; reads files and merges their batches."""

    def __init__(self, roots: Roots, store: Store | None = None) -> None:
        self.roots = roots
        self.store = store if store is not None else Store()
        self.reader = Reader()

    def read_file(self, agent: str, path: Path | str, *, finalize: bool = False) -> Batch | None:
        """Read the new bytes of one file (no store change); safe to call off the UI thread."""
        return self.reader.read(path, SOURCES[agent], finalize=finalize)

    def merge(self, agent: str, batch: Batch) -> set[SessionKey]:
        """Merge a batch into the store (the single writer's job)."""
        return self.store.add_batch(batch, agent)

    def load_all(self, *, finalize: bool = True, jobs: int | None = 1, warm=None) -> LoadResult:
        """Discover and read every file once, merging as it goes.

        ``jobs`` > 1 (or None: one per core) reads in forked workers when there are
        enough bytes to be worth it; that path is for one-shot commands only, since
        the per-file read offsets stay in the workers. ``warm`` runs meanwhile.
        """
        result = LoadResult()
        files = discover(self.roots)
        if jobs != 1 and not self.reader.files:
            from tokdash.ingest.parallel import PARENT_HANDICAP_BYTES, load_parallel, partition, worker_count

            sized = []
            for agent, path in files:
                try:
                    sized.append((agent, path, os.path.getsize(path)))
                except OSError:
                    continue
            total = sum(s for _a, _p, s in sized)
            n = worker_count(total, jobs)
            if n > 1:
                result.changed = load_parallel(
                    self.store, partition(sized, n, PARENT_HANDICAP_BYTES if warm else 0), finalize=finalize, warm=warm
                )
                result.files_read = len(sized)
                result.bytes_read = total
                return result
        if warm is not None:
            warm()
        for agent, path in files:
            before = self.reader.files.get(str(path))
            start = before.offset if before else 0
            batch = self.read_file(agent, path, finalize=finalize)
            if batch is None:
                continue
            result.files_read += 1
            state = self.reader.files[str(path)]
            result.bytes_read += max(state.offset - start, 0)
            result.changed |= self.merge(agent, batch)
        return result
