"""The store: global dedup with replacement, ownership, aliases, events; order independence."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import prices
from tokdash.model.records import Batch, Call, Event, SessionMeta, ToolUse, Usage
from tokdash.model.session import summarize
from tokdash.model.store import Store

A, B, C = "sess-a", "sess-b", "sess-c"


def call(key, session=A, *, total=(1, 10, 0, 0, 100), rank=(0, 0.0, "f", 0), replica=False, msg=None,
         tools=None, open=False, agent_id=None, ts=1_770_000_000.0, model="claude-opus-4-6") -> Call:
    inp, out, w5, w1, rd = total
    return Call(key=key, session_id=session, model=model, timestamp=ts,
                usage=Usage(input=inp, output=out, cache_write_5m=w5, cache_write_1h=w1, cache_read=rd),
                rank=rank, sidechain=replica, replica=replica, agent_id=agent_id, msg_id=msg,
                tools=tools or {}, open=open)


def batch(*calls, events=(), metas=()) -> Batch:
    return Batch(calls=list(calls), events=list(events), metas=list(metas))


def owned(store: Store) -> dict[str, tuple[int, int]]:
    """session -> (api calls, total tokens), from the store's membership."""
    out = {}
    for (_agent, sid), s in store.sessions.items():
        out[sid] = (len(s.slots), sum(slot.best.usage.total for slot in s.slots.values()))
    return out


def test_a_larger_copy_replaces_a_smaller_one_in_either_order():
    small = call(("claude", "m1", "r1"), total=(3, 5, 0, 0, 1000), rank=(0, 0.0, "a", 10))
    big = call(("claude", "m1", "r1"), total=(3, 250, 0, 0, 1000), rank=(0, 0.0, "a", 90))
    for first, second in ((small, big), (big, small)):
        store = Store()
        store.add_batch(batch(first), "claude")
        changed = store.add_batch(batch(second), "claude")
        assert owned(store) == {A: (1, 1253)}
        assert changed == ({("claude", A)} if second is big else set())
        assert store.slots[("claude", "m1", "r1")].best is big


def test_equal_copies_keep_the_one_with_the_smallest_rank_and_its_session():
    first = call(("k",), A, rank=(0, 100.0, "/p/a.jsonl", 5))
    copy = call(("k",), B, rank=(1, 50.0, "/p/b.jsonl", 5))  # non-native: copied into B
    for order in ((first, copy), (copy, first)):
        store = Store()
        for c in order:
            store.add_batch(batch(c), "claude")
        assert owned(store)[A] == (1, 111) and owned(store).get(B, (0, 0)) == (0, 0)


def test_ownership_moves_when_a_better_copy_from_another_session_arrives():
    side = call(("claude", "m1", "r1"), B, total=(9, 900, 0, 0, 0), replica=True, msg="m1", agent_id="a1")
    main = call(("claude", "m1", "r1"), A, total=(9, 100, 0, 0, 0), msg="m1")
    store = Store()
    store.add_batch(batch(side), "claude")
    assert owned(store) == {B: (1, 909)}
    vb = store.sessions[("claude", B)].version
    changed = store.add_batch(batch(main), "claude")
    assert changed == {("claude", A), ("claude", B)}
    assert owned(store) == {A: (1, 109), B: (0, 0)}
    assert store.sessions[("claude", B)].version > vb
    assert summarize(store.sessions[("claude", A)], prices()).subagents == []


def test_replica_with_the_same_message_id_and_another_key_is_the_same_call():
    """The /btw rule: a sidechain copy under a new request id is an alias of the call."""
    main = call(("claude", "m1", "r1"), A, total=(5, 50, 0, 0, 500), msg="m1")
    aside = call(("claude", "m1", "r9"), A, total=(5, 80, 0, 0, 500), msg="m1", replica=True, rank=(0, 0.0, "f", 1))
    later = call(("claude", "m1", "r9"), A, total=(5, 99, 0, 0, 500), msg="m1", replica=True, rank=(0, 0.0, "f", 2))
    for order in itertools.permutations((main, aside, later)):
        store = Store()
        for c in order:
            store.add_batch(batch(c), "claude")
        assert owned(store) == {A: (1, 555)}
        assert store.slots[("claude", "m1", "r9")] is store.slots[("claude", "m1", "r1")]  # alias


