"""Codex CLI rollouts: cumulative token_count events, forks, sub-agent threads, archives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builders import (
    CODEX_MODEL,
    CodexRollout,
    codex_id,
    codex_rollout_path,
    epoch,
    load,
    stamp,
    summaries,
    tokens,
    usage_dict,
)
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.sources import SOURCES
from tokdash.sources import codex as codex_mod


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "codex"
    h.mkdir()
    return h


def one(store):
    got = summaries(store)
    assert len(got) == 1, sorted(got)
    return next(iter(got.values()))


def started(sid: str, *, clock: float = 0.0, **kw) -> CodexRollout:
    r = CodexRollout(sid, clock=clock, **kw)
    r.session_meta()
    r.turn_context()
    return r


def test_input_excludes_cached_and_output_includes_reasoning(home):
    r = started(codex_id(1))
    r.user("add pagination")
    r.null_info()
    r.call(input=17_203, cached=3_456, output=358, reasoning=193)
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    u = got.usage
    assert (u.input, u.cache_read, u.output, u.reasoning) == (17_203 - 3_456, 3_456, 358, 193)
    assert u.cache_write == 0
    assert u.total == 17_203 + 358  # Codex's own total_tokens: input (incl. cached) + output
    j = got.to_json()
    assert j["reasoning_tokens"] == 193 and j["output_tokens"] == 358
    assert got.cache_hit_rate == pytest.approx(3_456 / 17_203)


def test_repeated_token_count_emits_count_once_and_null_info_is_skipped(home):
    r = started(codex_id(1))
    r.user("go")
    r.null_info()
    r.call(input=1000, cached=0, output=100, reasoning=10)
    r.repeat()
    r.repeat()
    r.tool("exec_command")
    r.null_info()
    r.call(input=2000, cached=900, output=50, reasoning=0)
    r.repeat()
    r.call(input=2100, cached=2000, output=70, reasoning=30)
    data = r.data()
    assert data.count(b'"type":"token_count","info":{') == 6
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    assert tokens(got) == usage_dict(r.expected, calls=3)
    assert got.prompts == 1 and got.tool_uses == {"exec_command": 1}


def test_model_comes_from_the_latest_turn_context(home):
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.user("x")
    r.call(input=10, cached=0, output=1, reasoning=0)  # before any turn_context: model unknown
    r.turn_context("gpt-5-codex")
    r.call(input=100, cached=0, output=10, reasoning=0)
    r.turn_context(CODEX_MODEL)
    r.call(input=200, cached=0, output=20, reasoning=0)
    r.call(input=300, cached=0, output=30, reasoning=0)
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    assert {m: t.calls for m, t in got.by_model.items()} == {
        codex_mod.UNKNOWN_MODEL: 1, "gpt-5-codex": 1, CODEX_MODEL: 2}
    assert got.by_model[CODEX_MODEL].usage.output == 50
    # an unknown model is shown as unpriced, never as $0
    assert got.unpriced_models == [codex_mod.UNKNOWN_MODEL] and got.cost_partial
    assert got.by_model["gpt-5-codex"].cost > 0


def test_session_metadata(home):
    r = started(codex_id(1), cwd="/srv/app")
    r.user("first prompt")
    r.call()
    r.user("second prompt")
    r.call()
    r.tool("apply_patch", custom=True)
    r._line("compacted", {"message": "", "replacement_history": []})
    r._line("event_msg", {"type": "context_compacted"})
    r._line("event_msg", {"type": "error", "message": "You've hit your usage limit. Try again later."})
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    assert got.session_id == codex_id(1) and got.agent == "codex"
    assert got.project == "/srv/app" and got.git_branch == "main" and got.cli_version == "0.104.0"
    assert got.title == "first prompt" and got.prompts == 2
    assert got.compactions == 1  # one compaction writes `compacted` and `context_compacted`
    assert got.rate_limits == 1
    assert got.tool_uses == {"apply_patch": 1}
    assert got.first_activity == epoch(6)  # the first prompt's event (+2 s per line)
    assert got.resume_command == f"codex resume {codex_id(1)}"


# --- forks -------------------------------------------------------------------------------


def _parent_and_fork(*, restamp: bool) -> tuple[CodexRollout, CodexRollout]:
    parent = started(codex_id(1), cwd="/srv/app")
    parent.user("design the schema")
    parent.call(input=12_000, cached=0, output=800, reasoning=300)
    parent.repeat()
    parent.tool()
    parent.call(input=14_000, cached=11_000, output=400, reasoning=100)
    parent.user("add indexes")
    parent.call(input=15_000, cached=13_500, output=650, reasoning=200)
    fork = CodexRollout(codex_id(2), cwd="/srv/app-experiment", clock=parent.clock + 600.0,
                        forked_from=parent.session_id)
    fork.session_meta()
    fork.replay(parent, restamp=restamp)  # the parent's whole history, session_meta included
    fork.turn_context()
    fork.user("try a document store instead")
    fork.call(input=16_000, cached=14_900, output=900, reasoning=350)
    fork.call(input=17_000, cached=15_800, output=300, reasoning=90)
    return parent, fork


@pytest.mark.parametrize("restamp", [False, True], ids=["original-times", "restamped-at-fork"])
@pytest.mark.parametrize("order", ["parent_first", "fork_first"])
def test_fork_replay_is_not_counted_twice_when_the_parent_is_present(home, order, restamp):
    parent, fork = _parent_and_fork(restamp=restamp)
    assert fork.data().count(b'"token_count"') > fork.calls + 1  # the replay really is in the file
    pp = parent.write(codex_rollout_path(home, parent.session_id))
    pf = fork.write(codex_rollout_path(home, fork.session_id, fork.clock))
    got = summaries(load([pp, pf] if order == "parent_first" else [pf, pp]))
    assert set(got) == {parent.session_id, fork.session_id}
    assert tokens(got[parent.session_id]) == usage_dict(parent.expected, calls=3)
    assert tokens(got[fork.session_id]) == usage_dict(fork.expected, calls=2)
    assert got[parent.session_id].prompts == 2 and got[fork.session_id].prompts == 1
    assert got[fork.session_id].forked_from == parent.session_id
    assert got[fork.session_id].project == "/srv/app-experiment" and got[parent.session_id].project == "/srv/app"
    assert got[fork.session_id].to_json()["forked_from"] == parent.session_id
    assert got[parent.session_id].tool_uses == {"exec_command": 1} and got[fork.session_id].tool_uses == {}


def test_fork_replay_dated_before_the_fork_is_skipped_without_the_parent(home):
    parent, fork = _parent_and_fork(restamp=False)
    got = one(load([fork.write(codex_rollout_path(home, fork.session_id, fork.clock))]))
    assert got.session_id == fork.session_id
    assert tokens(got) == usage_dict(fork.expected, calls=2)
    assert got.prompts == 1 and got.title == "try a document store instead"
    assert got.project == "/srv/app-experiment"  # its own session_meta, not the parent's replayed one
    assert got.first_activity >= epoch(fork.clock - 100)


def test_fork_of_a_fork(home):
    parent, fork = _parent_and_fork(restamp=True)
    grand = CodexRollout(codex_id(3), clock=fork.clock + 300.0, forked_from=fork.session_id)
    grand.session_meta()
    grand.replay(fork, restamp=True)
    grand.user("one more idea")
    grand.call(input=18_000, cached=17_000, output=100, reasoning=10)
    paths = [parent.write(codex_rollout_path(home, parent.session_id)),
             fork.write(codex_rollout_path(home, fork.session_id, fork.clock)),
             grand.write(codex_rollout_path(home, grand.session_id, grand.clock))]
    for order in (paths, paths[::-1], [paths[2], paths[0], paths[1]]):
        got = summaries(load(order))
        assert tokens(got[parent.session_id]) == usage_dict(parent.expected, calls=3)
        assert tokens(got[fork.session_id]) == usage_dict(fork.expected, calls=2)
        assert tokens(got[grand.session_id]) == usage_dict(grand.expected, calls=1)


# --- sub-agent threads -----------------------------------------------------------------------


@pytest.mark.parametrize("replay", [None, "original-times", "restamped"])
@pytest.mark.parametrize("order", ["parent_first", "thread_first"])
def test_subagent_thread_rolls_into_the_parent(home, order, replay):
    parent = started(codex_id(1))
    parent.user("review the PR with a helper")
    parent.call(input=9_000, cached=0, output=300, reasoning=100)
    parent.tool("spawn_agent")
    thread = CodexRollout(codex_id(9), clock=parent.clock + 5.0, parent_thread_id=parent.session_id)
    thread.session_meta()
    if replay:
        thread.replay(parent, restamp=replay == "restamped")
    thread.turn_context("gpt-5.1-codex-mini")
    thread.user("check the tests of the PR")
    thread.call(input=4_000, cached=1_000, output=200, reasoning=80)
    thread.call(input=5_000, cached=3_900, output=120, reasoning=20)
    parent.call(input=10_000, cached=8_900, output=250, reasoning=60)
    pp = parent.write(codex_rollout_path(home, parent.session_id))
    pt = thread.write(codex_rollout_path(home, thread.session_id, thread.clock))

    got = summaries(load([pp, pt] if order == "parent_first" else [pt, pp]))
    assert set(got) == {parent.session_id}  # the thread is no session of its own
    s = got[parent.session_id]
    expected = parent.expected.copy()
    expected.add(thread.expected)
    assert tokens(s) == usage_dict(expected, calls=4)
    assert [(a.agent_id, a.calls) for a in s.subagents] == [(thread.session_id, 2)]
    assert s.subagents[0].usage.total == thread.expected.total
    assert list(s.subagents[0].models) == ["gpt-5.1-codex-mini"]
    assert s.assistant_turns == 2
    assert s.prompts == 1  # the thread's task was written by the parent agent, not a human
    assert s.title == "review the PR with a helper"


# --- where -----------------------------------------------------------------------------------


def test_archived_sessions_are_read_too(home, isolated_env):
    live = started(codex_id(1))
    live.user("live")
    live.call(input=100, cached=0, output=10, reasoning=0)
    old = started(codex_id(2), clock=-86_400.0 * 3)
    old.user("archived")
    old.call(input=200, cached=50, output=20, reasoning=5)
    live.write(codex_rollout_path(home, live.session_id))
    archived = old.write(codex_rollout_path(home, old.session_id, old.clock, archived=True))
    assert "archived_sessions" in archived.parts
    loader = Loader(resolve_roots(["codex"], {"codex": [str(home)]}))
    loader.load_all()
    got = summaries(loader.store)
    assert set(got) == {live.session_id, old.session_id}
    assert tokens(got[old.session_id]) == usage_dict(old.expected, calls=1)


def test_a_rollout_in_both_sessions_and_archive_counts_once(home):
    r = started(codex_id(1))
    r.user("x")
    r.call(input=100, cached=10, output=10, reasoning=1)
    r.call(input=110, cached=100, output=12, reasoning=0)
    live = r.write(codex_rollout_path(home, r.session_id))
    arch = codex_rollout_path(home, r.session_id, archived=True)
    arch.parent.mkdir(parents=True)
    shutil.copy(live, arch)
    loader = Loader(resolve_roots(["codex"], {"codex": [str(home)]}))
    loader.load_all()
    got = one(loader.store)
    assert tokens(got) == usage_dict(r.expected, calls=2)
    assert got.prompts == 1
    assert sorted(got.paths) == sorted([str(live), str(arch)])


def test_codex_home_is_a_comma_list(tmp_path, isolated_env):
    assert SOURCES["codex"].default_roots({"CODEX_HOME": f"{tmp_path / 'a'},~/b"}) == [tmp_path / "a", isolated_env / "b"]
    assert SOURCES["codex"].default_roots({}) == [isolated_env / ".codex"]
    a = started(codex_id(1))
    a.call()
    a.write(codex_rollout_path(tmp_path / "a", a.session_id))
    b = started(codex_id(2))
    b.call()
    b.write(codex_rollout_path(isolated_env / "b", b.session_id))
    roots = resolve_roots(["codex"], env={"CODEX_HOME": f"{tmp_path / 'a'},~/b"})
    assert len(discover(roots)) == 2


def test_non_rollout_files_are_ignored(home):
    r = started(codex_id(1))
    r.call()
    r.write(codex_rollout_path(home, r.session_id))
    (home / "sessions" / "history.jsonl").write_bytes(r.data())
    (home / "sessions" / "2026" / "notes.json").write_text("{}")
    assert [p.name for _a, p in discover(resolve_roots(["codex"], {"codex": [str(home)]}))] == [
        codex_rollout_path(home, r.session_id).name]


def test_session_id_falls_back_to_the_file_name_without_session_meta(home):
    r = CodexRollout(codex_id(5))
    r.turn_context()
    r.call(input=10, cached=0, output=1, reasoning=0)
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    assert got.session_id == codex_id(5) and got.api_calls == 1


def test_two_sessions_with_equal_first_calls_stay_apart(home):
    """The call key holds the session: equal cumulative totals in unrelated sessions never merge."""
    a, b = started(codex_id(1)), started(codex_id(2))
    for r in (a, b):
        r.user("hi")
        r.call(input=5_000, cached=0, output=10, reasoning=0)
    got = summaries(load([a.write(codex_rollout_path(home, a.session_id)),
                          b.write(codex_rollout_path(home, b.session_id))]))
    assert got[a.session_id].api_calls == 1 and got[b.session_id].api_calls == 1


@pytest.mark.parametrize(
    "info",
    [
        {"total_token_usage": None, "last_token_usage": None},
        {"total_token_usage": {"input_tokens": None}, "last_token_usage": {"input_tokens": None}},
        {"last_token_usage": {"input_tokens": 50, "cached_input_tokens": 80, "output_tokens": "x"}},
        {"total_token_usage": "weird", "last_token_usage": []},
        "not a dict",
        [],
    ],
)
def test_odd_token_count_payloads_never_break_or_go_negative(home, info):
    r = started(codex_id(1))
    r.call(input=100, cached=10, output=5, reasoning=1)
    r._line("event_msg", {"type": "token_count", "info": info})
    r.call(input=100, cached=10, output=5, reasoning=1)
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    for v in tokens(got).values():
        assert v >= 0
    assert got.usage.input >= 180 and got.usage.output >= 10


def test_activity_times(home):
    r = started(codex_id(1))  # session_meta at +0 s, turn_context +2 s
    r.user("x")  # +4 s, +6 s
    r.call()  # +8 s
    r.null_info()  # +10 s: not an activity
    got = one(load([r.write(codex_rollout_path(home, r.session_id))]))
    j = got.to_json()
    assert (j["first_activity"], j["last_activity"]) == (stamp(6), stamp(8))
    assert got.duration == 2.0


def test_tool_outputs_are_measured_not_decoded_and_match_their_calls(home):
    """A function_call_output / custom_tool_call_output line becomes a ``tool_output`` event
    named by its call id (the last element of the tool event's key), sized without decoding."""
    r = started(codex_id(1))
    r.user("list the files")
    fc = r.tool("exec_command")
    cc = r.tool("apply_patch", custom=True)
    big = "x" * 50_000
    r._line("response_item", {"type": "function_call_output", "call_id": fc["payload"]["call_id"], "output": big})
    r._line("response_item", {"type": "custom_tool_call_output", "call_id": cc["payload"]["call_id"], "output": "ok"})
    r.call()
    store = load([r.write(codex_rollout_path(home, r.session_id))])
    session = next(iter(store.sessions.values()))
    tools = {str(e.key[-1]): e.text for e in session.events.values() if e.kind == "tool"}
    outputs = {e.text: e.value for e in session.events.values() if e.kind == "tool_output"}
    assert set(outputs) == set(tools) == {fc["payload"]["call_id"], cc["payload"]["call_id"]}
    assert 50_000 <= outputs[fc["payload"]["call_id"]] < 50_100
    assert outputs[cc["payload"]["call_id"]] < 100
    assert all(e.timestamp > 0 for e in session.events.values() if e.kind == "tool_output")


# --- lines written with spaces after the separators ----------------------------------------------


def test_lines_with_spaces_after_separators_are_not_missed(tmp_path):
    """``"type": "token_count"`` (Python's ``json.dumps``): the prefilter must not skip what
    decodes to a usage record, a prompt, a tool call or a turn end."""
    import json

    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("Migrate the runners")
    r.tool("exec_command")
    r.call(input=12000, cached=9000, output=300, reasoning=100)
    r.call(input=13000, cached=12000, output=50, reasoning=0)
    r._line("event_msg", {"type": "task_complete", "turn_id": "t-1"})
    compact = r.write(codex_rollout_path(tmp_path / "a", r.session_id))
    spaced = codex_rollout_path(tmp_path / "b", r.session_id)
    spaced.parent.mkdir(parents=True)
    spaced.write_text("".join(json.dumps(line) + "\n" for line in r.lines))
    assert b'"type": "token_count"' in spaced.read_bytes()
    a, b = (next(iter(summaries(load([p])).values())) for p in (compact, spaced))
    assert tokens(b) == tokens(a) and tokens(b)["api_calls"] == 2
    assert (b.prompts, b.tool_uses, b.models) == (a.prompts, a.tool_uses, a.models) == (1, {"exec_command": 1},
                                                                                           [CODEX_MODEL])
    ends = [e.text for x in load([spaced]).sessions.values() for e in x.events.values() if e.kind == "turn_end"]
    assert ends == ["task_complete"]
