"""The heavy badge means "burning money or looping", and waiting means "your turn": each rule,
on sessions written in each agent's real format, and on the fleet that judges them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.unit.builders import (
    OPUS,
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    codex_id,
    codex_rollout_path,
    epoch,
    load,
    prices,
    summaries,
)
from tokdash.model.activity import DONE, IDLE, IDLE_SECONDS, WAITING, WORKING, CallSeries, session_status
from tokdash.model.fleet import Fleet
from tokdash.model.heavy import HeavyConfigError, HeavyThresholds, heavy_reasons, load_heavy_config, median
from tokdash.model.records import Batch, Call, Event, SessionMeta, Usage
from tokdash.model.session import SessionSummary, summarize, title_of
from tokdash.model.store import Store

T = HeavyThresholds()


def claude_summary(tmp_path, build, sid="11111111-1111-4111-8111-111111111111") -> SessionSummary:
    cs = ClaudeSession(sid)
    build(cs)
    path = cs.write(claude_main_path(tmp_path / "projects", cs.cwd, sid))
    return summaries(load([path]))[sid]


def reasons(s: SessionSummary, **kw) -> set[str]:
    return {t.threshold for t in heavy_reasons(s, T, **kw)}


# --- loop ---------------------------------------------------------------------------------


def test_a_loop_is_many_turns_for_one_prompt_rereading_one_unchanged_file(tmp_path):
    def looping(cs):
        cs.prompt("make the tests pass")
        for i in range(45):
            cs.response(cache_read=20_000, blocks=[("tool_use", "Read", {"file_path": "/w/tool_heavy.jsonl"},
                                                    f"toolu_{i}")])
            cs.tool_result(f"toolu_{i}", "same content")
    s = claude_summary(tmp_path, looping)
    assert s.repeat == ("Read", "/w/tool_heavy.jsonl", 45)
    (r,) = heavy_reasons(s, T)
    assert r.threshold == "loop"
    assert r.text == "loop: 45 turns for 1 prompt, Read tool_heavy.jsonl ×45"


def test_reads_after_edits_or_of_other_parts_are_not_a_loop(tmp_path):
    def working(cs):
        cs.prompt("refactor billing")
        for i in range(45):
            if i % 2:
                cs.response(blocks=[("tool_use", "Edit", {"file_path": "/w/billing.py", "old_string": "a",
                                                           "new_string": "b"}, f"toolu_{i}")])
            else:
                cs.response(blocks=[("tool_use", "Read", {"file_path": "/w/billing.py"}, f"toolu_{i}")])
            cs.tool_result(f"toolu_{i}")
        for i in range(10):  # paging through a big file: other parts each time
            cs.response(blocks=[("tool_use", "Read", {"file_path": "/w/big.log", "offset": i * 100, "limit": 100},
                                 f"toolu_p{i}")])
    s = claude_summary(tmp_path, working)
    assert s.turns_per_prompt == 55
    assert s.repeat == ("Read", "/w/billing.py", 1)  # each read came right after an edit
    assert "loop" not in reasons(s)


def test_a_long_healthy_session_with_many_prompts_is_not_heavy(tmp_path):
    def healthy(cs):
        for p in range(30):
            cs.prompt(f"step {p}")
            for i in range(10):
                tid = f"toolu_{p}_{i}"
                cs.response(input=5, output=400, cache_read=60_000, cache_write_1h=2_000,
                            blocks=[("tool_use", "Read", {"file_path": f"/w/f{i}.py"}, tid)])
                cs.tool_result(tid)
    s = claude_summary(tmp_path, healthy)
    assert s.assistant_turns == 300 and s.prompts == 30
    assert s.cache_hit_rate > 0.9
    assert heavy_reasons(s, T, typical_cost=s.cost, history=50, live=True) == ()


# --- churn ---------------------------------------------------------------------------------


def test_cache_churn_is_a_low_hit_rate_with_large_cache_writes(tmp_path):
    def churning(cs):
        cs.prompt("go")
        for _ in range(20):
            cs.response(input=10, output=300, cache_write_1h=80_000, cache_read=10_000)
    s = claude_summary(tmp_path, churning)
    assert s.cache_hit_rate < 0.3 and s.usage.cache_write == 1_600_000
    (r,) = heavy_reasons(s, T)
    assert r.threshold == "churn" and r.text == "churn: cache hit 11 %, 1.6M tokens written to the cache"


def test_a_session_cheap_in_dollars_is_never_red_for_token_volume(tmp_path):
    def cheap(cs):
        cs.prompt("go")
        for _ in range(20):  # the same churn on Claude 3 Haiku: about $0.50
            cs.response(model="claude-3-haiku-20240307", input=10, output=30, cache_write_5m=80_000)
    s = claude_summary(tmp_path, cheap)
    assert s.cost < T.min_cost and s.usage.cache_write >= T.churn_write_tokens
    assert reasons(s, live=True) == set()


def test_codex_sessions_are_judged_by_spend_not_by_their_uncached_input(tmp_path):
    home = tmp_path / "codex"
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("port the parser")
    for _ in range(30):  # 2.4M tokens of (mostly cached) input: cheap and healthy
        r.call(input=80_000, cached=76_000, output=300)
    path = r.write(codex_rollout_path(home, codex_id(1), epoch(0)))
    s = summaries(load([path]))[codex_id(1)]
    assert s.usage.input + s.usage.output > 80_000  # what made it red before
    assert reasons(s, live=True, typical_cost=s.cost, history=10) == set()


# --- cost and rate over the fleet -------------------------------------------------------------


def fake(key: str, cost: float, **kw) -> SessionSummary:
    base = SessionSummary(
        agent="claude", session_id=key, project=f"/p/{key}", project_name=key, title=key, git_branch=None,
        cli_version=None, paths=[], first_activity=epoch(0), last_activity=epoch(60), usage=Usage(),
        by_model={}, subagents=[], api_calls=1, assistant_turns=1, prompts=1, tool_uses={}, compactions=0,
        rate_limits=0, api_errors=0, context_tokens=0, context_window=None, cost=cost, unpriced_models=[],
        open=False, bad_lines=0)
    return replace(base, **kw)


def test_cost_far_above_the_typical_session_is_heavy():
    fleet = Fleet()
    costs = {"a": 1.0, "b": 1.2, "c": 0.8, "d": 1.1, "e": 0.9, "runaway": 80.0}
    rows = {(("claude", k)): (fake(k, v), CallSeries([]), False) for k, v in costs.items()}
    fleet.update(rows, rows.get, epoch(3600 * 5))
    runaway = fleet.row(("claude", "runaway"))
    assert [t.threshold for t in runaway.heavy] == ["cost"]
    assert runaway.heavy[0].text == "cost: $80.00 > 5x your typical session $1.00"
    assert not any(fleet.row(("claude", k)).heavy for k in "abcde")
    assert fleet.typical_cost(("claude", "runaway")) == 1.0  # the median of the others


def test_the_cost_rule_needs_a_history_and_a_floor():
    s = fake("x", 19.0)
    assert reasons(s, typical_cost=0.5, history=100) == set()  # 38x the typical, but under $20
    assert reasons(replace(s, cost=25.0), typical_cost=0.5, history=3) == set()  # no history yet
    assert reasons(replace(s, cost=25.0), typical_cost=0.5, history=5) == {"cost"}


def test_rate_far_above_the_fleet_needs_a_fleet_and_a_floor():
    s = fake("x", 5.0)
    assert reasons(s, rate=40.0, other_rates=[4.0, 6.0, 5.0]) == {"rate"}
    (r,) = heavy_reasons(s, T, rate=40.0, other_rates=[4.0, 6.0, 5.0])
    assert r.limit == 15.0 and "fleet median $5.00/h" in r.text
    assert reasons(s, rate=40.0, other_rates=[1.0]) == set()  # one other session is no fleet
    assert reasons(s, rate=9.0, other_rates=[1.0, 1.0, 1.0]) == set()  # 9x, but under $10/h


def test_context_near_the_window_flags_live_sessions_only():
    s = fake("x", 5.0, context_tokens=180_000, context_window=200_000)
    assert reasons(s, live=True) == {"context"}
    assert reasons(s, live=False) == set()  # a finished session's context costs nothing more


def test_median():
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([4.0, 1.0, 2.0, 3.0]) == 2.5


# --- waiting -------------------------------------------------------------------------------------


def test_status_waiting_sorts_between_working_and_idle():
    now = epoch(10_000)
    assert session_status(now - 60, False, now, waiting_since=now - 60) == WAITING
    assert session_status(now - IDLE_SECONDS + 1, False, now, waiting_since=now - IDLE_SECONDS + 1) == WAITING
    assert session_status(now - IDLE_SECONDS - 1, False, now, waiting_since=now - IDLE_SECONDS - 1) == DONE
    assert session_status(now - 60, False, now) == WORKING
    assert session_status(now - 600, False, now) == IDLE
    assert session_status(now + 3600, False, now) == DONE  # a clock far ahead never means working


def session_of(events, calls_ts=()):
    store = Store()
    batch = Batch(metas=[SessionMeta("s", "claude", "/p/s.jsonl", cwd="/p")])
    for i, ts in enumerate(calls_ts):
        batch.calls.append(Call(("claude", f"m{i}", None), "s", OPUS, ts, Usage(1, 1), (0, 0.0, "/p/s.jsonl", i)))
    batch.events.extend(events)
    store.add_batch(batch, "claude")
    return store.sessions[("claude", "s")]


def ev(kind, ts, n=0, text=""):
    return Event(("t", kind, n), "s", kind, ts, (0, 0.0, "/p/s.jsonl", 1000 + n), text)


def test_waiting_since_is_the_last_turn_end_with_nothing_after_it():
    s = summarize(session_of([ev("prompt", 10.0, 1, "hi"), ev("turn_end", 30.0, 2)], calls_ts=[20.0]), prices())
    assert s.waiting_since == 30.0
    s = summarize(session_of([ev("prompt", 10.0, 1, "hi"), ev("turn_end", 30.0, 2), ev("prompt", 40.0, 3, "more")],
                             calls_ts=[20.0]), prices())
    assert s.waiting_since is None  # the human answered: the agent is on it
    s = summarize(session_of([ev("turn_end", 30.0, 2)], calls_ts=[20.0, 50.0]), prices())
    assert s.waiting_since is None


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_a_finished_turn_reads_as_waiting_in_each_agents_format(tmp_path, agent):
    """The sources emit turn ends (Claude 2.1's stop_hook_summary, Codex's task_complete)."""
    if agent == "claude":
        cs = ClaudeSession("22222222-2222-4222-8222-222222222222")
        cs.prompt("fix it")
        cs.response(stop_reason=None)
        cs.system("stop_hook_summary", hookCount=0, hookInfos=[], hookErrors=[], preventedContinuation=False)
        cs.system("turn_duration", durationMs=5000)
        path = cs.write(claude_main_path(tmp_path / "projects", cs.cwd, cs.session_id))
        sid = cs.session_id
    else:
        r = CodexRollout(codex_id(2))
        r.session_meta()
        r.turn_context()
        r.user("fix it")
        r.call()
        r._line("event_msg", {"type": "task_complete", "last_agent_message": "done"})
        path = r.write(codex_rollout_path(tmp_path / "codex", codex_id(2), epoch(0)))
        sid = codex_id(2)
    s = summaries(load([path]))[sid]
    assert s.waiting_since is not None and s.waiting_since >= s.last_activity - 1
    assert session_status(s.last_activity, s.open, s.last_activity + 300, s.waiting_since) == WAITING


# --- titles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("prompt", "title"), [
    ("/clear", ""), ("/init", ""), ("/exit", ""), ("  /compact  ", ""),
    ("/review the auth module", "/review the auth module"),
    ("<ide_opened_file>The user opened x.py</ide_opened_file>", ""),
    ("<ide_opened_file>x.py</ide_opened_file>\nFix the rounding bug", "Fix the rounding bug"),
    ("Fix the\nrounding bug", "Fix the rounding bug"),
])
def test_a_bare_slash_command_or_an_ide_notice_is_no_title(prompt, title):
    assert title_of(prompt) == title


def test_the_title_is_the_first_real_prompt(tmp_path):
    def session(cs):
        cs.prompt("/clear")
        cs.prompt("Add per-tenant rate limiting")
        cs.response()
    assert claude_summary(tmp_path, session).title == "Add per-tenant rate limiting"


# --- config ---------------------------------------------------------------------------------------


def test_heavy_config(tmp_path):
    path = tmp_path / "config.toml"
    assert load_heavy_config(path) == HeavyThresholds()
    path.write_text('[prices."x"]\ninput = 1\noutput = 2\n[heavy]\nio_tokens = 50000\ncontext_percent = 90\n'
                    "rate_factor = 5\nrate_floor_usd_per_hour = 2.5\nmin_fleet = 1\ncost_factor = 8\n"
                    "cost_floor_usd = 50\nloop_repeats = 12\nchurn_hit_percent = 20\nmin_cost_usd = 2\n")
    t = load_heavy_config(path)
    assert t == HeavyThresholds(context_share=0.9, rate_factor=5, rate_floor=2.5, min_fleet=1, cost_factor=8,
                                cost_floor=50, loop_repeats=12, churn_hit=0.2, min_cost=2)
    path.write_text("[heavy]\ncost_factor = -1\n")
    with pytest.raises(HeavyConfigError, match="cost_factor"):
        load_heavy_config(path)
    path.write_text("[heavy]\nspeed = 1\n")
    with pytest.raises(HeavyConfigError, match="unknown key 'speed'"):
        load_heavy_config(path)
