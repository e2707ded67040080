"""A dashboard's index keeps what it loaded between syncs; it must still see what a fresh run sees.

``Index(live=True)`` (what ``IndexFeed`` makes) keeps the file rows, the sessions it loaded and
the archived flags between syncs, and learns what changed from its own sync unless another
connection wrote meanwhile. Property: over any sequence of file changes of the index property
test -- with, before some syncs, another tokdash syncing first (it consumes the new bytes, so
the live feed finds nothing new to read and must learn the change from the index) -- the
sessions a live feed has sent add up to what a living in-memory reader holds and to what a
fresh run of the index reports, archived flags included.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index_fixtures import PRICES, claude_call, claude_project, line, normalized, roots_for, run_index, write
from test_index_property import World, ops
from tokdash.ingest import index_feed
from tokdash.ingest.discovery import discover
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.ingest.index import Index
from tokdash.ingest.index.live import data_version
from tokdash.ingest.index_feed import IndexFeed
from tokdash.ingest.loader import Loader
from tokdash.model.session import summarize


class View:
    """What a catalog holds after taking in a feed's updates."""

    def __init__(self) -> None:
        self.summaries: dict = {}
        self.archived: set = set()

    def take(self, u: FeedUpdate) -> None:
        if u.complete:
            self.summaries.clear()
        self.summaries.update(u.summaries)
        for k in u.removed:
            self.summaries.pop(k, None)
        if u.archived is not None:
            self.archived = set(u.archived)


def _existing(world: World) -> list:
    return [("codex" if f == "rollout" else "claude", p) for f, p in world.paths.items() if p.exists()]


_DELETE = [("call", "main1", 2, 0, 5), ("call", "main2", 2, 0, 7), ("run",), ("delete", "main2"), ("run",),
           ("call", "main1", 2, 0, 9), ("run",), ("restore", "main2"), ("run",)]
_COPY = [("call", "main1", 2, 0, 5), ("call", "main1", 2, 0, 6), ("run",), ("copy", "main1", "main2", 0), ("run",),
         ("shrink", "main1", 0), ("run",), ("rewrite", "main2"), ("run",)]
"""A copy met in another file changes no number, only the list of files holding the call:
that list must be stored, or the call is lost when its best file no longer holds it."""
_RENAME = [("call", "main1", 2, 0, 5), ("run",), ("rename", "main1"), ("run",), ("call", "main1", 1, 0, 8),
           ("run",), ("shrink", "main1", 50), ("run",)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.lists(st.booleans(), min_size=16, max_size=16))
@example(_DELETE, [False] * 16)
@example(_DELETE, [False, True] * 8)
@example(_RENAME, [False] * 16)
@example(_COPY, [False] * 16)
@example(_COPY, [False, False, True] + [False] * 13)  # the live feed stores the copy, another run withdraws
def test_a_live_feed_sees_what_a_fresh_run_and_a_living_reader_see(sequence, others_first):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = World(root)
        roots = roots_for(world.claude, world.codex)
        data = root / "data"
        old_look = index_feed.LOOK_SECONDS
        index_feed.LOOK_SECONDS = 0.0  # look at every known file on each tick
        feed = IndexFeed(roots, PRICES, data_dir=data)
        view = View()
        oracle = Loader(roots)
        try:
            feed.start(view.take, 0.0)
            runs = 0
            for op in [*sequence, ("run",)]:
                if op[0] != "run":
                    world.apply(op)
                    continue
                if others_first[runs % len(others_first)]:
                    run_index(roots, data)  # another tokdash reads the new bytes first
                runs += 1
                feed.refresh(_existing(world), view.take, 0.0)  # what the watcher reports
                feed.tick(view.take, 0.0)  # deletions are no watcher event
                oracle.load_all(finalize=True)
                living = [summarize(s, PRICES) for s in oracle.store.sessions.values()]
                assert normalized(list(view.summaries.values())) == normalized(living)
                fresh = run_index(roots, data)
                assert normalized(list(view.summaries.values())) == normalized(fresh.summaries)
                gone = {s.key for s in oracle.store.sessions.values()
                        if s.metas and not any(os.path.exists(p) for p in s.metas)}
                assert view.archived == gone == fresh.archived
                world.ran()
        finally:
            feed.close()
            index_feed.LOOK_SECONDS = old_look


def test_a_live_sync_reads_only_the_rows_and_sessions_it_needs(tmp_path, monkeypatch):
    """After the first sync, a live sync of one appended file reads no other file row, loads no
    session again, and knows what changed without a snapshot of every session."""
    from tokdash.ingest.index import queries, tables
    from tokdash.ingest.index.store import IndexStore

    claude = tmp_path / "claude"
    proj = claude_project(claude)
    paths = []
    for k in range(5):
        sid = f"ffff000{k}-0000-4000-8000-00000000000{k}"
        write(proj / f"{sid}.jsonl", claude_call(sid, t=k))
        paths.append((sid, proj / f"{sid}.jsonl"))
    roots = roots_for(claude)
    feed = IndexFeed(roots, PRICES, data_dir=tmp_path / "data")
    try:
        feed.start(lambda u: None, 0.0)
        sid, path = paths[2]
        write(path, claude_call(sid, t=50))
        feed.refresh([("claude", path)], lambda u: None, 0.0)  # loads that session once
        calls = {"rows": 0, "loads": 0, "snapshots": 0}
        real_rows, real_load, real_snap = tables.file_rows, IndexStore._load, queries.sessions_snapshot

        def count(name, fn):
            def counted(*a, **k):
                calls[name] += 1
                return fn(*a, **k)
            return counted

        monkeypatch.setattr(tables, "file_rows", count("rows", real_rows))
        monkeypatch.setattr(IndexStore, "_load", count("loads", real_load))
        monkeypatch.setattr(queries, "sessions_snapshot", count("snapshots", real_snap))
        got = []
        write(path, claude_call(sid, t=60))
        feed.refresh([("claude", path)], got.append, 0.0)
        assert calls == {"rows": 0, "loads": 0, "snapshots": 0}
        assert list(got[0].summaries) == [("claude", sid)] and got[0].summaries[("claude", sid)].api_calls == 3
    finally:
        feed.close()


def test_another_writer_makes_a_live_index_read_everything_again(tmp_path):
    claude = tmp_path / "claude"
    proj = claude_project(claude)
    sid = "abab0000-0000-4000-8000-000000000001"
    path = proj / f"{sid}.jsonl"
    write(path, claude_call(sid, t=0))
    roots = roots_for(claude)
    live = Index.for_roots(roots, tmp_path / "data", live=True)
    try:
        first = live.sync(discover(roots), full=False)
        assert first.others_wrote  # nothing known yet
        path.open("ab").write(b"".join(line(o) for o in claude_call(sid, t=5)))
        mine = live.sync([("claude", path)], full=False, others=False)
        assert not mine.others_wrote and mine.changed == {("claude", sid)}
        version = data_version(live.conn)
        path.open("ab").write(b"".join(line(o) for o in claude_call(sid, t=9)))
        run_index(roots, tmp_path / "data")  # another process reads it first
        theirs = live.sync([("claude", path)], full=False, others=False)
        assert data_version(live.conn) != version
        assert theirs.others_wrote and not theirs.changed  # nothing left to read: ask the index
        assert live.live is not None and live.live.store is None  # what it kept was dropped
    finally:
        live.close()
