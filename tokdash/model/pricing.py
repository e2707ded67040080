"""Pricing: what one API call cost, in USD.

Prices come from the offline snapshot bundled with ``genai-prices`` (never the
network: ``UpdatePrices`` is not used) plus optional user overrides from the
config file. A model string is resolved once into a flat :class:`ModelPrice` of
floats and cached, so pricing a call on the hot path is a dict lookup and a few
multiplications; a full ``genai_prices.calc_price`` costs ~90 µs per call.

Rules (see ``transcript-formats.md`` §4):

- Prices apply per API call, never to a session's aggregate, because the
  long-context tier depends on the size of one request.
- A missing cache price falls back to Anthropic's multipliers of the input
  price: 5-minute write 1.25×, 1-hour write 2×, read 0.1×.
- A model without a known price resolves to ``None`` and is shown as
  "unpriced", never as $0.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tokdash.model.records import Usage

if TYPE_CHECKING:  # genai_prices is imported lazily: loading its table takes ~0.15 s.
    from genai_prices.data_snapshot import DataSnapshot
    from genai_prices.types import ModelInfo, Provider

__all__ = ["SYNTHETIC_MODEL", "ModelPrice", "PriceBook"]

SYNTHETIC_MODEL = "<synthetic>"
"""Claude Code's model name on local error/notice lines: never a billed model."""

# Anthropic's cache multipliers of the base input price, used when a price
# table (or a config override) does not state the cache price itself.
# https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing
CACHE_WRITE_5M_FACTOR = 1.25
CACHE_WRITE_1H_FACTOR = 2.0
CACHE_READ_FACTOR = 0.1

# Anthropic bills server-side web search at $10 per 1,000 requests. The table
# states it for first-party Claude models; Claude ids resolved elsewhere (e.g.
# the Bedrock table) lack it, and a search Claude Code made was still billed.
ANTHROPIC_WEB_SEARCH_PER_REQUEST = 0.01

_PER_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens; per-request for web search."""

    model: str
    """The name resolved in the price table (for display)."""
    input: float
    """Uncached input tokens."""
    output: float
    """Output tokens, reasoning included."""
    cache_write_5m: float
    """Tokens written to the 5-minute prompt cache."""
    cache_write_1h: float
    """Tokens written to the 1-hour prompt cache."""
    cache_read: float
    """Tokens served from the prompt cache."""
    tier_threshold: int | None = None
    """Input-side tokens of ONE request above which ``tier`` applies (e.g. 200_000)."""
    tier: ModelPrice | None = None
    """The rates for a request above ``tier_threshold``; it may itself have a higher tier."""
    web_search_per_request: float = 0.0
    """USD per server-side web search request."""
    fast_multiplier: float = 1.0
    """Factor on the token cost of a call made in fast mode (``speed: "fast"``)."""
    source: str = "genai-prices"
    """Where the price came from: ``"genai-prices"`` or ``"config"`` for a user override."""

    def __post_init__(self) -> None:
        # PriceBook.cost compares against the threshold whenever a tier exists.
        if (self.tier is None) != (self.tier_threshold is None):
            raise ValueError("ModelPrice: tier and tier_threshold go together")


class PriceBook:
    """Resolves model strings to prices, once each, and prices API calls.

    Resolution order: a config override of exactly that model string, then the
    bundled genai-prices table. Prices are taken as of ``at`` (default: when the
    book is made), because the table dates its price changes (e.g. Anthropic
    dropped the >200k tier of Opus 4.6 / Sonnet 4.6 on 2026-03-13).

    Not locked: two threads resolving the same new model at once both compute
    the same value and one wins, which is harmless.
    """

    def __init__(self, overrides: dict[str, ModelPrice] | None = None, *, at: datetime | None = None):
        self._overrides: dict[str, ModelPrice] = dict(overrides or {})
        self._at = at or datetime.now(tz=UTC)
        self._cache: dict[str, ModelPrice | None] = {}
        """model string -> its price, or None when unpriced (misses are cached too:
        a failed lookup is the slowest path of all)."""

    def warm(self) -> None:
        """Load the price table now (~0.1 s), e.g. while worker processes parse transcripts."""
        _snapshot()

    def resolve(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or None when it is unknown (or ``<synthetic>``).

        The first call per model string does the lookup; later calls are a dict hit.
        """
        try:
            return self._cache[model]
        except KeyError:
            pass
        if model == SYNTHETIC_MODEL:
            price = None
        elif model in self._overrides:
            price = self._overrides[model]
        else:
            price = _price_from_table(model, self._at)
        self._cache[model] = price
        return price

    def cost(self, model: str, usage: Usage, *, fast: bool = False) -> float | None:
        """USD of ONE API call of ``model`` with ``usage``; None when the model is unpriced.

        Never call this with a session's summed usage: the long-context tier is
        decided by the size of a single request.
        """
        price = self._cache.get(model)
        if price is None:
            price = self.resolve(model)
            if price is None:
                return None
        # Input-side tokens as Anthropic counts them for the long-context tier:
        # everything the model read, cached or not.
        read = usage.input + usage.cache_write_5m + usage.cache_write_1h + usage.cache_read
        rates = price
        while rates.tier is not None and read > rates.tier_threshold:  # type: ignore[operator]
            rates = rates.tier
        tokens_usd = (
            usage.input * rates.input
            + usage.output * rates.output
            + usage.cache_write_5m * rates.cache_write_5m
            + usage.cache_write_1h * rates.cache_write_1h
            + usage.cache_read * rates.cache_read
        ) / _PER_MTOK
        if fast:
            # Fast mode scales token prices ("the prompt caching multipliers
            # apply on top"); the per-request search fee is not a token price.
            tokens_usd *= price.fast_multiplier
        if usage.web_search:
            return tokens_usd + usage.web_search * rates.web_search_per_request
        return tokens_usd


