"""The Source protocol: what every agent module answers, and the generic code that asks.

Claims of each layout, resume commands (quoted, or none for hostile ids), per-session files,
roots resolved from a per-agent mapping, and the watcher deciding by ``claims``.
"""

from __future__ import annotations

import inspect
import os
import shlex
from pathlib import Path

import pytest

from tests.unit.builders import (
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    claude_sibling_agent_path,
    claude_subagent_path,
    codex_id,
    codex_rollout_path,
    load,
    prices,
    sid,
)
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.watcher import Watcher
from tokdash.model.session import summarize
from tokdash.sources import SOURCES
from tokdash.sources.base import Source

CWD = "/home/dev/acme-api"
CLAUDE, CODEX = SOURCES["claude"], SOURCES["codex"]

HOSTILE_IDS = [
    "'; rm -rf ~'",
    "$(id)",
    "`id`",
    "abc\nrm -rf ~",
    "abc def",
    "-rf",
    "--help",
    "a;b",
    "a|b",
    "a&b",
    "x" * 129,
    "",
    "id\x1b[31m",
    "ïd",
]
"""Session ids no resume command may carry: shell syntax, whitespace, an option, controls,
non-ASCII, too long, empty."""
PLAIN_IDS = ["0f3c9a1e-aaaa-4bbb-8ccc-00000000abcd", "019c8a01-0001-7001-8aa2-000000000001", "abc.DEF:1-2_x", "x" * 128]


# --- the protocol --------------------------------------------------------------------------


def _members(proto: type) -> list[str]:
    attrs = [n for n in getattr(proto, "__annotations__", {}) if not n.startswith("_")]
    methods = [n for n, v in vars(proto).items() if inspect.isfunction(v) and not n.startswith("_")]
    return attrs + methods


def test_the_protocol_lists_everything_agent_specific():
    assert set(_members(Source)) >= {
        "name", "label", "env_var", "dir_help", "default_help", "markers", "default_roots", "scan_roots", "files",
        "claims", "context_for", "wants", "parse", "resume_command", "session_files",
    }


@pytest.mark.parametrize("key", list(SOURCES))
def test_every_source_implements_the_whole_protocol(key):
    source = SOURCES[key]
    for member in _members(Source):
        assert hasattr(source, member), f"{key} lacks {member}"
    assert source.name == key
    for text in (source.label, source.dir_help, source.default_help):
        assert isinstance(text, str) and text.strip() == text and text
    assert source.env_var is None or (source.env_var.isupper() and f"${source.env_var}" in source.default_help)


def test_the_registry_order_is_the_order_of_flags_and_help():
    assert list(SOURCES) == ["claude", "codex", "gemini", "opencode", "qwen"]
    assert [s.label for s in SOURCES.values()] == ["Claude Code", "Codex CLI", "Gemini CLI", "OpenCode", "Qwen Code"]


# --- claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("rel", "claimed"), [
    (f"projects/-home-dev-x/{sid(1)}.jsonl", True),  # main transcript
    (f"projects/-home-dev-x/{sid(1)}/subagents/agent-a1b2c3d.jsonl", True),  # 2.1.x sub-agent
    (f"projects/-home-dev-x/{sid(1)}/subagents/agent-acompact-9f8e.jsonl", True),  # auto-compaction
    ("projects/-home-dev-x/agent-5e6f7a8b.jsonl", True),  # 2.0.x sibling sub-agent
    (f"projects/-home-dev-x/{sid(1)}/tool-results/toolu_01.jsonl", False),
    (f"projects/-home-dev-x/{sid(1)}/subagents/agent-a1b2c3d.meta.json", False),
    (f"projects/-home-dev-x/{sid(1)}.meta.json", False),
    (f"projects/{sid(1)}.jsonl", False),  # not inside a project folder
    (f"projects/-home-dev-x/{sid(1)}/other/agent-a.jsonl", False),
    (f"elsewhere/-home-dev-x/{sid(1)}.jsonl", False),
    ("projects/-home-dev-x/notes.txt", False),
])
def test_claude_claims_its_layouts_only(tmp_path, rel, claimed):
    assert CLAUDE.claims(tmp_path / "cfg" / rel) is claimed