def test_two_main_chain_copies_with_the_same_message_id_are_two_calls():
    one = call(("claude", "m1", "r1"), msg="m1")
    two = call(("claude", "m1", "r2"), msg="m1", total=(1, 1, 0, 0, 1))
    store = Store()
    store.add_batch(batch(one, two), "claude")
    assert owned(store) == {A: (2, 114)}


def test_tools_are_the_union_over_copies_and_open_clears_on_a_closed_copy():
    k = ("claude", "m1", "r1")
    c1 = call(k, tools={"t1": ToolUse("Read", "/a.py", True)}, open=True, total=(1, 2, 0, 0, 0))
    c2 = call(k, tools={"t2": ToolUse("Edit", "/a.py")}, open=True, total=(1, 5, 0, 0, 0))
    c3 = call(k, tools={"t1": ToolUse("Read", "/a.py", True)}, open=False, total=(1, 3, 0, 0, 0))
    store = Store()
    for c in (c1, c2, c3):
        store.add_batch(batch(c), "claude")
    slot = store.slots[k]
    assert set(slot.tools) == {"t1", "t2"} and slot.open is False
    assert slot.best is c2  # the largest total, even though c3 came later
    s = summarize(store.sessions[("claude", A)], prices())
    assert s.tool_uses == {"Read": 1, "Edit": 1} and s.open is False and s.usage.output == 5


def test_events_keep_the_smallest_rank_and_move_between_sessions():
    e_copy = Event(("claude-prompt", "u1"), B, "prompt", 10.0, (1, 0.0, "b", 0), "hello")
    e_orig = Event(("claude-prompt", "u1"), A, "prompt", 10.0, (0, 0.0, "a", 0), "hello")
    for order in ((e_copy, e_orig), (e_orig, e_copy)):
        store = Store()
        for e in order:
            store.add_batch(batch(events=[e]), "claude")
        assert store.events[("claude-prompt", "u1")] is e_orig
        assert list(store.sessions[("claude", A)].events) == [("claude-prompt", "u1")]
        sb = store.sessions.get(("claude", B))
        assert sb is None or not sb.events


def test_readding_a_batch_is_idempotent():
    metas = [SessionMeta(A, "claude", "/p/a.jsonl", cwd="/srv", bad_lines=2)]
    b = batch(call(("k1",)), call(("k2",), total=(2, 2, 2, 2, 2)),
              events=[Event(("p", 1), A, "prompt", 5.0, (0,), "x")], metas=metas)
    store = Store()
    store.add_batch(b, "claude")
    before = summarize(store.sessions[("claude", A)], prices()).to_json()
    store.add_batch(b, "claude")
    assert summarize(store.sessions[("claude", A)], prices()).to_json() == before
    assert store.bad_lines == {"/p/a.jsonl": 2}
    assert before["unreadable_lines"] == 2 and before["project"] == "/srv"


def test_sessions_of_two_agents_with_the_same_id_stay_apart():
    store = Store()
    store.add_batch(batch(call(("claude", "m", "r"), "same-id")), "claude")
    store.add_batch(batch(call(("codex", "same-id", (1, 0, 1, 0)), "same-id")), "codex")
    assert set(store.sessions) == {("claude", "same-id"), ("codex", "same-id")}


# --- property: the order records arrive in never changes the result -----------------

SESSIONS = [A, B, C]


