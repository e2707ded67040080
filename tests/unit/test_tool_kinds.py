"""Tool kinds: each source tags every tool use it reads, and the tips decide by kind alone.

Transcripts are written in each CLI's own format with ``builders`` and read back through the
source and the store, so the kinds checked are the ones production code records.
"""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from tests.unit.builders import (
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    claude_subagent_path,
    codex_id,
    codex_rollout_path,
    load,
    prices,
    sid,
)
from tokdash.ingest.index import codec
from tokdash.model import insights
from tokdash.model.insights import tips
from tokdash.model.records import (
    EDIT,
    OTHER,
    READ,
    SEARCH,
    SUBAGENT,
    TOOL_KINDS,
    WRITE,
    Event,
    ToolUse,
)
from tokdash.model.session import summarize

CWD = "/home/dev/acme-api"

CLAUDE_TOOLS = {
    "Read": READ,
    "Edit": EDIT,
    "MultiEdit": EDIT,
    "NotebookEdit": EDIT,
    "Write": WRITE,
    "Grep": SEARCH,
    "Glob": SEARCH,
    "Task": SUBAGENT,
    "Agent": SUBAGENT,
    "Bash": OTHER,
    "WebFetch": OTHER,
    "WebSearch": OTHER,
    "TodoWrite": OTHER,
    "LS": OTHER,
    "mcp__github__create_issue": OTHER,
}
"""Every Claude Code tool the source knows, and a few it must call ``other``."""

CODEX_FUNCTIONS = {
    "apply_patch": EDIT,
    "read_file": READ,
    "grep_files": SEARCH,
    "list_dir": SEARCH,
    "spawn_agent": SUBAGENT,
    "spawn_agents_on_csv": SUBAGENT,
    "exec_command": OTHER,
    "write_stdin": OTHER,
    "shell": OTHER,
    "shell_command": OTHER,
    "update_plan": OTHER,
    "view_image": OTHER,
    "send_input": OTHER,
    "wait": OTHER,
    "close_agent": OTHER,
    "list_mcp_resources": OTHER,
    "mcp__supabase__execute_sql": OTHER,
}
"""Codex tool names from ``codex-rs/core/src/tools/spec.rs`` (``build_specs``), sent as
``function_call`` items; ``apply_patch`` also comes as a freeform ``custom_tool_call``."""


def _claude_input(name: str, n: int) -> dict:
    if name in ("Grep", "Glob"):
        return {"pattern": f"def f{n}"}
    if name == "NotebookEdit":
        return {"notebook_path": f"/nb{n}.ipynb", "new_source": "x"}
    if name in ("Read", "Edit", "MultiEdit", "Write"):
        return {"file_path": f"/src/m{n}.py"}
    return {"description": "x", "prompt": "y"} if name in ("Task", "Agent") else {"command": "ls"}


def _claude_tools(store) -> dict[str, ToolUse]:
    """tool name -> the ToolUse recorded for it, over every call of every session."""
    return {t.name: t for s in store.sessions.values() for slot in s.slots.values() for t in slot.tools.values()}


def test_every_claude_tool_use_is_tagged_with_its_kind(tmp_path):
    s = ClaudeSession(sid(1), cwd=CWD)
    s.prompt("refactor the billing module")
    names = list(CLAUDE_TOOLS)
    # several tool_use blocks per response, as Claude Code writes parallel tool calls
    for i in range(0, len(names), 3):
        s.response(blocks=[("tool_use", n, _claude_input(n, i)) for n in names[i:i + 3]], input=5, output=90)
    store = load([s.write(claude_main_path(tmp_path / "projects", CWD, s.session_id))])
    got = _claude_tools(store)
    assert {n: t.kind for n, t in got.items()} == CLAUDE_TOOLS
    assert got["NotebookEdit"].target == "/nb3.ipynb" and got["Grep"].target.startswith("def f")


