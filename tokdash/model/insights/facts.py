"""What every rule reads: the tip type, the session's tool uses placed in time, and the
*carried cost* of tokens put into the context (see the package docstring)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from tokdash.model.costs import CallPoint, SessionCosts
from tokdash.model.pricing import ModelPrice, PriceBook
from tokdash.model.records import EDIT, OTHER, WRITE
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session

PER_MTOK = 1_000_000
"""Prices are quoted in USD per million tokens."""

BYTES_PER_TOKEN = 4
"""Rough size of one token in bytes of English/code text (used for tool-result sizes)."""
MIN_SAVING_USD = 0.05
"""A tip whose priced saving is below this is noise and is not shown (unpriced ones are kept)."""

EDIT_KINDS = frozenset({EDIT, WRITE})
"""Tool kinds whose use means an edit landed (an in-place change or a whole-file write)."""
NO_SIZE_KINDS = EDIT_KINDS
"""Tool kinds whose result is a confirmation of the change, not content for the model to
read: their recorded sizes say nothing about the context, and trimming them saves nothing."""


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


@dataclass(slots=True)
class ToolEvent:
    """A tool use placed in time: which chain, which call of that chain asked for it."""

    ts: float
    rank: tuple
    chain: str | None
    """Sub-agent id, or None for the main chain."""
    index: int
    """Index of the asking call in its chain (-1 when placed by time only)."""
    tool_id: str
    name: str
    """The tool's own name, for figures only: the rules decide by ``kind``."""
    kind: str
    """One of ``tokdash.model.records.TOOL_KINDS``."""
    target: str | None
    whole_file: bool


@dataclass(slots=True)
class Facts:
    """What the rules read, computed once per ``tips`` call."""

    session: Session
    summary: SessionSummary
    prices: PriceBook
    costs: SessionCosts
    chains: dict[str | None, list[CallPoint]] = field(default_factory=dict)
    tools: list[ToolEvent] = field(default_factory=list)
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
    def build(cls, session: Session, summary: SessionSummary, prices: PriceBook, costs: SessionCosts) -> Facts:
        """The facts of one priced session: chains, tool uses in time order, result sizes."""
        f = cls(session, summary, prices, costs)
        for call in costs.calls:
            chain = (call.agent_id or "sidechain") if call.sidechain else None
            f.chains.setdefault(chain, []).append(call)
        for chain, calls in f.chains.items():
            f._stamps[chain] = [c.timestamp for c in calls]
            reads, unpriced = [0.0], [0]
            for c in calls:
                price = f.price(c.model)
                reads.append(reads[-1] + (price.cache_read / PER_MTOK if price is not None else 0.0))
                unpriced.append(unpriced[-1] + (price is None))
            f._read_cum[chain], f._unpriced_cum[chain] = reads, unpriced
            for i, call in enumerate(calls):
                for tid, tool in call.tools.items():
                    f.tools.append(ToolEvent(call.timestamp, call.rank, chain, i, tid, tool.name, tool.kind,
                                             tool.target, tool.whole_file))
        for ev in session.events.values():
            if ev.kind == "tool_output":
                size = ev.value  # bytes of the model's copy (the source leaves out the UI copy)
                f.outputs[ev.text] = max(f.outputs.get(ev.text, 0), size)
            elif ev.kind == "compaction":
                f.compactions.append(ev.timestamp)
            elif ev.kind == "tool":
                # A tool call recorded as an event of its own (not inside an API call): placed
                # among the calls by time.
                chain = ev.agent_id
                index = bisect.bisect_right(f._stamps.get(chain, []), ev.timestamp) - 1
                # The last element of a tool event's key is its call id (see records.Event),
                # which is what its tool_output event names. Rows stored before tool kinds
                # existed have none: ``other``.
                f.tools.append(ToolEvent(ev.timestamp, ev.rank, chain, index, str(ev.key[-1]), ev.text,
                                         ev.tool_kind or OTHER, None, False))
        f.tools.sort(key=lambda t: (t.ts, t.rank))
        f.compactions.sort()
        for t in f.tools:
            if t.kind in NO_SIZE_KINDS:
                f.outputs.pop(t.tool_id, None)
        return f

    @property
    def main(self) -> list[CallPoint]:
        """The main chain's calls, in order."""
        return self.chains.get(None, [])

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or None when it is unpriced."""
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
                usd += tokens * (price.cache_write_5m or price.input) / PER_MTOK
        reads = self._read_cum[chain]
        if stop > index + 2:
            usd += tokens * (reads[stop] - reads[index + 2])
        return usd


def sum_or_none(values: list[float | None]) -> float | None:
    """The sum, or None when any part is unpriced."""
    if any(v is None for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def trim_saving(f: Facts, big: list[tuple[ToolEvent, int]], keep_bytes: int) -> tuple[int, list[float | None]]:
    """Tokens and carried cost (per output) saved if each output were cut to ``keep_bytes``."""
    tokens = 0
    usd: list[float | None] = []
    for t, size in big:
        extra = max(size - keep_bytes, 0) // BYTES_PER_TOKEN
        tokens += extra
        usd.append(f.carried_cost(t.chain, t.index, extra))
    return tokens, usd