@st.composite
def call_copies(draw):
    """Copies of a few calls, as real files produce them.

    Per call (one message id): at most one main-chain key (its copies are streaming
    snapshots, resumed copies...), plus replica copies under that key or under other
    request ids (/btw replays). Each copy has a distinct rank (file, offset) and a
    random session.
    """
    n_calls = draw(st.integers(1, 6))
    copies = []
    offset = itertools.count()
    for i in range(n_calls):
        msg = f"m{i}"
        for _ in range(draw(st.integers(1, 5))):
            replica = draw(st.booleans())
            req = "r0" if not replica else draw(st.sampled_from(["r0", "r1", "r2"]))
            total = tuple(draw(st.integers(0, 40)) for _ in range(5))
            copies.append(call(("claude", msg, req), draw(st.sampled_from(SESSIONS)), total=total, replica=replica,
                               msg=msg, rank=(draw(st.integers(0, 1)), float(draw(st.integers(0, 3))), "f",
                                              next(offset)),
                               agent_id="a1" if replica else None))
    return copies


def _oracle(copies: list[Call]) -> dict[str, tuple[int, int]]:
    """Independent model of the rules: one call per message id, best copy = main chain first,
    then the largest total, then the smallest rank; the call belongs to the best copy's session."""
    best: dict[str, Call] = {}
    for c in copies:
        b = best.get(c.msg_id)
        if b is None or (c.replica, -c.usage.total, c.rank) < (b.replica, -b.usage.total, b.rank):
            best[c.msg_id] = c
    out = {s: (0, 0) for s in SESSIONS}
    for c in best.values():
        n, t = out[c.session_id]
        out[c.session_id] = (n + 1, t + c.usage.total)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(copies=call_copies(), data=st.data())
def test_any_arrival_order_gives_the_oracle_totals(copies, data):
    order = data.draw(st.permutations(copies))
    batches = data.draw(st.integers(1, 3))
    store = Store()
    step = max(1, len(order) // batches)
    for i in range(0, len(order), step):
        store.add_batch(batch(*order[i : i + step]), "claude")
    got = {s: (0, 0) for s in SESSIONS}
    got.update(owned(store))
    assert got == _oracle(copies)
    # the lazily derived summaries agree with the membership
    for (_agent, sid), sess in store.sessions.items():
        summ = summarize(sess, prices())
        assert (summ.api_calls, summ.usage.total) == got[sid]


# --- withdrawal: a file re-read from zero counts what it holds now -------------------------

FILES = ["/p/f0.jsonl", "/p/f1.jsonl", "/p/f2.jsonl"]


def _in_files(copies: list[Call], draw) -> dict[str, list[Call]]:
    files: dict[str, list[Call]] = {f: [] for f in FILES}
    for c in copies:
        f = draw(st.sampled_from(FILES))
        c.rank = (c.rank[0], c.rank[1], f, c.rank[3])
        c.file_path = f
        files[f].append(c)
    return files


def _offer_again(store: Store, files: dict[str, list[Call]]) -> None:
    """What the ingest layer does with ``store.reoffer``: read those files again, offer their records."""
    while store.reoffer:
        path = store.reoffer.pop()
        store.add_batch(Batch(path=path, calls=list(files[path])), "claude")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(copies=call_copies(), data=st.data())
def test_a_file_replaced_by_other_content_gives_a_fresh_reads_totals(copies, data):
    files = _in_files(copies, data.draw)
    store = Store()
    for f in data.draw(st.permutations(FILES)):
        store.add_batch(Batch(path=f, calls=list(files[f])), "claude")
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(FILES))
        # the new content: some of what it held, some copies it never held (a replaced file)
        pool = [c for cs in files.values() for c in cs]
        new = data.draw(st.lists(st.sampled_from(pool), max_size=6, unique_by=id)) if pool else []
        fresh = []
        for c in new:
            d = call(c.key, c.session_id, total=(c.usage.input, c.usage.output, c.usage.cache_write_5m,
                                                 c.usage.cache_write_1h, c.usage.cache_read),
                     replica=c.replica, msg=c.msg_id, rank=(c.rank[0], c.rank[1], target, c.rank[3]),
                     agent_id=c.agent_id)
            d.file_path = target
            fresh.append(d)
        files[target] = fresh
        store.add_batch(Batch(path=target, replaces_file=True, calls=list(fresh)), "claude")
        _offer_again(store, files)
    current = [c for cs in files.values() for c in cs]
    got = {s: (0, 0) for s in SESSIONS}
    got.update(owned(store))
    assert got == _oracle(current)


