"""Turn ends (the agent finished its turn and waits for its human): one event per turn end,
dated by the line that says so, never from a sub-agent, for every agent's format."""

from __future__ import annotations

from pathlib import Path

from tests.unit.agent_builders import GeminiChat, OpenCodeData, QwenChat, gemini_chat_path, gemini_id, qwen_chat_path
from tests.unit.agent_builders import load as load_any
from tests.unit.builders import (
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    claude_subagent_path,
    codex_id,
    codex_rollout_path,
    epoch,
    load,
    sid,
)
from tokdash.model.store import Store
from tokdash.sources.base import parse_ts

CWD = "/home/dev/acme-api"


def _ends(store: Store) -> list:
    return sorted(((e.session_id, e.text, e.timestamp) for s in store.sessions.values() for e in s.events.values()
                   if e.kind == "turn_end"), key=lambda t: t[2])


def test_claude_2_1_system_lines_are_one_turn_end_keyed_by_the_turn(tmp_path):
    projects = tmp_path / "projects"
    s = ClaudeSession(sid(1), cwd=CWD)
    s.prompt("Fix the flaky test")
    s.response(blocks=[("text", "Looking."), ("tool_use", "Read", {"file_path": "a.py"})], stop_reason=None)
    s.tool_result("toolu_x")
    s.response(blocks=[("text", "Fixed.")], stop_reason=None)  # 2.1.x: streaming copies say null
    hook = s.system("stop_hook_summary", hookCount=1, hookInfos=[], hookErrors=[], preventedContinuation=False)
    s.system("turn_duration", durationMs=41000)
    s.prompt("Thanks, now the docs")
    s.response(blocks=[("text", "Done.")], stop_reason=None)
    last = s.system("turn_duration", durationMs=9000)
    store = load([s.write(claude_main_path(projects, CWD, sid(1)))])
    ends = _ends(store)
    # The first turn's two lines are one event, dated by the first; the second turn has its own.
    assert [(e[1], e[2]) for e in ends] == [("stop_hook_summary", parse_ts(hook["timestamp"])),
                                            ("turn_duration", parse_ts(last["timestamp"]))]


def test_claude_before_2_1_ends_a_turn_with_end_turn_on_the_final_copy(tmp_path):
    projects = tmp_path / "projects"
    s = ClaudeSession(sid(2), cwd=CWD, version="1.0.98")
    s.prompt("go")
    s.response(blocks=[("text", "a"), ("tool_use", "Bash", {"command": "ls"})], stop_reason="tool_use")
    s.tool_result("toolu_y")
    s.response(blocks=[("text", "b"), ("text", "c")], stop_reason="end_turn")  # earlier copy: null
    store = load([s.write(claude_main_path(projects, CWD, sid(2)))])
    assert [e[1] for e in _ends(store)] == ["end_turn"]


def test_claude_end_turn_and_its_system_lines_are_the_same_turn_end(tmp_path):
    projects = tmp_path / "projects"
    s = ClaudeSession(sid(3), cwd=CWD)
    s.prompt("go")
    s.response(blocks=[("text", "done")], stop_reason="end_turn")
    s.system("stop_hook_summary")
    s.system("turn_duration", durationMs=100)
    assert len(_ends(load([s.write(claude_main_path(projects, CWD, sid(3)))]))) == 1


def test_claude_subagents_never_end_the_human_s_turn(tmp_path):
    projects = tmp_path / "projects"
    sub = ClaudeSession(sid(4), cwd=CWD, agent_id="a1b2c3d")
    sub.response(blocks=[("text", "found")], stop_reason="end_turn")
    sub.system("turn_duration", durationMs=5)
    main = ClaudeSession(sid(5), cwd=CWD)
    main.response(blocks=[("text", "x")], stop_reason="end_turn", sidechain=True, agent_id="inline")
    store = load([sub.write(claude_subagent_path(projects, CWD, sid(4), "a1b2c3d")),
                  main.write(claude_main_path(projects, CWD, sid(5)))])
    assert _ends(store) == []


