"""The one policy, index or memory: a switch in the middle of a report never gives an empty answer."""

from __future__ import annotations

from builders import ClaudeSession, claude_main_path, prices, sid

from tokdash.ingest.discovery import resolve_roots
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.ingest.feeds import ResilientFeed
from tokdash.ingest.index import IndexUnavailable
from tokdash.ingest.index_feed import IndexFeed
from tokdash.ingest.memory_feed import MemoryFeed


class FailingLater(IndexFeed):
    """An index that answers the first read and then fails (the disk went away)."""

    def __init__(self) -> None:  # no real index behind it
        self.closed = False

    def read_once(self, recent_since=None) -> FeedUpdate:
        return FeedUpdate(complete=True, loaded=True)

    def facts(self, since, until):
        raise IndexUnavailable("disk I/O error")

    def detail(self, key):
        raise IndexUnavailable("disk I/O error")

    def close(self) -> None:
        self.closed = True


def tree(tmp_path):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(input=10, output=20)
    s.write(claude_main_path(tmp_path / "projects", s.cwd, s.session_id))
    return resolve_roots(["claude"], {"claude": [str(tmp_path)]})


def test_a_switch_during_a_history_report_reads_everything_first(tmp_path):
    roots = tree(tmp_path)
    said = []
    feed = ResilientFeed(FailingLater, lambda: MemoryFeed(roots, prices()), warn=said.append)
    feed.read_once()
    assert feed.indexed
    facts = feed.facts(None, None)
    assert not feed.indexed and any("cannot be used" in m for m in said)
    alone = MemoryFeed(roots, prices())
    alone.read_once()
    assert [(f.session_id, f.usage.total) for f in facts] == [(f.session_id, f.usage.total) for f in alone.facts(None, None)]
    assert facts and facts[0].usage.total == 30


def test_a_switch_during_a_detail_reads_everything_first(tmp_path):
    roots = tree(tmp_path)
    feed = ResilientFeed(FailingLater, lambda: MemoryFeed(roots, prices()), warn=lambda m: None)
    feed.read_once()
    detail = feed.detail(("claude", sid(1)))
    assert detail is not None and detail.summary.usage.total == 30
