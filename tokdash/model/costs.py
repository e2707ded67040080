"""Cost of a session split by token kind, by model and by call.

``PriceBook.cost`` answers "what did this call cost" as one number. The detail
screen and the tips also need *where* the money went (input, output, cache
writes, cache reads, web searches) and the cost of every call in time order (for
the timeline). This module prices each call with the same rules as
``PriceBook.cost`` — per call, the long-context tier chosen by the size of that
one request, the fast-mode factor on token prices but not on the search fee — and
keeps the parts apart. ``CostParts.total`` of a call equals ``PriceBook.cost``
(a unit test holds it to that).

Pure Python: no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokdash.model.pricing import ModelPrice, PriceBook
from tokdash.model.records import ToolUse, Usage
from tokdash.model.store import Session

__all__ = ["KINDS", "CallPoint", "CostParts", "SessionCosts", "call_parts", "session_costs", "tier_rates"]

_PER_MTOK = 1_000_000

KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "web_search")
"""The kinds a cost is split into, in display order."""


@dataclass(slots=True)
class CostParts:
    """USD by kind. ``web_search`` is the per-request search fee, not tokens."""

    input: float = 0.0
    output: float = 0.0
    cache_write_5m: float = 0.0
    cache_write_1h: float = 0.0
    cache_read: float = 0.0
    web_search: float = 0.0

    @property
    def total(self) -> float:
        """The sum of every kind."""
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read + self.web_search

    @property
    def cache_write(self) -> float:
        """Both cache-write TTLs."""
        return self.cache_write_5m + self.cache_write_1h

    def add(self, other: CostParts) -> None:
        """Add another split in place."""
        self.input += other.input
        self.output += other.output
        self.cache_write_5m += other.cache_write_5m
        self.cache_write_1h += other.cache_write_1h
        self.cache_read += other.cache_read
        self.web_search += other.web_search


def tier_rates(price: ModelPrice, usage: Usage) -> ModelPrice:
    """The rates that apply to ONE request of ``usage``: the highest tier its input side exceeds."""
    read = usage.input_side
    rates = price
    while rates.tier is not None and rates.tier_threshold is not None and read > rates.tier_threshold:
        rates = rates.tier
    return rates


def call_parts(price: ModelPrice, usage: Usage, *, fast: bool = False) -> CostParts:
    """USD of one API call by kind; the parts sum to ``PriceBook.cost`` of the same call."""
    rates = tier_rates(price, usage)
    factor = price.fast_multiplier if fast else 1.0
    # Fast mode scales token prices; the per-request search fee is not a token price.
    return CostParts(
        input=usage.input * rates.input / _PER_MTOK * factor,
        output=usage.output * rates.output / _PER_MTOK * factor,
        cache_write_5m=usage.cache_write_5m * rates.cache_write_5m / _PER_MTOK * factor,
        cache_write_1h=usage.cache_write_1h * rates.cache_write_1h / _PER_MTOK * factor,
        cache_read=usage.cache_read * rates.cache_read / _PER_MTOK * factor,
        web_search=usage.web_search * rates.web_search_per_request,
    )


@dataclass(slots=True)
class CallPoint:
    """One deduplicated API call of a session, priced, for the timeline and the tips."""

    timestamp: float
    model: str
    usage: Usage
    cost: float | None
    """USD; None when the model is unpriced."""
    sidechain: bool
    agent_id: str | None
    fast: bool
    rank: tuple
    tools: dict[str, ToolUse] = field(default_factory=dict)
    """tool_use id -> tool use this call asked for (the results arrive before the next call)."""


@dataclass(slots=True)
class SessionCosts:
    """A session's cost split by kind and by model, and its calls in time order."""

    by_kind: CostParts = field(default_factory=CostParts)
    by_model: dict[str, CostParts] = field(default_factory=dict)
    calls: list[CallPoint] = field(default_factory=list)
    """Every call (main chain and sub-agents), sorted by (timestamp, rank)."""
    unpriced: set[str] = field(default_factory=set)

    @property
    def total(self) -> float:
        """USD of every priced call."""
        return self.by_kind.total

    @property
    def main_calls(self) -> list[CallPoint]:
        """The main chain's calls (no sub-agents), in time order."""
        return [c for c in self.calls if not c.sidechain]


def session_costs(session: Session, prices: PriceBook) -> SessionCosts:
    """Price every call of ``session`` by kind; calls of unpriced models add nothing to the USD."""
    out = SessionCosts()
    for slot in session.slots.values():
        c = slot.best
        price = prices.resolve(c.model)
        cost: float | None = None
        if price is None:
            out.unpriced.add(c.model)
        else:
            parts = call_parts(price, c.usage, fast=c.fast)
            cost = parts.total
            out.by_kind.add(parts)
            model_parts = out.by_model.get(c.model)
            if model_parts is None:
                model_parts = out.by_model[c.model] = CostParts()
            model_parts.add(parts)
        out.calls.append(
            CallPoint(c.timestamp, c.model, c.usage, cost, c.sidechain, c.agent_id, c.fast, c.rank, slot.tools)
        )
    out.calls.sort(key=lambda p: (p.timestamp, p.rank))
    return out