def test_a_claude_subagents_tool_uses_are_tagged_too(tmp_path):
    sub = ClaudeSession(sid(2), agent_id="a1b2c3d", cwd=CWD)
    sub.prompt("find the callers")
    sub.response(blocks=[("tool_use", "Grep", {"pattern": "charge("}), ("tool_use", "Read", {"file_path": "/x.py"})])
    store = load([sub.write(claude_subagent_path(tmp_path / "projects", CWD, sid(2), "a1b2c3d"))])
    assert {n: t.kind for n, t in _claude_tools(store).items()} == {"Grep": SEARCH, "Read": READ}


@pytest.mark.parametrize(("inp", "whole"), [
    ({"file_path": "/a.py"}, True),
    ({"file_path": "/a.py", "offset": 10}, False),
    ({"file_path": "/a.py", "limit": 40}, False),
])
def test_whole_file_is_a_read_without_offset_or_limit(tmp_path, inp, whole):
    s = ClaudeSession(sid(3), cwd=CWD)
    s.prompt("x")
    s.response(blocks=[("tool_use", "Read", inp), ("tool_use", "Write", {"file_path": "/a.py", "content": "y"})])
    got = _claude_tools(load([s.write(claude_main_path(tmp_path / "projects", CWD, s.session_id))]))
    assert got["Read"].whole_file is whole and got["Read"].kind == READ
    assert got["Write"].whole_file is False  # only a read puts a whole file into the context


def _codex_tool_events(store) -> dict[str, Event]:
    return {e.text: e for s in store.sessions.values() for e in s.events.values() if e.kind == "tool"}


def test_every_codex_tool_call_is_tagged_with_its_kind(tmp_path):
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("add a health endpoint")
    for name in CODEX_FUNCTIONS:
        r.tool(name)
        r.call()
    r.web_search()
    r.call()
    store = load([r.write(codex_rollout_path(tmp_path / "codex", r.session_id))])
    got = _codex_tool_events(store)
    assert {n: e.tool_kind for n, e in got.items()} == {**CODEX_FUNCTIONS, "web_search": OTHER}
    # the counts the report shows are unchanged: one per call, by name
    summary = summarize(next(iter(store.sessions.values())), prices())
    assert summary.tool_uses == dict.fromkeys([*CODEX_FUNCTIONS, "web_search"], 1)


def test_codex_freeform_apply_patch_is_an_edit(tmp_path):
    r = CodexRollout(codex_id(2))
    r.session_meta()
    r.turn_context()
    r.tool("apply_patch", custom=True)
    r.call()
    got = _codex_tool_events(load([r.write(codex_rollout_path(tmp_path / "codex", r.session_id))]))
    assert got["apply_patch"].tool_kind == EDIT


def test_every_kind_a_source_records_is_a_known_kind(tmp_path):
    s = ClaudeSession(sid(4), cwd=CWD)
    s.prompt("x")
    s.response(blocks=[("tool_use", n, _claude_input(n, 0)) for n in CLAUDE_TOOLS])
    r = CodexRollout(codex_id(3))
    r.session_meta()
    for name in CODEX_FUNCTIONS:
        r.tool(name)
    r.call()
    store = load([s.write(claude_main_path(tmp_path / "projects", CWD, s.session_id)),
                  r.write(codex_rollout_path(tmp_path / "codex", r.session_id))])
    kinds = {t.kind for t in _claude_tools(store).values()} | {e.tool_kind for e in _codex_tool_events(store).values()}
    assert kinds == TOOL_KINDS
    others = [e for s in store.sessions.values() for e in s.events.values() if e.kind != "tool"]
    assert others and all(e.tool_kind == "" for e in others)  # only tool events carry a kind


# --- the tips read kinds, so they hold for Codex too ----------------------------------------


