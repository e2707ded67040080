"""Tips about the prompt cache: a low hit rate, and rewrites after idle gaps."""

from __future__ import annotations

from collections import defaultdict

from tokdash.format import fmt_duration_precise, fmt_pct, fmt_tokens_round
from tokdash.model import bands
from tokdash.model.costs import CallPoint, tier_rates
from tokdash.model.insights.facts import PER_MTOK, Facts, Tip

LOW_CACHE_HIT_RATE = bands.CACHE_HIT_POOR
"""Cache hit rate below which caching is failing (the red band of the hit-rate column)."""
CACHE_HIT_TARGET = bands.CACHE_HIT_GOOD
"""The hit rate a session with a stable prompt prefix reaches (the green band); the saving
of the low-cache tip is what reaching it would save."""
CACHE_TIP_MIN_INPUT_SIDE = 100_000
"""Input-side tokens below which a low hit rate is not worth a tip (short sessions never warm up)."""
CACHE_TIP_MIN_CALLS = 5
"""API calls below which a low hit rate is expected (the first call always writes)."""

CACHE_TTL_5M = 5 * 60
"""Lifetime in seconds of a 5-minute prompt-cache write."""
CACHE_TTL_1H = 60 * 60
"""Lifetime in seconds of a 1-hour prompt-cache write."""
IDLE_REWRITE_MIN_TOKENS = 20_000
"""Cache-write tokens of one call, after an idle gap longer than the TTL, that make it a rewrite
worth reporting (a bare system prompt and tool list is about this size)."""


def cache_hit_low(f: Facts) -> Tip | None:
    """Low cache hit rate: the prompt prefix keeps changing, so it is written instead of read."""
    s = f.summary
    rate = s.cache_hit_rate
    if rate is None or rate >= LOW_CACHE_HIT_RATE:
        return None
    if s.usage.input_side < CACHE_TIP_MIN_INPUT_SIDE or s.api_calls < CACHE_TIP_MIN_CALLS:
        return None
    # Estimate, per model: the tokens that reaching CACHE_HIT_TARGET would move from uncached
    # input / cache writes to cache reads, times (their average price as actually billed in
    # this session - the cache-read price).
    side: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # model -> [input_side, read, non-read]
    for call in f.costs.calls:
        u = call.usage
        acc = side[call.model]
        acc[0] += u.input_side
        acc[1] += u.cache_read
        acc[2] += u.input + u.cache_write
    saving_usd: float | None = 0.0
    moved_total = 0
    for model, (total_side, read, non_read) in side.items():
        moved = max(0.0, CACHE_HIT_TARGET * total_side - read)
        if moved <= 0 or non_read <= 0:
            continue
        moved = min(moved, non_read)
        moved_total += int(moved)
        parts = f.costs.by_model.get(model)
        price = f.price(model)
        if parts is None or price is None:
            saving_usd = None
            continue
        avg_non_read = (parts.input + parts.cache_write) / non_read
        read_rate = parts.cache_read / read if read else price.cache_read / PER_MTOK
        if saving_usd is not None:
            saving_usd += moved * max(avg_non_read - read_rate, 0.0)
    return Tip(
        "cache_hit_low",
        "Low cache hit rate",
        "Most input was sent uncached or written to the cache instead of read from it. Keep the prompt "
        "prefix stable: don't edit CLAUDE.md/AGENTS.md, switch model or change tools mid-session.",
        f"cache hit {fmt_pct(rate)}",
        saving_usd,
        moved_total,
    )


def _ttl(call: CallPoint) -> int:
    """The cache lifetime a call's writes use: 1 h when most of its writes were 1-hour writes."""
    u = call.usage
    return CACHE_TTL_1H if u.cache_write_1h > u.cache_write_5m else CACHE_TTL_5M


def cache_rewrite_after_idle(f: Facts) -> Tip | None:
    """Cache rewrites after a pause longer than the cache TTL."""
    calls = f.main
    hits: list[tuple[CallPoint, float]] = []
    for prev, call in zip(calls, calls[1:]):
        if not prev.timestamp or not call.timestamp:
            continue
        gap = call.timestamp - prev.timestamp
        u = call.usage
        if gap > _ttl(call) and u.cache_write >= IDLE_REWRITE_MIN_TOKENS and u.cache_write > u.cache_read:
            hits.append((call, gap))
    if not hits:
        return None
    # Estimate: had the cache still been warm, the rewritten tokens would have been cache reads:
    # saving = rewritten tokens x (write rate - read rate), at each call's own tier and fast factor.
    saving: float | None = 0.0
    tokens = 0
    for call, _gap in hits:
        u = call.usage
        tokens += u.cache_write
        price = f.price(call.model)
        if price is None:
            saving = None
            continue
        rates = tier_rates(price, u)
        factor = price.fast_multiplier if call.fast else 1.0
        if saving is not None:
            saving += factor * (
                u.cache_write_5m * max(rates.cache_write_5m - rates.cache_read, 0.0)
                + u.cache_write_1h * max(rates.cache_write_1h - rates.cache_read, 0.0)
            ) / PER_MTOK
    longest = max(g for _c, g in hits)
    ttl_text = "1 h" if all(_ttl(c) == CACHE_TTL_1H for c, _g in hits) else "5 min"
    n = len(hits)
    return Tip(
        "cache_rewrite_after_idle",
        "Cache rewritten after idle gaps",
        f"After a pause longer than the cache lifetime ({ttl_text}) the next call wrote the whole context "
        "to the cache again. Before a long break, /compact or finish; start a fresh session for the next "
        "task rather than resuming a large context.",
        f"{n} rewrite{'s' if n != 1 else ''} of {fmt_tokens_round(tokens)} tokens after idle > {ttl_text} "
        f"(longest gap {fmt_duration_precise(longest)})",
        saving,
        tokens,
    )