# --- the genai-prices table -------------------------------------------------

_snapshot_cache: DataSnapshot | None = None

# Bedrock ids: optional cross-region prefix (us., eu., apac., global., ...),
# "anthropic.", the Anthropic id, then a version suffix like "-v1:0".
_BEDROCK_RE = re.compile(r"^(?:[a-z-]+\.)?anthropic\.(claude-.+?)(?:-v\d+(?::\d+)?)?$", re.IGNORECASE)


def _snapshot() -> DataSnapshot:
    """The price table bundled with genai-prices, built once.

    Our own snapshot rather than ``genai_prices.calc_price``'s: that one is
    replaced by whatever ``UpdatePrices`` last fetched, and tokdash stays offline.
    """
    global _snapshot_cache
    if _snapshot_cache is None:
        from genai_prices.data import providers
        from genai_prices.data_snapshot import DataSnapshot

        _snapshot_cache = DataSnapshot(providers=providers, from_auto_update=False)
    return _snapshot_cache


def _candidates(model: str) -> list[tuple[str, str | None]]:
    """(model ref, provider id) pairs to try in order for a transcript's model string."""
    out: list[tuple[str, str | None]] = [(model, None)]
    bedrock = _BEDROCK_RE.match(model)
    if bedrock:
        # The AWS table prices Bedrock ids as Bedrock bills them (regional
        # profiles like "us." carry a 10% premium); fall back to Anthropic's own
        # price for the bare id when AWS does not list it.
        out.append((model, "aws"))
        out.append((bedrock.group(1), None))
    if "@" in model:
        # Vertex writes "claude-sonnet-4-5@20250929" for "claude-sonnet-4-5-20250929".
        out.append((model.replace("@", "-"), None))
    return out


def _anthropic_ref(model: str) -> str:
    """A Bedrock or Vertex Claude id as Anthropic's own API names it."""
    bedrock = _BEDROCK_RE.match(model)
    if bedrock:
        model = bedrock.group(1)
    return model.replace("@", "-")


def _lookup(model: str) -> tuple[Provider, ModelInfo, str] | None:
    """Find ``model`` in the table: (provider, model info, the ref that matched)."""
    snapshot = _snapshot()
    for ref, provider_id in _candidates(model):
        try:
            provider, info = snapshot.find_provider_model(ref, None, provider_id, None)
        except (LookupError, ValueError):
            # An unknown or odd model string must never break the dashboard.
            continue
        return provider, info, ref
    return None


def _is_anthropic(provider: Provider, info: ModelInfo) -> bool:
    """A Claude model, whoever serves it (Anthropic, Bedrock, Vertex)."""
    return provider.id == "anthropic" or "claude" in info.id.lower()


def _base(value: Any) -> Decimal | None:
    """A price value's untiered rate (``TieredPrices.base``), or None."""
    if value is None:
        return None
    return getattr(value, "base", value)


def _rate_for(value: Any, input_side: int) -> float | None:
    """The rate of one price key for a request of ``input_side`` tokens.

    Mirrors genai-prices' ``calc_unit_price``: the highest tier whose ``start``
    is *exceeded* applies to the whole request (a cliff, not a marginal rate).
    """
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return float(value)
    rate = value.base
    for tier in reversed(tiers):
        if input_side > tier.start:
            rate = tier.price
            break
    return float(rate)


