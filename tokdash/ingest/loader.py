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
    unreadable: dict[str, str] = field(default_factory=dict)
    """Files and folders that exist but could not be read, path -> why (see ``Loader.unreadable``)."""


class Loader:
    """Owns a Reader and a Store; reads files and merges their batches."""

    def __init__(self, roots: Roots, store: Store | None = None) -> None:
        self.roots = roots
        self.store = store if store is not None else Store()
        self.reader = Reader()
        self._renamed: dict[str, str] = {}
        """new path -> old path of renames seen by ``read_file``, withdrawn by ``merge``."""
        self._forked_unreadable: dict[str, str] = {}

    @property
    def unreadable(self) -> dict[str, str]:
        """What exists under the roots but could not be read, path -> why: what the last
        discovery skipped (``Roots.skipped``) and the files a read was refused."""
        return {**self.roots.skipped, **self._forked_unreadable, **self.reader.unreadable}

    def read_file(self, agent: str, path: Path | str, *, finalize: bool = False) -> Batch | None:
        """Read the new bytes of one file (no store change); safe to call off the UI thread.

        A file met under a new name that is a tracked file renamed (see
        ``Reader.renamed_from``) is followed under its new name from zero; ``merge`` then
        withdraws what its old name contributed.
        """
        key = str(path)
        old = self.reader.renamed_from(key)
        if old is not None:
            self.reader.forget(old)
            self._renamed[key] = old
        batch = self.reader.read(key, SOURCES[agent], finalize=finalize)
        if batch is None and old is not None:
            batch = Batch(path=key)  # still merged, so the old name is withdrawn
        return batch

    def merge(self, agent: str, batch: Batch) -> set[SessionKey]:
        """Merge a batch into the store (the single writer's job).

        Follows the store's withdrawal rule: a renamed file's old name is withdrawn, and
        the files the store asks to be offered again (``Store.reoffer``) are re-read.
        """
        changed: set[SessionKey] = set()
        old = self._renamed.pop(batch.path, None) if batch.path else None
        if old is not None:
            changed |= self.store.withdraw_file(old, agent)
        changed |= self.store.add_batch(batch, agent)
        return changed | self.reoffer()

    def reoffer(self) -> set[SessionKey]:
        """Offer again the records of the files the store asked for (see ``Store.reoffer``)."""
        changed: set[SessionKey] = set()
        store = self.store
        while store.reoffer:
            path = store.reoffer.pop()
            state = self.reader.files.get(path)
            batch = self.reader.reread(path) if state is not None else None
            if batch is not None:
                changed |= store.add_batch(batch, state.source.name)
        return changed

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
                self._forked_unreadable = {}
                result.changed = load_parallel(
                    self.store, partition(sized, n, PARENT_HANDICAP_BYTES if warm else 0), finalize=finalize,
                    warm=warm, unreadable=self._forked_unreadable,
                )
                result.files_read = len(sized)
                result.bytes_read = total
                result.unreadable = self.unreadable
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
        result.unreadable = self.unreadable
        return result