def test_withdrawing_the_best_copy_falls_back_to_a_resumed_sessions_copy():
    """A resumed session (B) holds a copy of A's call: when A's file stops holding it, B owns it."""
    orig = call(("claude", "m1", "r1"), A, total=(5, 50, 0, 0, 500), rank=(0, 1.0, "/p/a.jsonl", 10), msg="m1")
    orig.file_path = "/p/a.jsonl"
    copy = call(("claude", "m1", "r1"), B, total=(5, 50, 0, 0, 500), rank=(1, 2.0, "/p/b.jsonl", 3), msg="m1")
    copy.file_path = "/p/b.jsonl"
    prompt = Event(("p", "u1"), A, "prompt", 5.0, (0, 1.0, "/p/a.jsonl", 1), "hi")
    prompt_copy = Event(("p", "u1"), B, "prompt", 5.0, (1, 2.0, "/p/b.jsonl", 1), "hi")
    store = Store()
    store.add_batch(Batch(path="/p/a.jsonl", calls=[orig], events=[prompt],
                          metas=[SessionMeta(A, "claude", "/p/a.jsonl")]), "claude")
    store.add_batch(Batch(path="/p/b.jsonl", calls=[copy], events=[prompt_copy],
                          metas=[SessionMeta(B, "claude", "/p/b.jsonl")]), "claude")
    assert owned(store) == {A: (1, 555), B: (0, 0)}
    changed = store.add_batch(Batch(path="/p/a.jsonl", replaces_file=True), "claude")  # a.jsonl is empty now
    assert changed == {("claude", A)}
    assert ("claude", A) not in store.sessions  # nothing of A is left anywhere
    assert store.reoffer == {"/p/b.jsonl"}
    changed = store.add_batch(Batch(path="/p/b.jsonl", calls=[copy], events=[prompt_copy]), "claude")
    assert changed == {("claude", B)}
    assert owned(store) == {B: (1, 555)}
    assert store.sessions[("claude", B)].events[("p", "u1")] is prompt_copy


def test_withdrawing_a_lesser_copy_keeps_the_best_one_and_its_aliases_go_with_a_withdrawn_call():
    main = call(("claude", "m1", "r1"), A, total=(5, 50, 0, 0, 500), rank=(0, 0.0, "/p/a.jsonl", 1), msg="m1")
    main.file_path = "/p/a.jsonl"
    aside = call(("claude", "m1", "r9"), A, total=(5, 10, 0, 0, 500), rank=(0, 0.0, "/p/s.jsonl", 1), msg="m1",
                 replica=True)
    aside.file_path = "/p/s.jsonl"
    store = Store()
    store.add_batch(Batch(path="/p/a.jsonl", calls=[main]), "claude")
    store.add_batch(Batch(path="/p/s.jsonl", calls=[aside]), "claude")
    assert store.slots[("claude", "m1", "r9")] is store.slots[("claude", "m1", "r1")]
    store.add_batch(Batch(path="/p/s.jsonl", replaces_file=True), "claude")
    assert owned(store) == {A: (1, 555)} and not store.reoffer
    store.add_batch(Batch(path="/p/a.jsonl", replaces_file=True), "claude")
    assert store.slots == {} and store._by_msg == {} and store.sessions == {}
    assert store.reoffer == {"/p/s.jsonl"}  # it once held a copy: offering it again is harmless
