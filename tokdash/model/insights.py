"""Tips: advice computed from one session's own numbers, with an estimated saving.

Every tip is a small, explainable rule over what the transcripts recorded — no
model is asked anything. Each rule has a named threshold constant (below) and a
comment stating how its saving is estimated. A healthy session gets no tips.

Estimates are deliberately simple and stated in the same units the detail
screen shows. They share one idea, the *carried cost* of tokens put into the
context (``_Facts.carried_cost``): a tool result enters the context on the call
after the one that asked for it (billed as a cache write, or as uncached input
where the provider does not bill writes) and is then re-sent as a cache read on
every later call of the same chain until the next compaction. Rates are the
model's base (untiered) rates. Tool-result sizes are bytes of the transcript
line, turned into tokens at ``BYTES_PER_TOKEN``.

Pure Python: no Textual.
"""

from __future__ import annotations

import bisect
import os
from collections import defaultdict
from dataclasses import dataclass, field

from tokdash.model.costs import CallPoint, SessionCosts, session_costs, tier_rates
from tokdash.model.pricing import ModelPrice, PriceBook
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session

__all__ = ["Tip", "tips"]

_PER_MTOK = 1_000_000

# --- thresholds ---------------------------------------------------------------

BYTES_PER_TOKEN = 4
"""Rough size of one token in bytes of English/code text (used for tool-result sizes)."""
NO_SIZE_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
"""Tools whose result line is mostly the UI's copy of the file (the model gets a short
confirmation): their recorded sizes say nothing about the context."""

LOW_CACHE_HIT_RATE = 0.30
"""Cache hit rate below which caching is failing (the red band of the hit-rate column)."""
MIN_SAVING_USD = 0.05
"""A tip whose priced saving is below this is noise and is not shown (unpriced ones are kept)."""

CACHE_HIT_TARGET = 0.70
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

REREAD_MIN = 3
"""Reads of the same file, unchanged in between, in one context that make a re-read tip."""
WHOLE_READ_BYTES = 25_000
"""A whole-file Read whose result is at least this many bytes (~6k tokens) is a large read."""
WHOLE_READ_MIN_COUNT = 2
"""Large whole-file reads in a session before the tip fires (one big read is often needed)."""
TARGETED_READ_BYTES = 8_000
"""What a targeted read (offset/limit, or a Grep first) of a large file is assumed to return."""

WRITE_OVER_MIN = 2
"""Writes to files that were already read or written in the session before the tip fires."""
EDIT_OUTPUT_TOKENS = 200
"""Output tokens an Edit of the same change is assumed to need (old and new strings)."""

LARGE_OUTPUT_BYTES = 40_000
"""A tool result at least this large (~10k tokens) is a very large output."""
LARGE_OUTPUT_KEEP_BYTES = 4_000
"""What a trimmed output (``| tail``, ``--quiet``, a narrower query) is assumed to keep."""

CONTEXT_NEAR_PCT = 0.80
"""Context size as a share of the window from which the compact tip fires."""
COMPACTED_CONTEXT_TOKENS = 30_000
"""Typical context size right after /compact (system prompt, tools and the summary)."""
COMPACT_HORIZON_CALLS = 10
"""Later calls the compact tip's saving is counted over."""

THRASH_RUN_CALLS = 30
"""Main-chain calls in a row with no edit landing (after the first edit of the session)
while the context grows: the signature of retrying instead of re-planning."""

SEARCH_TOOLS = frozenset({"Grep", "Glob", "Read"})
"""Tools of a wide search."""
SUBAGENT_TOOLS = frozenset({"Task", "Agent"})
"""Tools that start a sub-agent."""
SEARCH_MIN = 30
"""Search tool uses in the main chain, with no sub-agent started, before the tip fires."""

EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit", "apply_patch"})
"""Tools whose use means an edit landed."""

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


@dataclass(frozen=True, slots=True)
class Tip:
    """One piece of advice, the figure that triggered it and what following it would save."""

    id: str
    """Stable identifier, e.g. ``cache_hit_low``."""
    title: str
    detail: str
    """One or two sentences of advice."""
    figure: str
    """The number that triggered the tip, as text (e.g. ``cache hit 18 %``)."""
    saving_usd: float | None = None
    """Estimated USD saving; None when it cannot be priced."""
    saving_tokens: int | None = None
    """Estimated tokens saved (or moved to a cheaper kind); None when unknown."""