def test_codex_task_complete_and_turn_aborted(tmp_path):
    home = tmp_path / "codex"
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("go")
    r.call()
    r._line("event_msg", {"type": "task_complete", "turn_id": "t-1", "last_agent_message": "done"})
    r.user("again")
    r.call()
    r._line("event_msg", {"type": "turn_aborted", "reason": "interrupted"})
    store = load([r.write(codex_rollout_path(home, r.session_id))])
    assert [e[1] for e in _ends(store)] == ["task_complete", "turn_aborted"]


def test_codex_subagent_threads_and_replays_never_end_a_turn(tmp_path):
    home = tmp_path / "codex"
    parent = CodexRollout(codex_id(2))
    parent.session_meta()
    parent.call()
    parent._line("event_msg", {"type": "task_complete", "turn_id": "t-9"})
    child = CodexRollout(codex_id(3), parent_thread_id=parent.session_id, clock=100.0)
    child.session_meta()
    child.call()
    child._line("event_msg", {"type": "task_complete", "turn_id": "t-10"})
    fork = CodexRollout(codex_id(4), forked_from=parent.session_id, clock=200.0)
    fork.session_meta()
    fork.replay(parent, restamp=False)
    store = load([parent.write(codex_rollout_path(home, parent.session_id)),
                  child.write(codex_rollout_path(home, child.session_id, 100.0)),
                  fork.write(codex_rollout_path(home, fork.session_id, 200.0))])
    assert [(e[0], e[1]) for e in _ends(store)] == [(parent.session_id, "task_complete")]


def test_the_new_agents_turn_ends(tmp_path):
    g = GeminiChat(gemini_id(1))
    g.meta()
    g.user("go")
    g.respond(text="All done.")
    q = QwenChat("7c1e9a20-3b4d-4e5f-8a6b-0123456789ab")
    q.user("go")
    q.assistant(tools=[("read_file", {"absolute_path": "a"})])
    q.assistant()
    oc = OpenCodeData(tmp_path / "opencode")
    oc.session("ses_1")
    oc.user("ses_1", "go")
    oc.assistant("ses_1", finish="tool-calls")
    oc.assistant("ses_1", finish="stop")
    oc.close()
    store = load_any([g.write(gemini_chat_path(tmp_path / "gemini", "p", g.session_id)),
                      q.write(qwen_chat_path(tmp_path / "qwen", "p", q.session_id)),
                      Path(oc.db_path)])
    assert sorted((e[0], e[1]) for e in _ends(store)) == sorted(
        [(g.session_id, "stop"), (q.session_id, "stop"), ("ses_1", "stop")])


def test_a_resumed_session_s_copied_history_keeps_its_turn_ends_where_they_happened(tmp_path):
    """A resumed session copies its parent's lines (their ``sessionId`` the parent's): the
    copied turn ends are the parent's, never the resuming session's first activity."""
    projects = tmp_path / "projects"
    parent = ClaudeSession(sid(6), cwd=CWD)
    parent.prompt("go")
    parent.response(blocks=[("text", "done")], stop_reason=None)
    parent.system("turn_duration", durationMs=10)
    child = ClaudeSession(sid(7), cwd=CWD, clock=3600.0)
    child.copy_lines(parent.lines)
    child.prompt("and now the docs")
    child.response(blocks=[("text", "ok")], stop_reason=None)
    child.system("turn_duration", durationMs=10)
    for files in ([parent, child], [child]):  # with the parent's file, and without it
        store = load([s.write(claude_main_path(projects, CWD, s.session_id)) for s in files])
        ends = _ends(store)
        assert [e[0] for e in ends] == [s.session_id for s in files]
        assert all(e[2] >= epoch(3600) for e in ends if e[0] == sid(7))