@pytest.mark.parametrize(("rel", "claimed"), [
    (f"sessions/2026/03/02/rollout-2026-03-02T09-00-00-{codex_id(1)}.jsonl", True),
    (f"archived_sessions/2026/03/02/rollout-2026-03-02T09-00-00-{codex_id(1)}.jsonl", True),
    (f"sessions/rollout-2026-03-02T09-00-00-{codex_id(1)}.jsonl", True),  # any depth
    ("sessions/history.jsonl", False),
    (f"sessions/2026/03/02/rollout-{codex_id(1)}.json", False),
    ("sessions/2026/notes.json", False),
])
def test_codex_claims_rollouts_only(tmp_path, rel, claimed):
    assert CODEX.claims(tmp_path / "codex" / rel) is claimed


def _junk_tree(root: Path) -> None:
    """Every Claude and Codex layout, plus the files beside them that hold no usage."""
    projects = root / "claude" / "projects"
    for path in (claude_main_path(projects, CWD, sid(1)), claude_subagent_path(projects, CWD, sid(1), "a1"),
                 claude_sibling_agent_path(projects, CWD, "b2")):
        ClaudeSession(sid(1), cwd=CWD).write(path)
    for junk in (projects / "-home-dev-acme-api" / sid(1) / "tool-results" / "r.jsonl",
                 projects / "-home-dev-acme-api" / f"{sid(1)}.meta.json", projects / "stray.jsonl"):
        junk.parent.mkdir(parents=True, exist_ok=True)
        junk.write_text("{}\n")
    home = root / "codex"
    for archived in (False, True):
        r = CodexRollout(codex_id(2 + archived))
        r.session_meta()
        r.write(codex_rollout_path(home, r.session_id, archived=archived))
    (home / "sessions" / "history.jsonl").write_text("{}\n")


@pytest.mark.parametrize("key", ["claude", "codex"])  # the other agents: their own source tests
def test_claims_agrees_with_what_discovery_lists(tmp_path, key):
    """The watcher (``claims``) and discovery (``files``) see the same transcripts."""
    _junk_tree(tmp_path)
    source = SOURCES[key]
    tops = source.scan_roots([tmp_path / key])
    listed = {p for top in tops for p in source.files(top)}
    on_disk = {Path(d) / n for top in tops for d, _dirs, names in os.walk(top) for n in names}
    assert listed and listed < on_disk  # the tree holds files that are not transcripts
    assert {p for p in on_disk if source.claims(p)} == listed


def test_the_watcher_reads_only_claimed_files_and_scans_new_folders(tmp_path):
    _junk_tree(tmp_path)
    w = Watcher(resolve_roots(["claude", "codex"], {"claude": [str(tmp_path / "claude")],
                                                    "codex": [str(tmp_path / "codex")]}))
    w.watch_dirs()
    projects = tmp_path / "claude" / "projects"
    folder = projects / "-home-dev-acme-api"
    main = claude_main_path(projects, CWD, sid(1))
    tool_result = folder / sid(1) / "tool-results" / "r.jsonl"
    history = tmp_path / "codex" / "sessions" / "history.jsonl"
    assert w.classify([str(main), str(tool_result), str(history)]) == [("claude", main)]
    # a new folder is scanned for what its source claims
    got = w.classify([str(folder), str(tmp_path / "codex" / "sessions"), str(tmp_path / "codex" / "archived_sessions")])
    assert sorted(got) == sorted(discover(w.roots))
    assert ("claude", tool_result) not in got


# --- resume commands ---------------------------------------------------------------------------


@pytest.mark.parametrize("session_id", PLAIN_IDS)
def test_a_plain_id_gives_todays_command(session_id):
    assert CLAUDE.resume_command(session_id) == f"claude --resume {session_id}"
    assert CODEX.resume_command(session_id) == f"codex resume {session_id}"
    assert shlex.split(CLAUDE.resume_command(session_id)) == ["claude", "--resume", session_id]


@pytest.mark.parametrize("session_id", HOSTILE_IDS)
@pytest.mark.parametrize("key", list(SOURCES))
def test_a_hostile_id_gives_no_command(key, session_id):
    assert SOURCES[key].resume_command(session_id) is None


@pytest.mark.parametrize("session_id", ["'; rm -rf ~'", "$(id)", "`id`", "abc\nrm -rf ~"])
def test_a_codex_id_from_inside_the_rollout_is_never_pasted(tmp_path, session_id):
    r = CodexRollout(session_id)
    r.session_meta()
    r.turn_context()
    r.user("x")
    r.call()
    path = r.write(codex_rollout_path(tmp_path / "codex", codex_id(1)))  # a well-formed file name
    summary = summarize(load([path]).sessions[("codex", session_id)], prices())
    assert summary.session_id == session_id
    assert summary.resume_command is None
    j = summary.to_json()
    assert "resume_command" in j and j["resume_command"] is None


