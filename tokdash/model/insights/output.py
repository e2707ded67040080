"""Tips about output tokens: whole-file rewrites where an edit would do, an expensive model
spent on small turns."""

from __future__ import annotations

from collections import defaultdict

from tokdash.model.costs import CallPoint, tier_rates
from tokdash.model.insights.facts import PER_MTOK, Facts, Tip, ToolEvent
from tokdash.model.records import EDIT, READ, WRITE

WRITE_OVER_MIN = 2
"""Writes to files that were already read or written in the session before the tip fires."""
EDIT_OUTPUT_TOKENS = 200
"""Output tokens an Edit of the same change is assumed to need (old and new strings)."""
SEEN_KINDS = frozenset({READ, EDIT, WRITE})
"""Tool kinds whose use shows a file already exists (so a later whole-file write rewrites it)."""

EXPENSIVE_OUTPUT_PER_MTOK = 25.0
"""A model whose output price is at least this (USD per million tokens) is expensive (Opus)."""
SMALL_TURN_OUTPUT_TOKENS = 100
"""A call with at most this many output tokens is a small turn (a tool call, a one-liner)."""
SMALL_TURNS_MIN = 50
"""Small turns of an expensive model before the tip fires."""
SMALL_TURNS_SHARE = 0.5
"""...and the share of that model's calls they must be."""
PLACEHOLDER_OUTPUT_MAX = 10
"""Some CLI versions record a placeholder output of at most this many tokens for every call."""
PLACEHOLDER_SHARE = 0.8
"""When this share of a model's calls shows placeholder outputs, output sizes are not trusted."""
CHEAPER_ALTERNATIVES: tuple[tuple[str, str], ...] = (("claude-opus", "claude-sonnet-4-6"),)
"""Model-name prefix -> the cheaper model the small-turns tip prices the same turns on."""


def write_over_edit(f: Facts) -> Tip | None:
    """Write used to rewrite a file that Edit could have changed."""
    seen: set[str] = set()
    rewrites: list[ToolEvent] = []
    for t in f.tools:
        if not t.target:
            continue
        if t.kind == WRITE and t.target in seen:
            rewrites.append(t)
        if t.kind in SEEN_KINDS:
            seen.add(t.target)
    if len(rewrites) < WRITE_OVER_MIN:
        return None
    # Estimate: the call that made the Write spent its output on the whole file; its output
    # (shared evenly among the call's tool uses) minus what an Edit would need
    # (EDIT_OUTPUT_TOKENS), at that call's output rate, plus the carried cost of those tokens
    # (the Write's input stays in the conversation and is re-sent on later calls).
    # Output counts can be lower bounds in some CLI versions, so this is too.
    tokens = 0
    usd: float | None = 0.0
    for t in rewrites:
        calls = f.chains.get(t.chain, [])
        if not (0 <= t.index < len(calls)):
            continue
        call = calls[t.index]
        share = call.usage.output // max(len(call.tools), 1)
        extra = max(share - EDIT_OUTPUT_TOKENS, 0)
        tokens += extra
        price = f.price(call.model)
        if price is None:
            usd = None
        elif usd is not None:
            factor = price.fast_multiplier if call.fast else 1.0
            usd += extra * tier_rates(price, call.usage).output * factor / PER_MTOK
            carried = f.carried_cost(t.chain, t.index, extra)
            usd = None if carried is None else usd + carried
    files = {t.target for t in rewrites}
    return Tip(
        "write_over_edit",
        "Write where Edit would do",
        "Files that already existed were rewritten whole with Write, which spends output tokens on every "
        "line. Ask for Edit (or MultiEdit) to change only what changes.",
        f"{len(rewrites)} rewrites of {len(files)} existing file{'s' if len(files) != 1 else ''}",
        usd,
        tokens,
    )


def _cheaper_alternative(model: str) -> str | None:
    low = model.lower()
    for prefix, alt in CHEAPER_ALTERNATIVES:
        if prefix in low:
            return alt
    return None


def expensive_small_turns(f: Facts) -> Tip | None:
    """An expensive model spent on many small turns."""
    by_model: dict[str, list[CallPoint]] = defaultdict(list)
    for call in f.costs.calls:
        by_model[call.model].append(call)
    best: Tip | None = None
    for model, calls in by_model.items():
        price = f.price(model)
        alt = _cheaper_alternative(model)
        if price is None or alt is None or price.output < EXPENSIVE_OUTPUT_PER_MTOK:
            continue
        alt_price = f.price(alt)
        if alt_price is None:
            continue
        placeholder = sum(1 for c in calls if c.usage.output <= PLACEHOLDER_OUTPUT_MAX)
        if placeholder >= PLACEHOLDER_SHARE * len(calls):
            continue  # this CLI version did not record real output counts
        small = [c for c in calls if c.usage.output <= SMALL_TURN_OUTPUT_TOKENS]
        if len(small) < SMALL_TURNS_MIN or len(small) < SMALL_TURNS_SHARE * len(calls):
            continue
        # Estimate: the same small calls priced on the cheaper model (its standard speed), minus
        # what they cost. Switching model mid-session rebuilds the cache once; not counted.
        spent = sum(c.cost or 0.0 for c in small)
        cheaper = sum(f.prices.cost(alt, c.usage) or 0.0 for c in small)
        saving = max(spent - cheaper, 0.0)
        tip = Tip(
            "expensive_small_turns",
            "Expensive model on small turns",
            f"Most {model} calls produced little output (tool calls, short answers). Start such sessions "
            f"on {alt}, or delegate the mechanical steps to a sub-agent on a cheaper model.",
            f"{len(small)} of {len(calls)} {model} calls ≤ {SMALL_TURN_OUTPUT_TOKENS} output tokens",
            saving,
            None,
        )
        if best is None or (tip.saving_usd or 0.0) > (best.saving_usd or 0.0):
            best = tip
    return best
