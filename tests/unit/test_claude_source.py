"""Claude Code transcripts: every counting trap of ``transcript-formats.md`` §1, on written fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import (
    HAIKU,
    OPUS,
    SONNET,
    ClaudeSession,
    claude_main_path,
    claude_sibling_agent_path,
    claude_subagent_path,
    encode_cwd,
    epoch,
    load,
    sid,
    stamp,
    summaries,
    tokens,
    usage_dict,
    write_jsonl,
)
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.sources import SOURCES
from tokdash.sources import claude as claude_mod

CWD = "/home/dev/acme-api"


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    p = tmp_path / "claude" / "projects"
    p.mkdir(parents=True)
    return p


def one(store):
    """The single session of a store (fails if there is not exactly one)."""
    got = summaries(store)
    assert len(got) == 1, sorted(got)
    return next(iter(got.values()))


# --- 1. streaming: one line per content block ---------------------------------------


@pytest.mark.parametrize("order", ["as_written", "reversed", "final_first"])
def test_streamed_lines_are_one_call_with_the_final_output(projects, order):
    s = ClaudeSession(sid(1))
    s.prompt("add a health endpoint")
    r = s.response(
        blocks=[("thinking", "plan"), ("text", "Reading the router."), ("tool_use", "Read", {"file_path": "/a.py"}),
                ("tool_use", "Edit", {"file_path": "/a.py", "old_string": "x", "new_string": "y"})],
        input=6, output=480, cache_write_5m=1200, cache_write_1h=3400, cache_read=52_000,
    )
    assert len(r.lines) == 4 and [ln["message"]["usage"]["output_tokens"] for ln in r.lines][-1] == 480
    lines = [s.lines[0], *r.lines]
    if order == "reversed":
        lines = [lines[0], *reversed(r.lines)]
    elif order == "final_first":
        lines = [lines[0], r.lines[-1], *r.lines[:-1]]
    path = write_jsonl(claude_main_path(projects, CWD, s.session_id), lines)

    got = one(load([path]))

    assert tokens(got) == usage_dict(r.usage, calls=1)
    # cache counts repeated on 4 lines are counted once, output is the last snapshot (not a sum)
    assert got.usage.cache_read == 52_000 and got.usage.output == 480
    assert got.assistant_turns == 1
    # one tool_use block per line: the union over the call's lines, each counted once
    assert got.tool_uses == {"Read": 1, "Edit": 1}
    assert got.models == [OPUS]
    assert got.context_tokens == 6 + 1200 + 3400 + 52_000
    assert got.open is False


def test_a_response_without_stop_reason_is_open(projects):
    s = ClaudeSession(sid(1))
    s.prompt("go")
    s.response(output=5, stop_reason=None)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.open is True and got.usage.output == 5


def test_every_call_of_a_session_is_counted(projects):
    s = ClaudeSession(sid(1))
    s.prompt("one")
    s.response(blocks=[("text", "a"), ("tool_use", "Bash", {"command": "ls"})], input=3, output=40, cache_read=900)
    s.tool_result("toolu_x", "file.txt")
    s.response(model=SONNET, input=2, output=77, cache_write_1h=300, cache_read=1200)
    s.prompt("two")
    s.response(input=1, output=9, cache_write_5m=50)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=3)
    assert got.prompts == 2
    assert set(got.models) == {OPUS, SONNET}
    assert got.by_model[SONNET].calls == 1 and got.by_model[SONNET].usage.output == 77


# --- 2. global dedup, replacement, sidechains, /btw ---------------------------------


def _resumed_pair(projects, *, restamp_session: bool, copy_at_resume_time: bool):
    """Session A, then session B resumed from it: B's file starts with copies of A's lines.

    B's id sorts before A's, so a tie broken by file path alone would hand A's calls to B.
    """
    a = ClaudeSession(sid(0xB))
    a.prompt("build the importer")
    a.response(input=5, output=300, cache_write_1h=4000, cache_read=10_000)
    a.prompt("now the tests")
    a.response(blocks=[("text", "ok"), ("tool_use", "Write", {"file_path": "/t.py", "content": "x"})],
               input=4, output=900, cache_write_5m=600, cache_read=14_000)
    b = ClaudeSession(sid(0xA), clock=3600.0)
    if copy_at_resume_time:
        # the copies are written when B starts, an hour later
        copies = [dict(ln, timestamp=stamp(3600.0)) if "timestamp" in ln else ln for ln in a.lines]
    else:
        copies = a.lines
    b.copy_lines(copies, restamp_session=restamp_session)
    b.prompt("and the docs")
    b.response(input=7, output=222, cache_write_1h=800, cache_read=18_000)
    pa = a.write(claude_main_path(projects, CWD, a.session_id))
    pb = b.write(claude_main_path(projects, CWD, b.session_id))
    return a, b, pa, pb


@pytest.mark.parametrize(
    "restamp_session,copy_at_resume_time",
    [(False, False), (False, True), (True, True)],
    ids=["copies-keep-session-id", "copies-keep-id-new-time", "copies-restamped"],
)
@pytest.mark.parametrize("order", ["original_first", "resumed_first"])
def test_resumed_session_copies_count_once_where_they_happened(projects, order, restamp_session, copy_at_resume_time):
    a, b, pa, pb = _resumed_pair(projects, restamp_session=restamp_session, copy_at_resume_time=copy_at_resume_time)
    got = summaries(load([pa, pb] if order == "original_first" else [pb, pa]))

    assert set(got) == {a.session_id, b.session_id}
    assert tokens(got[a.session_id]) == usage_dict(a.expected, calls=2)
    # B owns only the call it made itself, whichever file was read first
    assert tokens(got[b.session_id]) == usage_dict(b.expected, calls=1)
    assert got[a.session_id].prompts == 2 and got[b.session_id].prompts == 1
    assert got[b.session_id].title == "and the docs"
    assert got[a.session_id].tool_uses == {"Write": 1} and got[b.session_id].tool_uses == {}


def test_resumed_session_totals_do_not_depend_on_read_order(projects):
    _a, _b, pa, pb = _resumed_pair(projects, restamp_session=False, copy_at_resume_time=False)
    one_way = {k: s.to_json() for k, s in summaries(load([pa, pb])).items()}
    other_way = {k: s.to_json() for k, s in summaries(load([pb, pa])).items()}
    assert one_way == other_way


def test_reading_the_same_file_twice_counts_once(projects):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(input=3, output=10, cache_read=100)
    path = s.write(claude_main_path(projects, CWD, s.session_id))
    store = load([path])
    load([path], store=store)  # a second reader re-offers every record
    assert tokens(one(store)) == usage_dict(s.expected, calls=1)
    assert one(store).prompts == 1


def test_request_id_absent_falls_back_to_message_id(projects):
    """Bedrock / gateway lines have no requestId: (message.id, None) is the key."""
    s = ClaudeSession(sid(1), version="2.1.30")
    s.prompt("x")
    r = s.response(request_id=False, blocks=[("text", "a"), ("text", "b"), ("text", "c")],
                   model="us.anthropic.claude-sonnet-4-5-20250929-v1:0", input=10, output=90, cache_read=5000)
    assert all("requestId" not in ln for ln in r.lines)
    s.response(request_id=False, input=2, output=11, cache_write_5m=70)
    main = s.write(claude_main_path(projects, CWD, s.session_id))
    # a resumed copy of the first call, still without requestId, in another file
    b = ClaudeSession(sid(2), clock=999.0)
    b.copy_lines(r.lines)
    copy = b.write(claude_main_path(projects, CWD, b.session_id))

    for paths in ([main, copy], [copy, main]):
        got = summaries(load(paths))
        assert tokens(got[s.session_id]) == usage_dict(s.expected, calls=2)
        assert got[b.session_id].api_calls == 0 and got[b.session_id].usage.total == 0


@pytest.mark.parametrize("order", ["partial_first", "complete_first"])
def test_a_better_copy_replaces_the_one_counted(projects, order):
    """A file holding only the first snapshot of a call, and one holding the whole call."""
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(blocks=[("text", "a"), ("text", "b"), ("text", "c")], input=4, output=600, cache_read=7000)
    full = s.write(claude_main_path(projects, CWD, s.session_id))
    partial_session = ClaudeSession(sid(2))
    partial_session.copy_lines(r.lines[:1])  # a copy made while the response was still streaming
    partial = partial_session.write(claude_main_path(projects, CWD, partial_session.session_id))
    assert r.lines[0]["message"]["usage"]["output_tokens"] < 600

    got = summaries(load([partial, full] if order == "partial_first" else [full, partial]))
    assert tokens(got[s.session_id]) == usage_dict(r.usage, calls=1)
    assert got[partial_session.session_id].api_calls == 0


def test_replacement_within_one_file_keeps_max_output_not_last(projects):
    """A later line of the same call with a *smaller* snapshot does not lower the output."""
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(blocks=[("text", "a"), ("text", "b")], input=1, output=300, cache_read=10)
    late_small = dict(r.lines[0])  # the first (small) snapshot written again at the end
    s.raw(late_small)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.usage.output == 300 and got.api_calls == 1


@pytest.mark.parametrize("order", ["sidechain_first", "main_first"])
def test_non_sidechain_copy_wins_over_a_sidechain_copy(projects, order):
    """Same (message.id, requestId) in a main line and a sidechain line: the main copy counts,
    even when the sidechain copy has the larger total."""
    main = ClaudeSession(sid(1))
    main.prompt("x")
    r = main.response(input=5, output=100, cache_read=2000)
    pm = main.write(claude_main_path(projects, CWD, main.session_id))
    other = ClaudeSession(sid(2))
    bigger = ClaudeSession(sid(2)).response(message_id=r.msg_id, request_id=r.request_id, input=5, output=150,
                                            cache_read=2000, sidechain=True, agent_id="a77", count=False)
    other.copy_lines(bigger.lines)
    po = other.write(claude_main_path(projects, CWD, other.session_id))

    got = summaries(load([po, pm] if order == "sidechain_first" else [pm, po]))
    assert tokens(got[main.session_id]) == usage_dict(r.usage, calls=1)
    assert got[main.session_id].subagents == []
    assert got[other.session_id].api_calls == 0


@pytest.mark.parametrize("order", ["aside_first", "main_first"])
@pytest.mark.parametrize("where", ["same_file", "subagent_file"])
def test_btw_sidechain_replay_with_new_request_id_is_the_same_call(projects, order, where):
    """``/btw`` asides replay parent messages under new request ids, as sidechain lines."""
    main = ClaudeSession(sid(1))
    main.prompt("refactor the parser")
    r1 = main.response(input=5, output=410, cache_write_1h=2000, cache_read=30_000)
    r2 = main.response(input=3, output=95, cache_read=33_000)
    aside = ClaudeSession(sid(1), agent_id="aside_question-1f2e3d", clock=100.0)
    for r in (r1, r2):
        copy = aside.response(message_id=r.msg_id, request_id=True, input=5, output=r.usage.output,
                              cache_read=r.usage.cache_read, count=False)
        assert copy.request_id != r.request_id
    if where == "same_file":
        lines = aside.lines + main.lines if order == "aside_first" else main.lines + aside.lines
        paths = [write_jsonl(claude_main_path(projects, CWD, main.session_id), lines)]
    else:
        pm = main.write(claude_main_path(projects, CWD, main.session_id))
        pa = aside.write(claude_subagent_path(projects, CWD, main.session_id, "aside_question-1f2e3d"))
        paths = [pa, pm] if order == "aside_first" else [pm, pa]

    got = one(load(paths))
    assert tokens(got) == usage_dict(main.expected, calls=2)
    assert got.subagents == []  # the replays were no sub-agent work


def test_different_request_ids_on_main_chain_lines_are_different_calls(projects):
    """The /btw rule needs a sidechain copy: two main-chain lines with the same message.id and
    different request ids stay two calls (the key is (message.id, requestId))."""
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(input=5, output=10, cache_read=100)
    s.response(message_id=r.msg_id, input=6, output=20, cache_read=100)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.api_calls == 2 and tokens(got) == usage_dict(s.expected, calls=2)


# --- 3. usage that must never count ------------------------------------------------


def test_usage_inside_progress_lines_and_tool_results_is_never_counted(projects):
    s = ClaudeSession(sid(1))
    s.prompt("research the API")
    r = s.response(blocks=[("tool_use", "Task", {"description": "look", "prompt": "find", "subagent_type": "x"})],
                   input=4, output=60, cache_read=800, stop_reason="tool_use")
    for _ in range(3):
        s.progress_with_usage(output=70, cache_read=9000)
        s.hook_progress()
    s.tool_result(r.lines[0]["message"]["content"][0]["id"], "summary of the research",
                  usage={"input_tokens": 9, "output_tokens": 999, "cache_read_input_tokens": 77_777,
                         "cache_creation_input_tokens": 1234})
    s.response(input=2, output=30, cache_read=900)
    data = s.data()
    assert data.count(b'"usage":{') == 2 + 3 + 1  # the traps are really in the file
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=2)
    assert got.models == [OPUS]  # the progress copies' haiku is not a model of this session
    assert got.prompts == 1  # the tool result is not a prompt


def test_progress_only_file_has_no_calls(projects):
    s = ClaudeSession(sid(1))
    s.progress_with_usage()
    s.progress_with_usage()
    store = load([s.write(claude_main_path(projects, CWD, s.session_id))])
    assert store.slots == {}  # not one call offered to the store
    assert all(summ.api_calls == 0 and summ.usage.total == 0 for summ in summaries(store).values())


@pytest.mark.parametrize(
    "text,rate_limits,api_errors",
    [
        ("Limit reached · resets 7pm", 1, 0),
        ("Claude AI usage limit reached|1767182400", 1, 0),
        ("API Error: 500 {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}", 0, 1),
    ],
)
def test_synthetic_lines_are_no_tokens_and_no_model(projects, text, rate_limits, api_errors):
    s = ClaudeSession(sid(1))
    s.prompt("go on")
    s.response(input=3, output=40, cache_read=1000)
    s.synthetic(text)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=1)
    assert "<synthetic>" not in got.models and got.unpriced_models == []
    assert got.rate_limits == rate_limits and got.api_errors == api_errors


# --- sub-agents: three layouts ------------------------------------------------------


def test_subagents_folder_2_1_rolls_into_parent(projects):
    main = ClaudeSession(sid(1))
    main.prompt("review the auth module")
    main.response(blocks=[("tool_use", "Task", {"prompt": "audit", "subagent_type": "Explore"})],
                  input=6, output=200, cache_write_1h=9000, cache_read=20_000, stop_reason="tool_use")
    explore = ClaudeSession(sid(1), agent_id="a1b2c3d", clock=10.0)
    explore.prompt("audit the auth module")  # written by the parent agent: not a human prompt
    explore.response(model=HAIKU, input=30, output=500, cache_write_5m=4000, cache_read=1000)
    explore.response(model=HAIKU, input=8, output=120, cache_read=5000)
    compact = ClaudeSession(sid(1), agent_id="acompact-4f9e21", clock=50.0)
    compact.prompt("Your task is to create a detailed summary of the conversation so far")
    compact.response(model=OPUS, input=10, output=3000, cache_read=150_000)
    paths = [
        compact.write(claude_subagent_path(projects, CWD, main.session_id, "acompact-4f9e21")),
        main.write(claude_main_path(projects, CWD, main.session_id)),
        explore.write(claude_subagent_path(projects, CWD, main.session_id, "a1b2c3d")),
    ]
    store = load(paths)
    got = one(store)
    expected = main.expected.copy()
    expected.add(explore.expected)
    expected.add(compact.expected)
    assert tokens(got) == usage_dict(expected, calls=4)
    assert got.prompts == 1
    agents = {a.agent_id: a for a in got.subagents}
    assert set(agents) == {"a1b2c3d", "acompact-4f9e21"}
    assert agents["a1b2c3d"].usage.total == explore.expected.total and agents["a1b2c3d"].calls == 2
    assert list(agents["a1b2c3d"].models) == [HAIKU]
    assert agents["acompact-4f9e21"].usage.output == 3000  # compaction is real billed usage
    assert agents["a1b2c3d"].task == "audit the auth module"  # what the parent asked: names it
    assert agents["acompact-4f9e21"].task.startswith("auto-compaction")
    assert got.by_model[HAIKU].calls == 2
    assert got.assistant_turns == 1  # sub-agent calls are not the session's own turns
    assert len(got.paths) == 3


@pytest.mark.parametrize("order", ["sibling_first", "main_first"])
def test_sibling_agent_file_2_0_rolls_into_the_session_named_inside(projects, order):
    main = ClaudeSession(sid(1), version="2.0.14")
    main.prompt("write a migration")
    main.response(input=4, output=150, cache_read=3000)
    agent = ClaudeSession(sid(1), version="2.0.14", agent_id="9f8e7d6c", clock=20.0)
    agent.prompt("inspect the schema")
    agent.response(model=SONNET, input=12, output=340, cache_write_5m=2500)
    pm = main.write(claude_main_path(projects, CWD, main.session_id))
    pa = agent.write(claude_sibling_agent_path(projects, CWD, "9f8e7d6c"))
    got = summaries(load([pa, pm] if order == "sibling_first" else [pm, pa]))
    assert set(got) == {main.session_id}  # no session named after the agent file
    s = got[main.session_id]
    expected = main.expected.copy()
    expected.add(agent.expected)
    assert tokens(s) == usage_dict(expected, calls=2)
    assert [a.agent_id for a in s.subagents] == ["9f8e7d6c"]
    assert s.prompts == 1 and s.title == "write a migration"


def test_inline_sidechain_1_0_lines_are_subagent_work(projects):
    s = ClaudeSession(sid(1), version="1.0.98", slug=None)
    s.prompt("create a TODO app")
    s.response(model="claude-sonnet-4-20250514", input=3, output=80, cache_write_5m=1331, cache_read=14_874,
               split=False)
    s.prompt("Create React components for the TODO app", sidechain=True)
    s.response(model="claude-sonnet-4-20250514", input=3, output=108, cache_write_5m=11_776, sidechain=True,
               split=False)
    s.response(model="claude-sonnet-4-20250514", input=5, output=400, cache_read=11_776, sidechain=True)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=3)
    assert got.prompts == 1  # the sidechain prompt is the parent agent's
    assert [(a.agent_id, a.calls) for a in got.subagents] == [("sidechain", 2)]
    assert got.assistant_turns == 1


def test_a_session_folder_with_only_subagent_files_is_a_session(projects):
    sub = ClaudeSession(sid(7), agent_id="afc096d", cwd="/home/dev/spotter")
    sub.prompt("summarise the logs")
    sub.response(model=HAIKU, input=219, output=28, cache_write_5m=39_438, cache_read=457_858)
    path = sub.write(claude_subagent_path(projects, "/home/dev/spotter", sid(7), "afc096d"))
    assert not claude_main_path(projects, "/home/dev/spotter", sid(7)).exists()
    # found by discovery, too
    roots = resolve_roots(["claude"], {"claude": [str(projects.parent)]})
    assert ("claude", path) in discover(roots)
    loader = Loader(roots)
    loader.load_all()
    got = summaries(loader.store)
    assert set(got) == {sid(7)}
    s = got[sid(7)]
    assert tokens(s) == usage_dict(sub.expected, calls=1)
    assert s.project == "/home/dev/spotter"
    assert [a.agent_id for a in s.subagents] == ["afc096d"]
    assert s.first_activity is not None and s.last_activity is not None


def test_project_path_comes_from_cwd_not_the_lossy_folder_name(projects):
    cwd = "C:\\Users\\dev\\my.app"
    s = ClaudeSession(sid(1), cwd=cwd)
    s.prompt("x")
    s.response()
    path = s.write(claude_main_path(projects, cwd, s.session_id))
    assert path.parent.name == "C--Users-dev-my-app" == encode_cwd(cwd)
    got = one(load([path]))
    assert got.project == cwd and got.project_name == "my.app"


# --- roots ----------------------------------------------------------------------------


def test_claude_config_dir_is_a_comma_list_and_the_only_source(tmp_path, isolated_env):
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path / 'work'} , ~/personal/projects,", "XDG_CONFIG_HOME": str(tmp_path / "x")}
    assert SOURCES["claude"].default_roots(env) == [tmp_path / "work", isolated_env / "personal" / "projects"]


def test_default_roots_are_xdg_and_dot_claude(tmp_path, isolated_env):
    assert SOURCES["claude"].default_roots({"XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == [
        tmp_path / "xdg" / "claude", isolated_env / ".claude"]
    assert SOURCES["claude"].default_roots({}) == [isolated_env / ".config" / "claude", isolated_env / ".claude"]


def test_roots_may_be_config_dirs_or_projects_dirs(tmp_path, isolated_env):
    work = tmp_path / "work"  # a config dir holding projects/
    personal = tmp_path / "personal" / "projects"  # projects/ given directly
    a = ClaudeSession(sid(1))
    a.prompt("work thing")
    a.response(input=1, output=10)
    a.write(claude_main_path(work / "projects", CWD, a.session_id))
    b = ClaudeSession(sid(2), cwd="/home/dev/blog")
    b.prompt("blog thing")
    b.response(input=2, output=20)
    b.write(claude_main_path(personal, "/home/dev/blog", b.session_id))
    assert claude_mod.projects_dir(work) == work / "projects"
    assert claude_mod.projects_dir(personal) == personal

    env = {"CLAUDE_CONFIG_DIR": f"{work},{personal}"}
    roots = resolve_roots(["claude"], env=env)
    loader = Loader(roots)
    loader.load_all()
    got = summaries(loader.store)
    assert set(got) == {a.session_id, b.session_id}
    assert got[b.session_id].project == "/home/dev/blog"


def test_the_same_folder_reached_twice_is_read_once(tmp_path, isolated_env):
    root = tmp_path / "cfg"
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(input=1, output=10)
    s.write(claude_main_path(root / "projects", CWD, s.session_id))
    roots = resolve_roots(["claude"], {"claude": [str(root), str(root / "projects")]})
    assert len(discover(roots)) == 1


# --- usage fields ---------------------------------------------------------------------


def test_cache_creation_split_5m_and_1h(projects):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(input=1, output=1, cache_write_5m=1000, cache_write_1h=3000)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert (got.usage.cache_write_5m, got.usage.cache_write_1h, got.usage.cache_write) == (1000, 3000, 4000)
    assert got.to_json()["cache_write_1h_tokens"] == 3000


def test_missing_cache_split_is_all_5m_and_priced_so(projects):
    with_split = ClaudeSession(sid(1))
    with_split.prompt("x")
    with_split.response(model=SONNET, input=0, output=0, cache_write_1h=100_000)
    no_split = ClaudeSession(sid(2))
    no_split.prompt("x")
    no_split.response(model=SONNET, input=0, output=0, cache_write_1h=100_000, split=False)
    assert "cache_creation" not in no_split.lines[-1]["message"]["usage"]
    got = summaries(load([with_split.write(claude_main_path(projects, CWD, sid(1))),
                          no_split.write(claude_main_path(projects, CWD, sid(2)))]))
    a, b = got[sid(1)], got[sid(2)]
    assert (a.usage.cache_write_5m, a.usage.cache_write_1h) == (0, 100_000)
    assert (b.usage.cache_write_5m, b.usage.cache_write_1h) == (100_000, 0)
    # a 1-hour write costs 2x input, a 5-minute one 1.25x: $6 vs $3.75 per MTok on Sonnet 4.5
    assert a.cost == pytest.approx(0.6) and b.cost == pytest.approx(0.375)


@pytest.mark.parametrize(
    "usage,expect",
    [
        ({"input_tokens": None, "output_tokens": 7, "cache_creation_input_tokens": None,
          "cache_read_input_tokens": None, "cache_creation": None, "service_tier": None}, (0, 7, 0, 0, 0)),
        ({"output_tokens": 7}, (0, 7, 0, 0, 0)),
        ({"input_tokens": 5, "cache_creation_input_tokens": 100,
          "cache_creation": {"ephemeral_1h_input_tokens": None}}, (5, 0, 100, 0, 0)),
        ({"input_tokens": 5, "cache_creation_input_tokens": 100,
          "cache_creation": {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60},
          "server_tool_use": None, "iterations": None, "speed": None}, (5, 0, 40, 60, 0)),
        ({"input_tokens": -4, "output_tokens": "12", "cache_read_input_tokens": 3.5}, (0, 0, 0, 0, 0)),
        ({}, (0, 0, 0, 0, 0)),
    ],
    ids=["nulls", "absent", "null-split-field", "split", "wrong-types", "empty"],
)
def test_null_or_absent_usage_fields(projects, usage, expect):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(count=False)
    r.lines[0]["message"]["usage"] = usage
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    u = got.usage
    assert (u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read) == expect
    assert got.api_calls == 1


@pytest.mark.parametrize("message", [{"usage": None}, {"id": "msg_x", "model": OPUS}, None, "text", []])
def test_assistant_lines_without_usable_usage_are_skipped(projects, message):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(count=False)
    r.lines[0]["message"] = message
    s.response(input=2, output=3)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=1)


def test_unknown_line_types_are_ignored(projects):
    s = ClaudeSession(sid(1))
    s.snapshot()
    s.prompt("x")
    s.raw({"type": "queue-operation", "operation": "enqueue", "timestamp": stamp(1), "sessionId": sid(1),
           "content": "later"})
    s.raw({"type": "pr-link", "sessionId": sid(1), "url": "https://example.com/pr/1"})
    s.raw({"type": "wormhole", "sessionId": sid(1), "timestamp": stamp(2),
           "message": {"id": "msg_worm", "model": OPUS, "usage": {"input_tokens": 10**6, "output_tokens": 10**6}}})
    s.raw({"type": "attachment", "attachment": {"type": "file", "usage": {"input_tokens": 5}}})
    s.raw({"no_type_at_all": True, "usage": {"input_tokens": 99}})
    s.raw({"type": None, "message": {"usage": {"input_tokens": 99}}})
    s.system("turn_duration", durationMs=1234)
    s.system("stop_hook_summary", hookCount=2)
    s.system("brand_new_subtype", usage={"input_tokens": 1})
    s.response(input=2, output=3, cache_read=10)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=1)
    assert got.bad_lines == 0


# --- prompts, titles, events -------------------------------------------------------------


def test_prompts_exclude_meta_compact_summaries_caveats_and_tool_results(projects):
    s = ClaudeSession(sid(1))
    s.prompt("Caveat: The messages below were generated by the user while running local commands. DO NOT "
             "respond to these messages.", isMeta=True)
    s.prompt("<command-name>/review</command-name>\n<command-message>review</command-message>\n"
             "<command-args>PR 12</command-args>")  # a slash command the human typed
    s.prompt("<local-command-stdout>Set model to opus</local-command-stdout>")
    s.prompt("Caveat: The messages below were generated by the user while running local commands.")
    s.prompt("fix the flaky test")  # a prompt
    s.prompt([{"type": "text", "text": "and update the changelog"}])  # a prompt, as text blocks
    s.prompt([{"type": "text", "text": "what is in this screenshot?"},
              {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}])
    s.prompt("This session is being continued from a previous conversation that ran out of context.",
             isCompactSummary=True, isVisibleInTranscriptOnly=True)
    s.prompt([{"type": "text", "text": "[Request interrupted by user for tool use]"}])
    s.prompt("<system-reminder>The user opened a file</system-reminder>")
    s.prompt("<task-notification>\n<task-id>b7636e2</task-id>\n<status>completed</status>\n</task-notification>")
    s.prompt("   ")
    s.tool_result("toolu_1", "output")
    s.prompt([{"tool_use_id": "toolu_2", "type": "tool_result", "content": "no toolUseResult field"}])
    # the flags alone decide, whatever the text looks like
    s.prompt("Base directory for this skill: /home/dev/.claude/skills/pdf\n\n# PDF skill", isMeta=True)
    s.prompt([{"type": "text", "text": "Summary:\n1. Primary request: build the importer"}], isCompactSummary=True)
    s.prompt([{"type": "text", "text": "User rejected the edit and said: use tabs"}],
             toolUseResult="User rejected tool use")
    s.compact_boundary(170_251)
    s.response(input=1, output=1)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.prompts == 4
    assert got.compactions == 1
    assert got.title == "/review PR 12"  # the first prompt, shown as typed


@pytest.mark.parametrize(
    "present,expected",
    [
        (("custom", "ai", "summary", "prompt"), "My rename"),
        (("ai", "summary", "prompt"), "Add OAuth login flow"),
        (("summary", "prompt"), "Empty repo setup"),
        (("prompt",), "first thing I asked"),
    ],
)
@pytest.mark.parametrize("titles_first", [True, False])
def test_title_precedence(projects, present, expected, titles_first):
    s = ClaudeSession(sid(1))

    def titles():
        if "custom" in present:
            s.custom_title("My rename")
        if "ai" in present:
            s.ai_title("Add OAuth login flow")
        if "summary" in present:
            s.summary("Empty repo setup")

    if titles_first:
        titles()
    s.prompt("first thing I asked")
    s.response()
    s.prompt("second thing")
    s.response()
    if not titles_first:
        # written in the reverse order of strength: a weaker title must not override a stronger one
        if "summary" in present:
            s.summary("Empty repo setup")
        if "ai" in present:
            s.ai_title("Add OAuth login flow")
        if "custom" in present:
            s.custom_title("My rename")
        if "summary" in present and "ai" in present:
            s.summary("A later summary")
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.title == expected


def test_the_latest_custom_title_wins(projects):
    s = ClaudeSession(sid(1))
    s.custom_title("first name")
    s.prompt("x")
    s.response()
    s.custom_title("second name")
    s.ai_title("ai name")
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.title == "second name"


def test_activity_times_and_metadata(projects):
    s = ClaudeSession(sid(1), git_branch="feature/x")
    s.prompt("x")  # at +2 s
    s.response()  # at +4 s
    s.version = "2.1.40"
    s.prompt("y")  # +6 s
    s.response()  # +8 s
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert got.first_activity == epoch(2) and got.last_activity == epoch(8)
    assert got.git_branch == "feature/x" and got.cli_version == "2.1.40"
    j = got.to_json()
    assert j["first_activity"] == stamp(2) and j["last_activity"] == stamp(8)
    assert j["resume_command"] == f"claude --resume {sid(1)}"


def test_web_searches_and_fast_mode_are_read(projects):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(model=OPUS, input=100, output=100, web_search=3, speed="fast")
    store = load([s.write(claude_main_path(projects, CWD, s.session_id))])
    got = one(store)
    assert got.usage.web_search == 3
    call = next(iter(next(iter(store.sessions.values())).slots.values())).best
    assert call.fast is True


@pytest.mark.parametrize("ts", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                                "2026-02-30T10:00:00Z", "yesterday", 1770000000, None])
def test_a_timestamp_out_of_range_or_odd_never_breaks_the_report(projects, ts):
    """A corrupt timestamp at the edge of the calendar must not crash ISO or local-time display."""
    from tokdash.report.sessions import judge, sessions_json, sessions_table

    s = ClaudeSession(sid(1))
    s.prompt("x")
    r = s.response(input=3, output=30, cache_read=300)
    r.lines[0]["timestamp"] = ts
    s.response(input=1, output=10)
    got = one(load([s.write(claude_main_path(projects, CWD, s.session_id))]))
    assert tokens(got) == usage_dict(s.expected, calls=2)  # the tokens still count
    j = sessions_json(judge([got]))["sessions"][0]
    assert j["first_activity"] == stamp(2) and j["last_activity"] == stamp(6)
    assert "TOTAL" in sessions_table(judge([got]))


# --- lines written with spaces after the separators ----------------------------------------------


def test_lines_with_spaces_after_separators_are_not_missed(tmp_path):
    """``"usage": {`` (Python's ``json.dumps``): the prefilter must not skip what decodes to a
    usage record, a prompt, a compaction or a turn end."""
    import json

    s = ClaudeSession(sid(1), cwd=CWD)
    s.prompt("Fix the flaky test")
    s.response(blocks=[("text", "a"), ("tool_use", "Read", {"file_path": "a.py"})], cache_read=9000, stop_reason=None)
    s.tool_result("toolu_1")
    s.compact_boundary()
    s.response(output=90, stop_reason=None)
    s.system("turn_duration", durationMs=10)
    compact = s.write(tmp_path / "a" / "projects" / "-x" / f"{sid(1)}.jsonl")
    spaced = tmp_path / "b" / "projects" / "-x" / f"{sid(1)}.jsonl"
    spaced.parent.mkdir(parents=True)
    spaced.write_text("".join(json.dumps(line) + "\n" for line in s.lines))
    assert b'"usage": {' in spaced.read_bytes() and b'"usage":{' not in spaced.read_bytes()
    a, b = (next(iter(summaries(load([p])).values())) for p in (compact, spaced))
    assert tokens(b) == tokens(a) and tokens(b)["api_calls"] == 2
    assert (b.prompts, b.compactions, b.tool_uses) == (a.prompts, a.compactions, a.tool_uses) == (1, 1, {"Read": 1})
    ends = lambda p: [e.text for x in load([p]).sessions.values() for e in x.events.values() if e.kind == "turn_end"]  # noqa: E731
    assert ends(spaced) == ends(compact) == ["turn_duration"]
