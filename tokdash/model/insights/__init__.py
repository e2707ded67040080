"""Tips: advice computed from one session's own numbers, with an estimated saving.

Every tip is a small, explainable rule over what the transcripts recorded — no
model is asked anything. Each rule has a named threshold constant (in its
module, all re-exported here) and a comment stating how its saving is estimated.
A healthy session gets no tips. Rules read tool *kinds* (``ToolUse.kind``,
``Event.tool_kind``: read, edit, write, search, subagent), never tool names, so
they hold for every agent a source tags.

Estimates are deliberately simple and stated in the same units the detail
screen shows. They share one idea, the *carried cost* of tokens put into the
context (``facts.Facts.carried_cost``): a tool result enters the context on the
call after the one that asked for it (billed as a cache write, or as uncached
input where the provider does not bill writes) and is then re-sent as a cache
read on every later call of the same chain until the next compaction. Rates are
the model's base (untiered) rates. Tool-result sizes are bytes of the transcript
line, turned into tokens at ``BYTES_PER_TOKEN``.

One module per family of rules: ``cache`` (hit rate, idle rewrites), ``reads``
(what tool results put into the context), ``output`` (output tokens spent),
``flow`` (context size, thrashing, searches in the main chain); ``facts`` holds
what they share.

Pure Python: no Textual.
"""

from __future__ import annotations

from tokdash.model.costs import SessionCosts, session_costs
from tokdash.model.insights.cache import (
    CACHE_HIT_TARGET,
    CACHE_TIP_MIN_CALLS,
    CACHE_TIP_MIN_INPUT_SIDE,
    CACHE_TTL_1H,
    CACHE_TTL_5M,
    IDLE_REWRITE_MIN_TOKENS,
    LOW_CACHE_HIT_RATE,
    cache_hit_low,
    cache_rewrite_after_idle,
)
from tokdash.model.insights.facts import (
    BYTES_PER_TOKEN,
    EDIT_KINDS,
    MIN_SAVING_USD,
    NO_SIZE_KINDS,
    Facts,
    Tip,
)
from tokdash.model.insights.flow import (
    COMPACT_HORIZON_CALLS,
    COMPACTED_CONTEXT_TOKENS,
    CONTEXT_NEAR_PCT,
    SEARCH_KINDS,
    SEARCH_MIN,
    SUBAGENT_KINDS,
    THRASH_RUN_CALLS,
    context_near_window,
    subagents_for_search,
    thrashing,
)
from tokdash.model.insights.output import (
    CHEAPER_ALTERNATIVES,
    EDIT_OUTPUT_TOKENS,
    EXPENSIVE_OUTPUT_PER_MTOK,
    PLACEHOLDER_OUTPUT_MAX,
    PLACEHOLDER_SHARE,
    SMALL_TURN_OUTPUT_TOKENS,
    SMALL_TURNS_MIN,
    SMALL_TURNS_SHARE,
    WRITE_OVER_MIN,
    expensive_small_turns,
    write_over_edit,
)
from tokdash.model.insights.reads import (
    LARGE_OUTPUT_BYTES,
    LARGE_OUTPUT_KEEP_BYTES,
    REREAD_MIN,
    TARGETED_READ_BYTES,
    WHOLE_READ_BYTES,
    WHOLE_READ_MIN_COUNT,
    large_tool_outputs,
    repeated_reads,
    whole_large_reads,
)
from tokdash.model.pricing import PriceBook
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session

__all__ = [
    "BYTES_PER_TOKEN",
    "CACHE_HIT_TARGET",
    "CACHE_TIP_MIN_CALLS",
    "CACHE_TIP_MIN_INPUT_SIDE",
    "CACHE_TTL_1H",
    "CACHE_TTL_5M",
    "CHEAPER_ALTERNATIVES",
    "COMPACTED_CONTEXT_TOKENS",
    "COMPACT_HORIZON_CALLS",
    "CONTEXT_NEAR_PCT",
    "EDIT_KINDS",
    "EDIT_OUTPUT_TOKENS",
    "EXPENSIVE_OUTPUT_PER_MTOK",
    "IDLE_REWRITE_MIN_TOKENS",
    "LARGE_OUTPUT_BYTES",
    "LARGE_OUTPUT_KEEP_BYTES",
    "LOW_CACHE_HIT_RATE",
    "MIN_SAVING_USD",
    "NO_SIZE_KINDS",
    "PLACEHOLDER_OUTPUT_MAX",
    "PLACEHOLDER_SHARE",
    "REREAD_MIN",
    "SEARCH_KINDS",
    "SEARCH_MIN",
    "SMALL_TURNS_MIN",
    "SMALL_TURNS_SHARE",
    "SMALL_TURN_OUTPUT_TOKENS",
    "SUBAGENT_KINDS",
    "TARGETED_READ_BYTES",
    "THRASH_RUN_CALLS",
    "Tip",
    "WHOLE_READ_BYTES",
    "WHOLE_READ_MIN_COUNT",
    "WRITE_OVER_MIN",
    "tips",
]

_RULES = (
    cache_hit_low,
    cache_rewrite_after_idle,
    repeated_reads,
    whole_large_reads,
    write_over_edit,
    large_tool_outputs,
    context_near_window,
    thrashing,
    subagents_for_search,
    expensive_small_turns,
)
"""Every rule, in the order equal savings are listed."""


def tips(session: Session, summary: SessionSummary, prices: PriceBook, costs: SessionCosts | None = None) -> list[Tip]:
    """Every tip that fires for ``session``, largest estimated saving first.

    ``costs`` may be passed when the caller already priced the session
    (``tokdash.model.costs.session_costs``).
    """
    facts = Facts.build(session, summary, prices, costs or session_costs(session, prices))
    out: list[Tip] = []
    for rule in _RULES:
        tip = rule(facts)
        if tip is not None and (tip.saving_usd is None or tip.saving_usd >= MIN_SAVING_USD):
            out.append(tip)
    out.sort(key=lambda t: (t.saving_usd is None, -(t.saving_usd or 0.0)))
    return out