# --- facts shared by the rules ---------------------------------------------------


@dataclass(slots=True)
class _ToolEvent:
    """A tool use placed in time: which chain, which call of that chain asked for it."""

    ts: float
    rank: tuple
    chain: str | None
    """Sub-agent id, or None for the main chain."""
    index: int
    """Index of the asking call in its chain (-1 when placed by time only)."""
    tool_id: str
    name: str
    target: str | None
    whole_file: bool


@dataclass(slots=True)
class _Facts:
    """What the rules read, computed once per ``tips`` call."""

    session: Session
    summary: SessionSummary
    prices: PriceBook
    costs: SessionCosts
    chains: dict[str | None, list[CallPoint]] = field(default_factory=dict)
    tools: list[_ToolEvent] = field(default_factory=list)
    outputs: dict[str, int] = field(default_factory=dict)
    """tool_use id -> estimated bytes of its result as the model got it."""
    compactions: list[float] = field(default_factory=list)
    _stamps: dict[str | None, list[float]] = field(default_factory=dict)
    """Per chain: call timestamps, ascending."""
    _read_cum: dict[str | None, list[float]] = field(default_factory=dict)
    """Per chain: prefix sums of each call's cache-read rate (USD per token)."""
    _unpriced_cum: dict[str | None, list[int]] = field(default_factory=dict)
    """Per chain: prefix counts of unpriced calls."""

    @classmethod
    def build(cls, session: Session, summary: SessionSummary, prices: PriceBook, costs: SessionCosts) -> _Facts:
        f = cls(session, summary, prices, costs)
        for call in costs.calls:
            chain = (call.agent_id or "sidechain") if call.sidechain else None
            f.chains.setdefault(chain, []).append(call)
        for chain, calls in f.chains.items():
            f._stamps[chain] = [c.timestamp for c in calls]
            reads, unpriced = [0.0], [0]
            for c in calls:
                price = f.price(c.model)
                reads.append(reads[-1] + (price.cache_read / _PER_MTOK if price is not None else 0.0))
                unpriced.append(unpriced[-1] + (price is None))
            f._read_cum[chain], f._unpriced_cum[chain] = reads, unpriced
            for i, call in enumerate(calls):
                for tid, tool in call.tools.items():
                    f.tools.append(
                        _ToolEvent(call.timestamp, call.rank, chain, i, tid, tool.name, tool.target, tool.whole_file)
                    )
        for ev in session.events.values():
            if ev.kind == "tool_output":
                size = ev.value  # bytes of the model's copy (the source leaves out the UI copy)
                f.outputs[ev.text] = max(f.outputs.get(ev.text, 0), size)
            elif ev.kind == "compaction":
                f.compactions.append(ev.timestamp)
            elif ev.kind == "tool":
                # Codex: tool calls are events, placed among the calls by time.
                chain = ev.agent_id
                index = bisect.bisect_right(f._stamps.get(chain, []), ev.timestamp) - 1
                # The last element of a tool event's key is its call id (see records.Event),
                # which is what its tool_output event names.
                f.tools.append(_ToolEvent(ev.timestamp, ev.rank, chain, index, str(ev.key[-1]), ev.text, None, False))
        f.tools.sort(key=lambda t: (t.ts, t.rank))
        f.compactions.sort()
        for t in f.tools:
            if t.name in NO_SIZE_TOOLS:
                f.outputs.pop(t.tool_id, None)
        return f

    @property
    def main(self) -> list[CallPoint]:
        return self.chains.get(None, [])

    def price(self, model: str) -> ModelPrice | None:
        return self.prices.resolve(model)

    def carried_cost(self, chain: str | None, index: int, tokens: float, *, first_send: bool = True) -> float | None:
        """USD of ``tokens`` put into the context by call ``index`` of ``chain``'s tool use.

        They are sent fresh on the next call (a cache write at the 5-minute rate — or,
        where the provider bills no writes, uncached input) and read from the cache by
        every later call of the chain until the next compaction. Base rates of each
        call's own model; None when one of those calls is unpriced. ``first_send=False``
        counts the re-sends only. O(log n): prefix sums of the read rates.
        """
        calls = self.chains.get(chain, [])
        n = len(calls)
        if tokens <= 0 or index < 0 or index + 1 >= n:
            return 0.0  # nothing, or the result has not been sent on yet (the chain ended there)
        stamps = self._stamps[chain]
        stop = n  # calls [index + 1, stop) carry the tokens
        if chain is None and self.compactions:
            nxt = bisect.bisect_right(self.compactions, calls[index].timestamp)
            if nxt < len(self.compactions):
                stop = bisect.bisect_right(stamps, self.compactions[nxt])
        if stop <= index + 1:
            return 0.0
        unpriced = self._unpriced_cum[chain]
        if unpriced[stop] - unpriced[index + 1]:
            return None
        usd = 0.0
        if first_send:
            price = self.price(calls[index + 1].model)
            if price is not None:
                usd += tokens * (price.cache_write_5m or price.input) / _PER_MTOK
        reads = self._read_cum[chain]
        if stop > index + 2:
            usd += tokens * (reads[stop] - reads[index + 2])
        return usd


