"""Tips and per-kind costs: each tip fires on a session built to trigger it, stays silent on a
healthy one, and its saving is the documented estimate.

Sessions are real transcripts written with ``builders`` and read back through the source and
the store, so tool-result sizes are the bytes the source measures, as in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.builders import (
    CODEX_MODEL,
    HAIKU,
    OPUS,
    SONNET,
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    codex_id,
    codex_rollout_path,
    load,
    prices,
    sid,
)
from tokdash.model import insights
from tokdash.model.costs import call_parts, session_costs, tier_rates
from tokdash.model.insights import Tip, tips
from tokdash.model.records import Usage
from tokdash.model.session import summarize
from tokdash.model.store import Session

M = 1_000_000
CWD = "/home/dev/acme-api"


# --- building sessions ------------------------------------------------------------


class Script:
    """A Claude Code session written call by call; ``tool`` adds one call with one tool use."""

    def __init__(self, n: int = 1, model: str = SONNET) -> None:
        self.cs = ClaudeSession(sid(n), cwd=CWD)
        self.model = model
        self.context = 20_000
        self.tid = 0
        self.cs.prompt("Fix the failing test in the billing module")

    def call(self, *, blocks=None, model=None, input=5, output=150, grow=1_500, write=None, read=None,
             one_hour=False, result: str | None = None, tid: str | None = None, gap: float = 0.0):
        """One call reading the context from cache and writing what was added since the last one."""
        self.cs.clock += gap
        w = grow if write is None else write
        r = self.context if read is None else read
        kw = {"cache_write_1h": w} if one_hour else {"cache_write_5m": w}
        self.cs.response(model=model or self.model, blocks=blocks, input=input, output=output, cache_read=r, **kw)
        self.context = r + w + input
        if result is not None and tid is not None:
            self.cs.tool_result(tid, result)

    def tool(self, name: str, inp: dict | None = None, result: str = "ok", **kw) -> str:
        self.tid += 1
        tid = f"toolu_{self.cs.session_id[:8]}_{self.tid:04d}"
        self.call(blocks=[("tool_use", name, inp or {}, tid)], result=result, tid=tid, **kw)
        return tid

    def edit(self, path: str = "/home/dev/acme-api/billing.py", **kw) -> str:
        return self.tool("Edit", {"file_path": path, "old_string": "a", "new_string": "b"}, **kw)

    def read(self, path: str, result: str = "ok", *, whole: bool = True, **kw) -> str:
        inp = {"file_path": path} if whole else {"file_path": path, "offset": 1, "limit": 80}
        return self.tool("Read", inp, result, **kw)

    def bash(self, result: str = "ok", **kw) -> str:
        return self.tool("Bash", {"command": "pytest -q"}, result, **kw)

    def load(self, tmp_path: Path) -> tuple[Session, object]:
        path = self.cs.write(claude_main_path(tmp_path / "projects", CWD, self.cs.session_id))
        store = load([path])
        session = store.sessions[("claude", self.cs.session_id)]
        return session, summarize(session, prices())


def healthy(n: int = 1, model: str = SONNET, calls: int = 24, output: int = 150) -> Script:
    """A session that should get no tip: warm cache, small results, an edit every few calls."""
    s = Script(n, model)
    s.call(write=20_000, read=0)
    for i in range(calls):
        if i % 3 == 0:
            s.edit(output=output)
        elif i % 3 == 1:
            s.read(f"/home/dev/acme-api/mod{i}.py", "x" * 800, whole=False, output=output)
        else:
            s.bash("2 passed", output=output)
    return s


def run(s: Script, tmp_path: Path) -> tuple[list[Tip], Session, object]:
    session, summary = s.load(tmp_path)
    return tips(session, summary, prices()), session, summary


def by_id(found: list[Tip]) -> dict[str, Tip]:
    return {t.id: t for t in found}


def result_tokens(session: Session, tid: str) -> int:
    """The tool result's size as the tips estimate it: model's copy of the line, in tokens."""
    ev = session.events[("claude-tool-output", tid)]
    return ev.value // insights.BYTES_PER_TOKEN


def price(model: str = SONNET):
    return prices().resolve(model)


# --- healthy -------------------------------------------------------------------------


def test_healthy_session_gets_no_tip(tmp_path):
    found, _session, summary = run(healthy(), tmp_path)
    assert summary.cache_hit_rate > 0.7
    assert found == []


def test_healthy_codex_session_gets_no_tip(tmp_path):
    r = CodexRollout(codex_id(1))
    r.session_meta()
    r.turn_context()
    r.user("add a health endpoint")
    for i in range(40):
        r.tool("apply_patch", custom=True) if i % 4 == 0 else r.tool()
        r.call(input=30_000 + 500 * i, cached=28_000 + 500 * i)
    path = r.write(codex_rollout_path(tmp_path / "codex", r.session_id))
    store = load([path])
    session = store.sessions[("codex", r.session_id)]
    assert tips(session, summarize(session, prices()), prices()) == []


def test_empty_session_gets_no_tip():
    session = Session("claude", "nothing")
    assert tips(session, summarize(session, prices()), prices()) == []


# --- 1. low cache hit rate ---------------------------------------------------------------


def test_low_cache_hit_rate_fires_and_saving_is_reaching_the_target(tmp_path):
    s = Script()
    for _ in range(10):
        s.call(input=20_000, write=5_000, read=1_000)
    found, _session, summary = run(s, tmp_path)
    tip = by_id(found)["cache_hit_low"]
    assert summary.cache_hit_rate < insights.LOW_CACHE_HIT_RATE
    assert tip.figure == f"cache hit {summary.cache_hit_rate * 100:.0f} %"
    # Documented estimate: tokens moved to reads to reach 70 %, times (their average billed
    # price - the read price).
    side, read, non_read = 10 * 26_000, 10 * 1_000, 10 * 25_000
    moved = 0.7 * side - read
    p = price()
    avg = (10 * 20_000 * p.input + 10 * 5_000 * p.cache_write_5m) / M / non_read
    assert tip.saving_tokens == int(moved)
    assert tip.saving_usd == pytest.approx(moved * (avg - p.cache_read / M))
    assert tip.saving_usd > 0


def test_low_cache_hit_rate_is_silent_on_a_short_session(tmp_path):
    s = Script()
    for _ in range(3):  # fewer calls than CACHE_TIP_MIN_CALLS: the cache never had a chance
        s.call(input=20_000, write=5_000, read=1_000)
    found, *_ = run(s, tmp_path)
    assert "cache_hit_low" not in by_id(found)


# --- 2. cache rewrites after an idle gap ---------------------------------------------------


def test_cache_rewrite_after_idle_5m(tmp_path):
    s = healthy()
    s.bash(gap=400, write=80_000, read=0)  # > 5 min later: the whole prefix written again
    found, *_ = run(s, tmp_path)
    tip = by_id(found)["cache_rewrite_after_idle"]
    p = price()
    assert tip.saving_tokens == 80_000
    assert tip.saving_usd == pytest.approx(80_000 * (p.cache_write_5m - p.cache_read) / M)
    assert "idle > 5 min" in tip.figure


def test_one_hour_writes_survive_a_10_minute_gap(tmp_path):
    s = healthy()
    s.bash(gap=600, write=80_000, read=0, one_hour=True)
    found, *_ = run(s, tmp_path)
    assert "cache_rewrite_after_idle" not in by_id(found)


def test_cache_rewrite_after_idle_1h(tmp_path):
    s = healthy()
    s.bash(gap=4_000, write=80_000, read=0, one_hour=True)
    found, *_ = run(s, tmp_path)
    tip = by_id(found)["cache_rewrite_after_idle"]
    p = price()
    assert tip.saving_usd == pytest.approx(80_000 * (p.cache_write_1h - p.cache_read) / M)
    assert "idle > 1 h" in tip.figure


def test_a_gap_followed_by_cache_reads_is_not_a_rewrite(tmp_path):
    s = healthy()
    s.bash(gap=400, write=30_000)  # the cache was still read (a 1h write kept it alive)
    found, *_ = run(s, tmp_path)
    assert "cache_rewrite_after_idle" not in by_id(found)


# --- 3. the same file read many times; whole large files ----------------------------------------


def test_repeated_reads_of_an_unchanged_file(tmp_path):
    s = healthy()
    body = "def handler():\n    return 1\n" * 2_000  # ~29 KB for the model: below the other tips
    app = "/home/dev/acme-api/app.py"
    s.read(app, body, whole=False)
    s.bash()
    again = [s.read(app, body, whole=False), s.read(app, body, whole=False)]
    for _ in range(5):
        s.bash()
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["repeated_reads"]
    assert tip.figure == "app.py read 3× unchanged"
    # Saving: the carried cost of the two redundant copies (sent once, then read by every
    # later call): the first re-read is followed by 6 calls, the second by 5.
    sizes = [result_tokens(session, t) for t in again]
    assert tip.saving_tokens == sum(sizes)
    p = price()
    later_reads = [5, 4]  # calls after each re-read: the first sends it, the rest read it
    expected = sum(n * (p.cache_write_5m + k * p.cache_read) / M for n, k in zip(sizes, later_reads))
    assert tip.saving_usd == pytest.approx(expected)


def test_reads_after_an_edit_are_not_repeats(tmp_path):
    s = healthy()
    body = "x" * 20_000
    for _ in range(3):
        s.read("/home/dev/acme-api/app.py", body)
        s.edit("/home/dev/acme-api/app.py")
    found, *_ = run(s, tmp_path)
    assert "repeated_reads" not in by_id(found)


def test_whole_large_reads(tmp_path):
    s = healthy()
    big = "line of a large module\n" * 4_000  # ~92 KB for the model
    tids = [s.read("/home/dev/acme-api/models.py", big), s.read("/home/dev/acme-api/views.py", big)]
    for _ in range(4):
        s.bash()
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["whole_large_reads"]
    assert tip.figure.startswith("2 whole reads")
    extra = [(result_tokens(session, t) * insights.BYTES_PER_TOKEN - insights.TARGETED_READ_BYTES)
             // insights.BYTES_PER_TOKEN for t in tids]
    assert tip.saving_tokens == pytest.approx(sum(extra), abs=2)
    assert tip.saving_usd > 0
    assert "large_tool_outputs" not in by_id(found)  # counted once, by the read tip


def test_partial_reads_of_large_files_are_fine(tmp_path):
    s = healthy()
    big = "line of a large module\n" * 4_000
    s.read("/home/dev/acme-api/models.py", big, whole=False)
    s.read("/home/dev/acme-api/views.py", big, whole=False)
    found, *_ = run(s, tmp_path)
    assert "whole_large_reads" not in by_id(found)


# --- 4. Write where Edit would do ----------------------------------------------------------


def test_write_over_existing_files(tmp_path):
    s = healthy()
    for name in ("a.py", "b.py"):
        s.read(f"/home/dev/acme-api/{name}", "print(1)\n")
        s.tool("Write", {"file_path": f"/home/dev/acme-api/{name}", "content": "..."}, "ok", output=6_000)
    s.bash()
    s.bash()
    found, *_ = run(s, tmp_path)
    tip = by_id(found)["write_over_edit"]
    assert tip.figure == "2 rewrites of 2 existing files"
    extra = 6_000 - insights.EDIT_OUTPUT_TOKENS
    assert tip.saving_tokens == 2 * extra
    p = price()
    # output at the output rate, then carried: written once, read by each later call
    # (the first Write is followed by 2 + 2 more calls, the second by 2).
    expected = 2 * extra * p.output / M
    expected += extra * (p.cache_write_5m + 3 * p.cache_read) / M
    expected += extra * (p.cache_write_5m + 1 * p.cache_read) / M
    assert tip.saving_usd == pytest.approx(expected)


def test_writing_new_files_is_fine(tmp_path):
    s = healthy()
    for name in ("a.py", "b.py", "c.py"):
        s.tool("Write", {"file_path": f"/home/dev/acme-api/{name}", "content": "..."}, "ok", output=6_000)
    found, *_ = run(s, tmp_path)
    assert "write_over_edit" not in by_id(found)


# --- 5. very large tool outputs --------------------------------------------------------------


def test_large_tool_output_carried_until_compaction(tmp_path):
    s = healthy()
    tid = s.bash("FAILED test_x - AssertionError\n" * 6_000)  # ~190 KB for the model
    for _ in range(4):
        s.bash()
    s.cs.compact_boundary()
    for _ in range(3):
        s.bash()  # after the compaction: no longer carried
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["large_tool_outputs"]
    size = result_tokens(session, tid) * insights.BYTES_PER_TOKEN
    extra = (size - insights.LARGE_OUTPUT_KEEP_BYTES) // insights.BYTES_PER_TOKEN
    assert tip.saving_tokens == pytest.approx(extra, abs=1)
    p = price()
    # sent on the next call (a cache write), read by the 3 calls after it, then compacted away
    assert tip.saving_usd == pytest.approx(tip.saving_tokens * (p.cache_write_5m + 3 * p.cache_read) / M)
    assert "(Bash)" in tip.figure


def test_edit_results_do_not_count_as_large_outputs(tmp_path):
    s = healthy()
    s.edit(result="x" * 200_000)  # the line holds the UI's copy of the file, not the model's
    s.bash()
    found, *_ = run(s, tmp_path)
    assert "large_tool_outputs" not in by_id(found)


# --- 6. context near the window --------------------------------------------------------------


def test_context_near_window(tmp_path):
    s = healthy()
    s.bash(read=165_000, write=5_000)
    found, _session, summary = run(s, tmp_path)
    tip = by_id(found)["context_near_window"]
    assert summary.context_pct >= insights.CONTEXT_NEAR_PCT
    assert tip.figure == "context 85 % of 200k"
    dropped = summary.context_tokens - insights.COMPACTED_CONTEXT_TOKENS
    assert tip.saving_tokens == dropped * insights.COMPACT_HORIZON_CALLS
    assert tip.saving_usd == pytest.approx(dropped * price().cache_read / M * insights.COMPACT_HORIZON_CALLS)


# --- 7. thrashing ------------------------------------------------------------------------------


def test_thrashing_many_calls_without_an_edit(tmp_path):
    s = healthy()
    for _ in range(36):
        s.bash("FAILED", grow=3_000)
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["thrashing"]
    assert tip.figure.startswith("38 calls without an edit")  # the healthy tail's read and bash + 36
    costs = session_costs(session, prices())
    beyond = costs.main_calls[-(38 - insights.THRASH_RUN_CALLS):]
    assert tip.saving_usd == pytest.approx(sum(c.cost for c in beyond))
    assert tip.saving_tokens == sum(c.usage.total for c in beyond)


def test_exploring_before_the_first_edit_is_not_thrashing(tmp_path):
    s = Script()
    for i in range(40):
        s.read(f"/home/dev/acme-api/m{i}.py", "x" * 100, whole=False)
    s.edit()
    found, *_ = run(s, tmp_path)
    assert "thrashing" not in by_id(found)


def test_codex_thrashing_counts_apply_patch_as_edits(tmp_path):
    r = CodexRollout(codex_id(2))
    r.session_meta()
    r.turn_context()
    r.user("make the build green")
    r.tool("apply_patch", custom=True)
    r.call()
    for i in range(35):
        r.tool()
        r.call(input=30_000 + 2_000 * i, cached=28_000 + 2_000 * i)
    path = r.write(codex_rollout_path(tmp_path / "codex", r.session_id))
    session = load([path]).sessions[("codex", r.session_id)]
    found = by_id(tips(session, summarize(session, prices()), prices()))
    assert found["thrashing"].figure.startswith("35 calls without an edit")


# --- 8. sub-agents for wide searches ------------------------------------------------------------


def test_wide_search_in_main_chain(tmp_path):
    s = healthy()
    tids = []
    for i in range(insights.SEARCH_MIN):
        tids.append(s.tool("Grep", {"pattern": f"def f{i}"}, "src/x.py:1: def f\n" * 100))
    s.bash()
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["subagents_for_search"]
    # the healthy part's 8 partial Reads count too
    assert tip.figure.startswith(f"{insights.SEARCH_MIN + 8} searches in the main chain")
    # saving: re-sends only (cache reads of each result by every call after the next one)
    p = price()
    n = len(tids)
    expected = sum(result_tokens(session, t) * (n - 1 - i) * p.cache_read / M for i, t in enumerate(tids))
    reads = [t for t in (f"toolu_{s.cs.session_id[:8]}_{k:04d}" for k in range(1, 25))
             if ("claude-tool-output", t) in session.events]
    assert tip.saving_usd >= expected > 0
    assert reads  # the healthy part's results are there too (and add their own re-sends)


def test_wide_search_with_a_subagent_is_fine(tmp_path):
    s = healthy()
    s.tool("Task", {"description": "find callers", "prompt": "..."})
    for i in range(insights.SEARCH_MIN):
        s.tool("Grep", {"pattern": f"def f{i}"}, "src/x.py:1: def f\n" * 100)
    found, *_ = run(s, tmp_path)
    assert "subagents_for_search" not in by_id(found)


def test_one_file_read_again_and_again_is_not_a_wide_search(tmp_path):
    """A loop re-reading one file gets the repeated-reads tip, not a second one over the same
    copies: re-reading is not exploring, and its saving is counted once."""
    s = healthy()
    body = "def handler():\n    return 1\n" * 200
    for _ in range(insights.SEARCH_MIN + 10):
        s.read("/home/dev/acme-api/retry.py", body, whole=False)
        s.bash("1 failed")
    found = by_id(run(s, tmp_path)[0])
    assert found["repeated_reads"].figure.startswith("retry.py read ")
    assert "subagents_for_search" not in found


# --- 9. expensive model on small turns ------------------------------------------------------------


def test_expensive_model_on_small_turns(tmp_path):
    s = healthy(model=OPUS, calls=60, output=60)
    found, session, _summary = run(s, tmp_path)
    tip = by_id(found)["expensive_small_turns"]
    assert tip.figure.startswith("60 of 61 claude-opus-4-6 calls")  # the first call wrote 150
    costs = session_costs(session, prices())
    small = [c for c in costs.calls if c.usage.output <= insights.SMALL_TURN_OUTPUT_TOKENS]
    expected = sum(c.cost - prices().cost("claude-sonnet-4-6", c.usage) for c in small)
    assert tip.saving_usd == pytest.approx(expected)
    assert tip.saving_usd > 0


def test_small_turns_on_a_cheap_model_are_fine(tmp_path):
    found, *_ = run(healthy(model=HAIKU, calls=60, output=60), tmp_path)
    assert "expensive_small_turns" not in by_id(found)


def test_placeholder_outputs_are_not_small_turns(tmp_path):
    s = Script(model=OPUS)
    s.call(write=20_000, read=0, output=1)
    for i in range(60):
        s.edit(output=1) if i % 3 == 0 else s.bash(output=1)  # CLI 2.1.12-2.1.3x placeholders
    found, *_ = run(s, tmp_path)
    assert "expensive_small_turns" not in by_id(found)


# --- common rules ------------------------------------------------------------------------------------


def test_tips_are_sorted_by_saving_and_tiny_ones_dropped(tmp_path):
    s = healthy()
    s.bash(gap=400, write=80_000, read=0)
    s.bash("E" * 300_000)
    for _ in range(10):
        s.bash()
    found, *_ = run(s, tmp_path)
    savings = [t.saving_usd for t in found]
    assert len(found) >= 2
    assert savings == sorted(savings, reverse=True)
    assert all(t.saving_usd is None or t.saving_usd >= insights.MIN_SAVING_USD for t in found)
    for t in found:
        assert t.title and t.detail and t.figure


def test_every_threshold_is_documented():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(insights))
    body = tree.body
    for i, node in enumerate(body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper():
            nxt = body[i + 1] if i + 1 < len(body) else None
            if node.targets[0].id.startswith("_"):
                continue
            assert isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant), node.targets[0].id


# --- costs by kind ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model,usage,fast",
    [
        (SONNET, Usage(input=1_000, output=2_000, cache_write_5m=3_000, cache_write_1h=4_000, cache_read=5_000), False),
        (SONNET, Usage(input=10, output=500, cache_write_1h=50_000, cache_read=180_000, web_search=2), False),  # tier
        (OPUS, Usage(input=100, output=900, cache_write_5m=2_000, cache_read=90_000, web_search=1), True),  # fast
        (CODEX_MODEL, Usage(input=4_000, output=700, cache_read=30_000, reasoning=300), False),
    ],
)
def test_call_parts_sum_to_the_price_book(model, usage, fast):
    p = prices().resolve(model)
    parts = call_parts(p, usage, fast=fast)
    assert parts.total == pytest.approx(prices().cost(model, usage, fast=fast))


def test_tier_rates_follow_the_request_size():
    p = price()
    assert tier_rates(p, Usage(input=200_000)) is p
    assert tier_rates(p, Usage(input=1, cache_read=200_000)) is p.tier


def test_session_costs_match_the_summary(tmp_path):
    s = healthy(model=OPUS)
    s.call(model=HAIKU)
    session, summary = s.load(tmp_path)
    costs = session_costs(session, prices())
    assert costs.total == pytest.approx(summary.cost)
    assert set(costs.by_model) == set(summary.by_model)
    for model, parts in costs.by_model.items():
        assert parts.total == pytest.approx(summary.by_model[model].cost)
    assert [c.timestamp for c in costs.calls] == sorted(c.timestamp for c in costs.calls)
