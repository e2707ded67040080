"""A feed update taken in slices leaves the catalog (and its fleet) as the update taken whole."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fleet_incremental import T0, summary

from tokdash.ingest.catalog import SessionCatalog
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.model.activity import CallSeries
from tokdash.model.heavy import HeavyThresholds

# The cost rule judges a session against the typical one, which moves slice by slice (the
# fleet's drift rule, as for sessions arriving one by one): off here, every other rule on.
THRESHOLDS = HeavyThresholds(min_history=10**9, rate_floor=0.5, min_fleet=1)
KEYS = [("a", f"s{n}") for n in range(40)]


def catalog() -> SessionCatalog:
    return SessionCatalog(clock=lambda: T0, thresholds=THRESHOLDS)


def update_of(draw_keys: list[int], removed: list[int], archived: list[int] | None, series: list[int], complete: bool,
              version: int, loaded: bool) -> FeedUpdate:
    summaries = {KEYS[n]: summary(n, f"/p/{n % 5}", float(n % 7) + version, T0 - 30 * n - version, False, n % 3 == 0,
                                  (), 0) for n in draw_keys}
    return FeedUpdate(summaries, {KEYS[n]: CallSeries([(T0 - 10, 100, 0.5 * (n % 4))]) for n in series},
                      {KEYS[n] for n in removed}, None if archived is None else frozenset(KEYS[n] for n in archived),
                      complete, progress=(version, 9), note=f"step {version}", loaded=loaded,
                      seconds=1.0 if loaded else None, pending=not loaded,
                      unreadable={f"/p/{version}.jsonl": "Permission denied"} if version % 2 else None)


IDS = st.lists(st.integers(0, 39), max_size=40, unique=True)
UPDATE = st.builds(update_of, IDS, st.lists(st.integers(0, 39), max_size=5), st.one_of(st.none(), IDS),
                   st.lists(st.integers(0, 39), max_size=12), st.booleans(), st.integers(0, 3), st.booleans())


def state(c: SessionCatalog) -> tuple:
    rows = {k: (r.status, r.burn, r.heavy, r.due, r.label, r.archived, r.haystack) for k, r in c.fleet.rows.items()}
    return (c._summaries, c._series, c.archived, c.loading, c.load_progress, c.load_note, c.load_seconds,
            c.records_pending, c.unreadable, rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(UPDATE, max_size=3), UPDATE, st.integers(1, 7))
def test_slices_applied_in_turn_equal_the_update_applied_whole(before, update, size):
    whole, sliced = catalog(), catalog()
    for u in before:
        whole.apply(u)
        sliced.apply(u)
    changed_whole = whole.apply(update)
    parts = sliced.slices(update, size)
    assert all(len(p.summaries) <= size for p in parts) and len(parts) == max(1, -(-len(update.summaries) // size))
    changed = [sliced.apply(p) for p in parts]
    assert state(sliced) == state(whole)
    assert set().union(*(c.sessions for c in changed)) >= changed_whole.sessions
    for key in changed_whole.sessions:  # every change still bumps the version (more often is fine)
        assert sliced.version(key) >= whole.version(key)


def test_files_that_could_not_be_read_are_a_change_of_state_and_one_line():
    c = catalog()
    assert c.apply(FeedUpdate(unreadable={"/a/x.jsonl": "Permission denied"})).state
    assert c.unreadable_notice() == "could not read /a/x.jsonl: Permission denied"
    assert not c.apply(FeedUpdate(unreadable={"/a/x.jsonl": "Permission denied"})).state  # no news
    assert not c.apply(FeedUpdate()).state and c.unreadable  # an update that does not say keeps them
    many = {f"/a/{n}.jsonl": "Permission denied" for n in range(7)}
    assert c.apply(FeedUpdate(unreadable=many)).state
    assert c.unreadable_notice() == "7 files could not be read (first /a/0.jsonl: Permission denied)"
    lines = c.unreadable_lines(most=5)
    assert lines[:5] == [f"could not read /a/{n}.jsonl: Permission denied" for n in range(5)]
    assert lines[5] == "… and 2 more files that could not be read"
    assert c.apply(FeedUpdate(unreadable={})).state and c.unreadable_notice() is None