def tips(session: Session, summary: SessionSummary, prices: PriceBook, costs: SessionCosts | None = None) -> list[Tip]:
    """Every tip that fires for ``session``, largest estimated saving first.

    ``costs`` may be passed when the caller already priced the session
    (``tokdash.model.costs.session_costs``).
    """
    facts = _Facts.build(session, summary, prices, costs or session_costs(session, prices))
    out: list[Tip] = []
    for rule in _RULES:
        tip = rule(facts)
        if tip is not None and (tip.saving_usd is None or tip.saving_usd >= MIN_SAVING_USD):
            out.append(tip)
    out.sort(key=lambda t: (t.saving_usd is None, -(t.saving_usd or 0.0)))
    return out


def _sum_or_none(values: list[float | None]) -> float | None:
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _tok(n: float) -> str:
    n = int(n)
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1_000:
        return f"{n / 1_000:.0f}k"
    return str(n)


def _kb(n: int) -> str:
    return f"{n / 1000:.0f} KB"


def _name(path: str | None) -> str:
    if not path:
        return "?"
    return os.path.basename(path.rstrip("/\\")) or path


# --- the rules -------------------------------------------------------------------


def _cache_hit_low(f: _Facts) -> Tip | None:
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
        read_rate = parts.cache_read / read if read else price.cache_read / _PER_MTOK
        if saving_usd is not None:
            saving_usd += moved * max(avg_non_read - read_rate, 0.0)
    return Tip(
        "cache_hit_low",
        "Low cache hit rate",
        "Most input was sent uncached or written to the cache instead of read from it. Keep the prompt "
        "prefix stable: don't edit CLAUDE.md/AGENTS.md, switch model or change tools mid-session.",
        f"cache hit {_pct(rate)}",
        saving_usd,
        moved_total,
    )


def _ttl(call: CallPoint) -> int:
    """The cache lifetime a call's writes use: 1 h when most of its writes were 1-hour writes."""
    u = call.usage
    return CACHE_TTL_1H if u.cache_write_1h > u.cache_write_5m else CACHE_TTL_5M