def _codex_search_session(tmp_path: Path, *, subagent: bool) -> tuple[list, object]:
    """A Codex session reading and grepping in its main thread, with results worth carrying."""
    r = CodexRollout(codex_id(7 if subagent else 8))
    r.session_meta()
    r.turn_context()
    r.user("find every caller of charge()")
    r.call(input=30_000, cached=28_000)
    if subagent:
        r.tool("spawn_agent", arguments='{"message":"map the billing module"}')
        r.call(input=30_500, cached=30_000)
    for i in range(insights.SEARCH_MIN + 4):
        name = "grep_files" if i % 2 else "read_file"
        call = r.tool(name, arguments=f'{{"pattern":"charge{i}"}}')
        r.tool_output(call, "src/billing.py:12: charge(amount)\n" * 600)
        r.call(input=32_000 + 6_000 * i, cached=31_000 + 6_000 * i)
    session = load([r.write(codex_rollout_path(tmp_path / "codex", r.session_id))]).sessions[("codex", r.session_id)]
    return tips(session, summarize(session, prices()), prices()), session


def test_wide_searches_in_a_codex_main_thread_get_the_subagent_tip(tmp_path):
    found, _session = _codex_search_session(tmp_path, subagent=False)
    tip = {t.id: t for t in found}["subagents_for_search"]
    n = insights.SEARCH_MIN + 4
    assert tip.figure == f"{n} searches in the main chain ({n // 2} grep_files, {n // 2} read_file), no sub-agent"
    assert tip.saving_tokens > 0 and tip.saving_usd >= insights.MIN_SAVING_USD


def test_a_codex_spawn_agent_counts_as_a_subagent(tmp_path):
    found, _session = _codex_search_session(tmp_path, subagent=True)
    assert "subagents_for_search" not in {t.id for t in found}


def test_edit_results_are_no_context_size(tmp_path):
    """An edit's result confirms the change: a huge one is no 'large output' to trim, for any agent."""
    r = CodexRollout(codex_id(9))
    r.session_meta()
    r.turn_context()
    r.call(input=30_000, cached=28_000)
    patch = r.tool("apply_patch", custom=True)
    r.tool_output(patch, "Success. Updated the following files:\n" + "M src/x.py\n" * 8_000)
    shell = r.tool("exec_command")
    r.tool_output(shell, "PASSED tests/test_x.py\n" * 3_000)
    for i in range(30):
        r.call(input=120_000 + 1_000 * i, cached=119_000 + 1_000 * i)
    session = load([r.write(codex_rollout_path(tmp_path / "codex", r.session_id))]).sessions[("codex", r.session_id)]
    found = {t.id: t for t in tips(session, summarize(session, prices()), prices())}
    assert found["large_tool_outputs"].figure.startswith("1 output ≥ 40 KB")
    assert found["large_tool_outputs"].figure.endswith("(exec_command)")


# --- rows stored before kinds existed ----------------------------------------------------------


def test_an_older_tool_use_row_decodes_as_other():
    """The index reads rows by the field names they were written with; a new field takes its default."""
    old = codec.Reader({"ToolUse": ["name", "target", "whole_file"]}, checked=False)  # a schema-1 row: no CRC
    row = marshal.dumps((b"ToolUse", "Read", "/a.py", True), codec.MARSHAL_VERSION)
    assert old.loads(row) == ToolUse("Read", "/a.py", True, OTHER)


def test_an_older_tool_event_row_decodes_without_a_kind():
    fields = ["key", "session_id", "kind", "timestamp", "rank", "text", "agent_id", "value"]
    old = codec.Reader({"Event": fields}, checked=False)  # a schema-1 row: no CRC
    row = marshal.dumps((b"Event", ("codex-tool", "call_1"), "s1", "tool", 1.0, (0, 1.0, "p", 0), "read_file", None, 0),
                        codec.MARSHAL_VERSION)
    ev = old.loads(row)
    assert ev.text == "read_file" and ev.tool_kind == ""


def test_current_rows_round_trip_their_kinds():
    tool = ToolUse("Grep", "TODO", False, SEARCH)
    ev = Event(("codex-tool", "c"), "s", "tool", 1.0, (0,), "grep_files", None, 0, tool_kind=SEARCH)
    assert codec.loads(codec.dumps(tool)) == tool
    assert codec.loads(codec.dumps(ev)) == ev