def _price_from_table(model: str, at: datetime) -> ModelPrice | None:
    """Build the flat price of ``model`` from the genai-prices table, or None."""
    found = _lookup(model)
    if found is None:
        return None
    provider, info, ref = found
    table = info.get_prices(at)
    values = {
        key: getattr(table, key, None)
        for key in (
            "input_mtok",
            "output_mtok",
            "cache_write_mtok",
            "cache_write_5m_mtok",
            "cache_write_1h_mtok",
            "cache_read_mtok",
            "web_searches_kcount",
        )
    }
    if values["input_mtok"] is None and values["output_mtok"] is None:
        return None  # not priced by text tokens (audio, images...): nothing we can bill
    anthropic = _is_anthropic(provider, info)

    web = _base(values["web_searches_kcount"])
    if web is not None:
        web_search = float(web) / 1000
    else:
        web_search = ANTHROPIC_WEB_SEARCH_PER_REQUEST if anthropic else 0.0
    fast = _fast_multiplier(provider, info, ref, at)

    # Each distinct tier start of any key is a level; a level's rates are what
    # every key costs for a request just above its threshold.
    starts = sorted({tier.start for value in values.values() for tier in getattr(value, "tiers", None) or ()})
    levels = [0, *(start + 1 for start in starts)]
    thresholds: list[int | None] = [*starts, None]

    price: ModelPrice | None = None
    for size, threshold in reversed(list(zip(levels, thresholds, strict=True))):
        rates = {key: _rate_for(value, size) for key, value in values.items()}
        input_rate = rates["input_mtok"] or 0.0
        write_5m = rates["cache_write_5m_mtok"]
        if write_5m is None:
            write_5m = rates["cache_write_mtok"]  # Anthropic's plain "cache write" is the 5m TTL
        write_1h = rates["cache_write_1h_mtok"]
        if anthropic:
            if write_5m is None:
                write_5m = CACHE_WRITE_5M_FACTOR * input_rate
            if write_1h is None:
                write_1h = CACHE_WRITE_1H_FACTOR * input_rate
        else:
            # Other providers (OpenAI, ...) cache implicitly and charge nothing
            # to write; when a table does state a write price, a 1h write with
            # no own price costs the generic write price, as genai-prices does.
            if write_1h is None:
                write_1h = write_5m
            write_5m = write_5m or 0.0
            write_1h = write_1h or 0.0
        cache_read = rates["cache_read_mtok"]
        if cache_read is None:
            cache_read = CACHE_READ_FACTOR * input_rate
        price = ModelPrice(
            model=info.id,
            input=input_rate,
            output=rates["output_mtok"] or 0.0,
            cache_write_5m=write_5m,
            cache_write_1h=write_1h,
            cache_read=cache_read,
            tier_threshold=threshold,
            tier=price,
            web_search_per_request=web_search,
            fast_multiplier=fast,
        )
    return price


def _variant_fast_ratio(info: ModelInfo, at: datetime) -> float | None:
    """The model's own fast-mode factor from its price variants, or None.

    Anthropic's table marks fast mode as a variant ``when={"speed": "fast"}``;
    OpenAI's as ``when={"service_tier": "fast"}``. The factor is the fast
    input rate over the standard one (the tables scale every key alike).
    """
    standard = _base(getattr(info.get_prices(at), "input_mtok", None))
    if not standard:
        return None
    for context in ({"speed": "fast"}, {"service_tier": "fast"}):
        fast = _base(getattr(info.get_prices(at, context), "input_mtok", None))
        if fast is not None and fast != standard:
            return float(fast / standard)
    return None


@functools.lru_cache(maxsize=4)
def _fast_siblings(day: date) -> dict[str, float]:
    """Fast-mode factors of Claude models listed by resellers as a "<model>-fast" sibling.

    The first-party entry of Opus 4.6 / 4.7 has no fast variant, but OpenRouter
    lists ``anthropic/claude-opus-4.6-fast`` at $30/$150 next to $5/$25: the 6x
    Anthropic publishes. Keyed by the Anthropic id (``claude-opus-4-6``), as of ``day``.
    """
    at = datetime(day.year, day.month, day.day, tzinfo=UTC)
    siblings: dict[str, float] = {}
    for provider in _snapshot().providers:
        by_id = {info.id: info for info in provider.models}
        for fast_id, fast_info in by_id.items():
            if "claude" not in fast_id or not fast_id.endswith("-fast"):
                continue
            base_id = fast_id.removesuffix("-fast")
            base_info = by_id.get(base_id)
            if base_info is None:
                continue
            base = _base(getattr(base_info.get_prices(at), "input_mtok", None))
            fast = _base(getattr(fast_info.get_prices(at), "input_mtok", None))
            if base and fast:
                key = base_id.rsplit("/", 1)[-1].replace(".", "-")
                siblings.setdefault(key, float(fast / base))
    return siblings


def _fast_multiplier(provider: Provider, info: ModelInfo, ref: str, at: datetime) -> float:
    """The fast-mode factor of a model, from the table only; 1.0 when it states none.

    Nothing is hard-coded: a model whose fast price no table entry states is
    priced at the standard rate (an under-count, but not a guessed number).
    """
    ratio = _variant_fast_ratio(info, at)
    if ratio is not None:
        return ratio
    if not _is_anthropic(provider, info):
        return 1.0
    # A Claude id served by Bedrock/Vertex: use the first-party model's fast price.
    first_party = next((p for p in _snapshot().providers if p.id == "anthropic"), None)
    canonical = first_party.find_model(_anthropic_ref(ref)) if first_party is not None else None
    if canonical is not None and canonical is not info:
        ratio = _variant_fast_ratio(canonical, at)
        if ratio is not None:
            return ratio
    return _fast_siblings(at.date()).get(canonical.id if canonical is not None else info.id, 1.0)