@pytest.mark.parametrize("stem", ["$(id)", "`id`", "x; rm -rf ~", "a\nb"])
def test_a_claude_file_name_that_is_not_a_plain_id_is_never_pasted(tmp_path, stem):
    s = ClaudeSession(stem, cwd=CWD)
    s.prompt("x")
    s.response()
    path = s.write(tmp_path / "projects" / "-home-dev-acme-api" / f"{stem}.jsonl")
    summary = summarize(load([path]).sessions[("claude", stem)], prices())
    assert summary.resume_command is None and summary.to_json()["resume_command"] is None


def test_resume_commands_come_from_the_main_transcript(tmp_path):
    """A session's command names its own id; a Codex sub-agent thread alone resumes its parent."""
    s = ClaudeSession(sid(5), cwd=CWD)
    s.prompt("x")
    s.response()
    sub = ClaudeSession(sid(5), agent_id="a9", cwd=CWD)
    sub.response()
    projects = tmp_path / "projects"
    claude = [s.write(claude_main_path(projects, CWD, sid(5))), sub.write(claude_subagent_path(projects, CWD, sid(5), "a9"))]
    child = CodexRollout(codex_id(9), parent_thread_id=codex_id(8))
    child.session_meta()
    child.call()
    codex = child.write(codex_rollout_path(tmp_path / "codex", child.session_id))
    store = load([*claude, codex])
    got = {k: summarize(v, prices()).to_json()["resume_command"] for k, v in store.sessions.items()}
    assert got == {("claude", sid(5)): f"claude --resume {sid(5)}", ("codex", codex_id(8)): f"codex resume {codex_id(8)}"}


# --- one session's files -------------------------------------------------------------------------


def test_claude_session_files_are_the_main_file_then_its_subagents(tmp_path):
    projects = tmp_path / "projects"
    main = ClaudeSession(sid(1), cwd=CWD).write(claude_main_path(projects, CWD, sid(1)))
    assert CLAUDE.session_files(main) == [main]
    b = ClaudeSession(sid(1), agent_id="b", cwd=CWD).write(claude_subagent_path(projects, CWD, sid(1), "b"))
    a = ClaudeSession(sid(1), agent_id="a", cwd=CWD).write(claude_subagent_path(projects, CWD, sid(1), "a"))
    (a.parent / "agent-a.meta.json").write_text("{}")
    (main.with_suffix("") / "tool-results").mkdir()
    assert CLAUDE.session_files(main) == [main, a, b]


def test_a_codex_session_is_its_rollout(tmp_path):
    r = CodexRollout(codex_id(1))
    r.session_meta()
    path = r.write(codex_rollout_path(tmp_path / "codex", r.session_id))
    assert CODEX.session_files(path) == [path]


# --- roots from a per-agent mapping ----------------------------------------------------------------


def test_roots_come_from_the_mapping(tmp_path, isolated_env):
    got = resolve_roots(["claude", "codex"], {"claude": [str(tmp_path / "c1"), "~/c2"], "codex": [str(tmp_path / "x")]})
    assert got.by_agent == {"claude": [tmp_path / "c1", isolated_env / "c2"], "codex": [tmp_path / "x"]}
    assert got.problems == []


@pytest.mark.parametrize("given", [{}, {"claude": None}, {"claude": []}, None])
def test_an_agent_without_folders_gets_its_defaults(tmp_path, isolated_env, given):
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg"), "CODEX_HOME": str(tmp_path / "cx")}
    got = resolve_roots(["claude", "codex"], given, env=env)
    assert got.by_agent == {"claude": CLAUDE.default_roots(env), "codex": CODEX.default_roots(env)}
    assert got.by_agent["claude"] == [tmp_path / "cfg"]


def test_only_the_chosen_agents_are_resolved(tmp_path, isolated_env):
    got = resolve_roots(["codex"], {"claude": [str(tmp_path / "c")], "codex": [str(tmp_path / "x")]})
    assert got.by_agent == {"codex": [tmp_path / "x"]}
    with pytest.raises(KeyError):
        resolve_roots(["no-such-agent"], {})


def test_a_root_that_is_a_file_is_reported(tmp_path, isolated_env):
    f = tmp_path / "not-a-dir"
    f.write_text("x")
    got = resolve_roots(["codex"], {"codex": [str(f)]})
    assert got.problems == [f"codex folder {f} is not a directory"]