def _cache_rewrite_after_idle(f: _Facts) -> Tip | None:
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
            ) / _PER_MTOK
    longest = max(g for _c, g in hits)
    ttl_text = "1 h" if all(_ttl(c) == CACHE_TTL_1H for c, _g in hits) else "5 min"
    n = len(hits)
    return Tip(
        "cache_rewrite_after_idle",
        "Cache rewritten after idle gaps",
        f"After a pause longer than the cache lifetime ({ttl_text}) the next call wrote the whole context "
        "to the cache again. Before a long break, /compact or finish; start a fresh session for the next "
        "task rather than resuming a large context.",
        f"{n} rewrite{'s' if n != 1 else ''} of {_tok(tokens)} tokens after idle > {ttl_text} "
        f"(longest gap {_duration(longest)})",
        saving,
        tokens,
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _repeated_reads(f: _Facts) -> Tip | None:
    """The same file read again and again while it did not change."""
    # Per context (chain) and file: runs of reads with no edit of that file in between
    # (an edit by any chain changes the file on disk, so a read after it is fresh).
    unchanged: dict[tuple[str | None, str], list[_ToolEvent]] = defaultdict(list)
    worst: dict[tuple[str | None, str], int] = {}
    redundant: list[_ToolEvent] = []
    for t in f.tools:
        if not t.target:
            continue
        if t.name in EDIT_TOOLS:
            for key in [k for k in unchanged if k[1] == t.target]:
                unchanged[key] = []
            continue
        if t.name != "Read":
            continue
        key = (t.chain, t.target)
        run = unchanged[key]
        run.append(t)
        worst[key] = max(worst.get(key, 0), len(run))
        if len(run) > 1:
            redundant.append(t)
    flagged = {k: n for k, n in worst.items() if n >= REREAD_MIN}
    if not flagged:
        return None
    redundant = [t for t in redundant if (t.chain, t.target) in flagged]
    # Estimate: each redundant re-read put another copy of the file into the context; its
    # carried cost (sent once, then re-read by every later call until compaction) is the
    # saving. Re-reads whose result size was not recorded add tokens 0 (a lower bound).
    tokens = 0
    usd: list[float | None] = []
    for t in redundant:
        size = f.outputs.get(t.tool_id, 0) // BYTES_PER_TOKEN
        tokens += size
        usd.append(f.carried_cost(t.chain, t.index, size))
    (chain, target), count = max(flagged.items(), key=lambda kv: (kv[1], kv[0][1]))
    more = len(flagged) - 1
    figure = f"{_name(target)} read {count}× unchanged" + (f" (+{more} more file{'s' if more > 1 else ''})" if more else "")
    return Tip(
        "repeated_reads",
        "Same file read many times",
        "Each re-read of an unchanged file puts another copy into the context, re-sent on every later call. "
        "Note what you need the first time, or read only the lines you need (offset/limit).",
        figure,
        _sum_or_none(usd),
        tokens,
    )


def _whole_large_reads(f: _Facts) -> Tip | None:
    """Whole large files read into the context."""
    big = [
        (t, f.outputs[t.tool_id])
        for t in f.tools
        if t.name == "Read" and t.whole_file and f.outputs.get(t.tool_id, 0) >= WHOLE_READ_BYTES
    ]
    if len(big) < WHOLE_READ_MIN_COUNT:
        return None
    # Estimate: a targeted read (offset/limit, or Grep then read the hit) returns about
    # TARGETED_READ_BYTES; the carried cost of the difference is the saving.
    tokens, usd = _trim_saving(f, big, TARGETED_READ_BYTES)
    largest_t, largest = max(big, key=lambda p: p[1])
    return Tip(
        "whole_large_reads",
        "Whole large files read",
        "Large files were read whole, and every line stays in the context until compaction. "
        "Grep for the part you need, then read it with offset/limit.",
        f"{len(big)} whole reads ≥ {_kb(WHOLE_READ_BYTES)}, largest {_name(largest_t.target)} {_kb(largest)}",
        _sum_or_none(usd),
        tokens,
    )


def _trim_saving(f: _Facts, big: list[tuple[_ToolEvent, int]], keep_bytes: int) -> tuple[int, list[float | None]]:
    """Tokens and carried cost (per output) saved if each output were cut to ``keep_bytes``."""
    tokens = 0
    usd: list[float | None] = []
    for t, size in big:
        extra = max(size - keep_bytes, 0) // BYTES_PER_TOKEN
        tokens += extra
        usd.append(f.carried_cost(t.chain, t.index, extra))
    return tokens, usd


def _write_over_edit(f: _Facts) -> Tip | None:
    """Write used to rewrite a file that Edit could have changed."""
    seen: set[str] = set()
    rewrites: list[_ToolEvent] = []
    for t in f.tools:
        if not t.target:
            continue
        if t.name == "Write" and t.target in seen:
            rewrites.append(t)
        if t.name in ("Read", "Write", "Edit", "MultiEdit"):
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
            usd += extra * tier_rates(price, call.usage).output * factor / _PER_MTOK
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


def _large_tool_outputs(f: _Facts) -> Tip | None:
    """Very large tool results, carried in the context until compaction."""
    big = []
    for t in f.tools:
        size = f.outputs.get(t.tool_id, 0)
        if size < LARGE_OUTPUT_BYTES:
            continue
        if t.name == "Read" and t.whole_file and size >= WHOLE_READ_BYTES:
            continue  # the whole-file-read tip counts these
        big.append((t, size))
    if not big:
        return None
    # Estimate: trimmed at the source the output would keep LARGE_OUTPUT_KEEP_BYTES; the
    # carried cost of the rest (sent once, re-read by every later call until compaction).
    tokens, usd = _trim_saving(f, big, LARGE_OUTPUT_KEEP_BYTES)
    largest_t, largest = max(big, key=lambda p: p[1])
    n = len(big)
    return Tip(
        "large_tool_outputs",
        "Very large tool outputs",
        "Every tool result stays in the context and is re-sent on each later call until compaction. "
        "Trim at the source: | tail -50, --quiet, a narrower query or a limited read.",
        f"{n} output{'s' if n != 1 else ''} ≥ {_kb(LARGE_OUTPUT_BYTES)}, largest {_kb(largest)} ({largest_t.name})",
        _sum_or_none(usd),
        tokens,
    )


def _context_near_window(f: _Facts) -> Tip | None:
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
    usd = None if price is None else dropped * price.cache_read / _PER_MTOK * COMPACT_HORIZON_CALLS
    return Tip(
        "context_near_window",
        "Context near the window",
        "Every call re-sends the whole context, and near the limit the CLI auto-compacts at a moment it "
        "picks. Run /compact now with a note of what to keep; don't /clear, which drops the thread.",
        f"context {_pct(pct)} of {_tok(s.context_window or 0)}",
        usd,
        dropped * COMPACT_HORIZON_CALLS,
    )


def _thrashing(f: _Facts) -> Tip | None:
    """Tokens climbing while no edit lands."""
    calls = f.main
    if len(calls) < THRASH_RUN_CALLS:
        return None
    # A main-chain call "lands an edit" when it asks for an edit tool, or when any chain
    # (a sub-agent) edited since the previous main-chain call.
    edit_times = sorted(t.ts for t in f.tools if t.name in EDIT_TOOLS)
    main_edit = {t.index for t in f.tools if t.chain is None and t.name in EDIT_TOOLS}
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
    usd = _sum_or_none([c.cost for c in beyond])
    tokens_run = sum(c.usage.total for c in run)
    return Tip(
        "thrashing",
        "Tokens climbing, few edits landing",
        "Many calls in a row without an edit while the context grows usually means retrying the same "
        "approach. Stop, say what failed, /compact with what you learned and re-plan.",
        f"{len(run)} calls without an edit, {_tok(tokens_run)} tokens",
        usd,
        sum(c.usage.total for c in beyond),
    )


def _subagents_for_search(f: _Facts) -> Tip | None:
    """Wide searches in the main chain that a sub-agent could have done."""
    if any(t.name in SUBAGENT_TOOLS for t in f.tools if t.chain is None):
        return None
    searches = [t for t in f.tools if t.chain is None and t.name in SEARCH_TOOLS]
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
        _sum_or_none(usd),
        tokens,
    )


def _cheaper_alternative(model: str) -> str | None:
    low = model.lower()
    for prefix, alt in CHEAPER_ALTERNATIVES:
        if prefix in low:
            return alt
    return None


def _expensive_small_turns(f: _Facts) -> Tip | None:
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


_RULES = (
    _cache_hit_low,
    _cache_rewrite_after_idle,
    _repeated_reads,
    _whole_large_reads,
    _write_over_edit,
    _large_tool_outputs,
    _context_near_window,
    _thrashing,
    _subagents_for_search,
    _expensive_small_turns,
)
