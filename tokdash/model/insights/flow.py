"""Tips about how the session is run: a context near the window, tokens climbing while no
edit lands, wide searches kept in the main chain."""

from __future__ import annotations

import bisect
from collections import defaultdict

from tokdash.format import fmt_pct, fmt_tokens_round
from tokdash.model import bands
from tokdash.model.insights.facts import (
    BYTES_PER_TOKEN,
    EDIT_KINDS,
    PER_MTOK,
    Facts,
    Tip,
    ToolEvent,
    sum_or_none,
)
from tokdash.model.records import READ, SEARCH, SUBAGENT

CONTEXT_NEAR_PCT = bands.CONTEXT_BAD
"""Context size as a share of the window from which the compact tip fires."""
COMPACTED_CONTEXT_TOKENS = 30_000
"""Typical context size right after /compact (system prompt, tools and the summary)."""
COMPACT_HORIZON_CALLS = 10
"""Later calls the compact tip's saving is counted over."""

THRASH_RUN_CALLS = 30
"""Main-chain calls in a row with no edit landing (after the first edit of the session)
while the context grows: the signature of retrying instead of re-planning."""

SEARCH_KINDS = frozenset({SEARCH, READ})
"""Tool kinds of a wide search."""
SUBAGENT_KINDS = frozenset({SUBAGENT})
"""Tool kinds that start a sub-agent."""
SEARCH_MIN = 30
"""Search tool uses in the main chain, with no sub-agent started, before the tip fires."""


def context_near_window(f: Facts) -> Tip | None:
    """The context is close to the model's window."""
    s = f.summary
    pct = s.context_pct
    if pct is None or pct < CONTEXT_NEAR_PCT or not f.main:
        return None
    # Estimate: after /compact the context is about COMPACTED_CONTEXT_TOKENS; each of the next
    # COMPACT_HORIZON_CALLS calls would read that much less from the cache (base read rate of
    # the last main-chain call's model). The compaction call itself is not subtracted.
    last = f.main[-1]
    dropped = max(s.context_tokens - COMPACTED_CONTEXT_TOKENS, 0)
    price = f.price(last.model)
    usd = None if price is None else dropped * price.cache_read / PER_MTOK * COMPACT_HORIZON_CALLS
    return Tip(
        "context_near_window",
        "Context near the window",
        "Every call re-sends the whole context, and near the limit the CLI auto-compacts at a moment it "
        "picks. Run /compact now with a note of what to keep; don't /clear, which drops the thread.",
        f"context {fmt_pct(pct)} of {fmt_tokens_round(s.context_window or 0)}",
        usd,
        dropped * COMPACT_HORIZON_CALLS,
    )


def thrashing(f: Facts) -> Tip | None:
    """Tokens climbing while no edit lands."""
    calls = f.main
    if len(calls) < THRASH_RUN_CALLS:
        return None
    # A main-chain call "lands an edit" when it asks for an edit tool, or when any chain
    # (a sub-agent) edited since the previous main-chain call.
    edit_times = sorted(t.ts for t in f.tools if t.kind in EDIT_KINDS)
    main_edit = {t.index for t in f.tools if t.chain is None and t.kind in EDIT_KINDS}
    landed = []
    for i, call in enumerate(calls):
        prev_ts = calls[i - 1].timestamp if i else float("-inf")
        lo = bisect.bisect_right(edit_times, prev_ts)
        hi = bisect.bisect_right(edit_times, call.timestamp)
        landed.append(i in main_edit or hi > lo)
    if not any(landed):
        return None  # a session that never edits is reading or answering, not thrashing
    first = landed.index(True)
    best: tuple[int, int] | None = None  # the longest run [start, end) of calls without an edit
    start = None
    for i in range(first + 1, len(calls) + 1):
        if i < len(calls) and not landed[i]:
            if start is None:
                start = i
            continue
        if start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best is None or best[1] - best[0] < THRASH_RUN_CALLS:
        return None
    run = calls[best[0]:best[1]]
    if run[-1].usage.input_side <= run[0].usage.input_side:
        return None  # the context did not grow: compaction or a reset in between
    # Estimate: stopping to re-plan when this tip would first have fired (after THRASH_RUN_CALLS
    # calls) would have saved the calls after that point.
    beyond = run[THRASH_RUN_CALLS:]
    usd = sum_or_none([c.cost for c in beyond])
    tokens_run = sum(c.usage.total for c in run)
    return Tip(
        "thrashing",
        "Tokens climbing, few edits landing",
        "Many calls in a row without an edit while the context grows usually means retrying the same "
        "approach. Stop, say what failed, /compact with what you learned and re-plan.",
        f"{len(run)} calls without an edit, {fmt_tokens_round(tokens_run)} tokens",
        usd,
        sum(c.usage.total for c in beyond),
    )


def subagents_for_search(f: Facts) -> Tip | None:
    """Wide searches in the main chain that a sub-agent could have done."""
    if any(t.kind in SUBAGENT_KINDS for t in f.tools if t.chain is None):
        return None
    # Breadth: every search, and each file read once. Reading one file again is not exploring
    # (and is the repeated-reads tip's saving: counted there, not twice).
    searches: list[ToolEvent] = []
    read: set[str] = set()
    for t in f.tools:
        if t.chain is not None or t.kind not in SEARCH_KINDS:
            continue
        if t.kind == READ and t.target:
            if t.target in read:
                continue
            read.add(t.target)
        searches.append(t)
    if len(searches) < SEARCH_MIN:
        return None
    # Estimate: done by a sub-agent, the search results would not be re-sent on every later
    # main-chain call; the saving is their re-send cost (cache reads until compaction). The
    # sub-agent's own calls and its short summary back are not subtracted: an upper estimate.
    tokens = 0
    usd: list[float | None] = []
    for t in searches:
        size = f.outputs.get(t.tool_id, 0) // BYTES_PER_TOKEN
        tokens += size
        usd.append(f.carried_cost(None, t.index, size, first_send=False))
    counts = defaultdict(int)
    for t in searches:
        counts[t.name] += 1
    parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Tip(
        "subagents_for_search",
        "Use a sub-agent for wide searches",
        "Many searches and reads ran in the main conversation, where every result is re-sent on each later "
        "call. Delegate exploration to a sub-agent (Task/Explore): it reads in its own context and returns a summary.",
        f"{len(searches)} searches in the main chain ({parts}), no sub-agent",
        sum_or_none(usd),
        tokens,
    )
