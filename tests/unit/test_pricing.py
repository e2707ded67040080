"""Pricing: table resolution, per-call arithmetic, tiers, fast mode, config overrides.

Expected costs are worked out by hand from the resolved ModelPrice (or from a
ModelPrice built here), so a genai-prices upgrade that changes a rate breaks
only the few tests that pin table values on purpose.
"""

from __future__ import annotations

import pathlib
import sys
from datetime import UTC, datetime

import pytest

from tokdash.model import pricing
from tokdash.model.pricing import ModelPrice, PriceBook
from tokdash.model.config import PriceConfigError, default_config_path, load_config_prices
from tokdash.model.records import Usage

M = 1_000_000
SONNET_45 = "claude-sonnet-4-5-20250929"

# Model strings seen in real transcripts (Claude Code and Codex CLI).
REAL_MODELS = [
    "claude-opus-4-6",
    SONNET_45,
    "claude-haiku-4-5-20251001",
    "claude-opus-4-1-20250805",
    "claude-sonnet-4-20250514",
    "claude-3-5-haiku-20241022",
    "gpt-5.3-codex",
    "gpt-5-codex",
    "gpt-5",
    "gpt-5.1-codex-max",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-sonnet-4-5@20250929",
]
OPENAI_MODELS = ["gpt-5.3-codex", "gpt-5-codex", "gpt-5", "gpt-5.1-codex-max"]


@pytest.fixture(scope="module")
def book() -> PriceBook:
    # A fixed date: the table dates its price changes, and tests must not drift.
    return PriceBook(at=datetime(2026, 11, 1, tzinfo=UTC))


def flat(**kw: float) -> ModelPrice:
    """A hand-made price with round numbers (USD per MTok)."""
    fields = dict(model="m", input=2.0, output=10.0, cache_write_5m=2.5, cache_write_1h=4.0, cache_read=0.2)
    fields.update(kw)
    return ModelPrice(**fields)  # type: ignore[arg-type]


# --- resolution -------------------------------------------------------------


@pytest.mark.parametrize("model", REAL_MODELS)
def test_real_transcript_models_resolve(book: PriceBook, model: str) -> None:
    price = book.resolve(model)
    assert price is not None, model
    assert price.source == "genai-prices"
    assert price.input > 0 and price.output > price.input
    assert 0 < price.cache_read < price.input


@pytest.mark.parametrize("model", OPENAI_MODELS)
def test_openai_models_have_no_cache_write_price(book: PriceBook, model: str) -> None:
    # OpenAI caches implicitly and bills no write; the 1.25x/2x fallback is Anthropic's.
    price = book.resolve(model)
    assert price is not None
    assert price.cache_write_5m == 0.0 and price.cache_write_1h == 0.0


def test_gpt5_rates_come_from_table(book: PriceBook) -> None:
    price = book.resolve("gpt-5")
    assert price is not None
    assert (price.input, price.output, price.cache_read) == (1.25, 10.0, 0.125)
    # Codex's gpt-5-codex is billed as gpt-5.
    assert book.resolve("gpt-5-codex") == price


def test_sonnet_45_table_rates(book: PriceBook) -> None:
    price = book.resolve(SONNET_45)
    assert price is not None
    assert price.model == "claude-sonnet-4-5"
    assert (price.input, price.output, price.cache_write_5m, price.cache_write_1h, price.cache_read) == (
        3.0,
        15.0,
        3.75,
        6.0,
        0.3,
    )
    assert price.web_search_per_request == 0.01  # $10 per 1,000 in the table


def test_vertex_id_prices_as_anthropic_id(book: PriceBook) -> None:
    assert book.resolve("claude-sonnet-4-5@20250929") == book.resolve(SONNET_45)


def test_bedrock_regional_id_uses_aws_price(book: PriceBook) -> None:
    # AWS bills regional ("us.") inference profiles of Sonnet 4.5 at +10%.
    bedrock = book.resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    direct = book.resolve(SONNET_45)
    assert bedrock is not None and direct is not None
    assert bedrock.input == pytest.approx(direct.input * 1.1)
    # Claude on Bedrock keeps the Anthropic fallbacks the AWS table lacks.
    assert bedrock.web_search_per_request == 0.01


@pytest.mark.parametrize("model", ["<synthetic>", "not-a-model-xyz", "", "claude-imaginary-9"])
def test_unknown_model_is_unpriced_not_free(book: PriceBook, model: str) -> None:
    assert book.resolve(model) is None
    assert book.cost(model, Usage(input=1000, output=1000)) is None


def test_resolve_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = pricing._price_from_table

    def counting(model: str, at: datetime) -> ModelPrice | None:
        calls.append(model)
        return real(model, at)

    monkeypatch.setattr(pricing, "_price_from_table", counting)
    book = PriceBook()
    first = book.resolve(SONNET_45)
    assert book.resolve(SONNET_45) is first
    for _ in range(3):
        book.cost(SONNET_45, Usage(input=10, output=10))
    # Misses are cached too: an unknown model is looked up once.
    assert book.cost("nope-model", Usage(input=1)) is None
    assert book.cost("nope-model", Usage(input=1)) is None
    assert calls == [SONNET_45, "nope-model"]


def test_bundled_table_ignores_auto_updated_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    # UpdatePrices installs a fetched snapshot; tokdash must keep using the bundled one.
    from genai_prices import data_snapshot

    monkeypatch.setattr(data_snapshot, "_custom_snapshot", data_snapshot.DataSnapshot([], True))
    assert PriceBook().resolve(SONNET_45) is not None


# --- per-call arithmetic ----------------------------------------------------


def test_one_million_of_each_token_kind_costs_its_rate(book: PriceBook) -> None:
    price = book.resolve(SONNET_45)
    assert price is not None
    # 1M tokens of one kind keeps the request above 200k, so use the tier rates...
    tier = price.tier
    assert tier is not None
    assert book.cost(SONNET_45, Usage(input=M)) == tier.input
    assert book.cost(SONNET_45, Usage(cache_read=M)) == tier.cache_read
    # ...and output alone does not count toward the threshold.
    assert book.cost(SONNET_45, Usage(output=M)) == price.output


def test_one_million_input_tokens_cost_the_input_price(book: PriceBook) -> None:
    price = book.resolve("claude-opus-4-1-20250805")
    assert price is not None and price.tier is None  # no long-context tier: flat
    assert book.cost("claude-opus-4-1-20250805", Usage(input=M)) == price.input == 15.0
    assert book.cost("claude-opus-4-1-20250805", Usage(output=M)) == price.output == 75.0


def test_mixed_call_by_hand(book: PriceBook) -> None:
    price = book.resolve("claude-opus-4-1-20250805")
    assert price is not None and price.tier is None
    usage = Usage(input=1_200, output=3_400, cache_write_5m=5_000, cache_write_1h=20_000, cache_read=90_000)
    expected = (
        1_200 * price.input
        + 3_400 * price.output
        + 5_000 * price.cache_write_5m
        + 20_000 * price.cache_write_1h
        + 90_000 * price.cache_read
    ) / M
    assert book.cost("claude-opus-4-1-20250805", usage) == pytest.approx(expected, rel=1e-12)
    # 15/75 per MTok: 0.018 + 0.255 + 0.09375 + 0.6 + 0.135
    assert expected == pytest.approx(1.10175, rel=1e-12)


def test_reasoning_is_not_billed_twice() -> None:
    # Reasoning tokens are already inside output.
    book = PriceBook({"m": flat()})
    assert book.cost("m", Usage(output=1000, reasoning=800)) == book.cost("m", Usage(output=1000))


def test_one_hour_writes_cost_more_than_five_minute_writes(book: PriceBook) -> None:
    five = book.cost(SONNET_45, Usage(cache_write_5m=100_000))
    hour = book.cost(SONNET_45, Usage(cache_write_1h=100_000))
    assert five == pytest.approx(0.375) and hour == pytest.approx(0.6)


# --- fallbacks --------------------------------------------------------------


def test_config_fallbacks_are_anthropic_multipliers(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[prices."local"]\ninput = 4.0\noutput = 8.0\n')
    price = load_config_prices(path)["local"]
    assert (price.cache_write_5m, price.cache_write_1h, price.cache_read) == (5.0, 8.0, 0.4)
    book = PriceBook(load_config_prices(path))
    usage = Usage(cache_write_5m=M, cache_write_1h=M, cache_read=M)
    assert book.cost("local", usage) == 5.0 + 8.0 + 0.4


def test_table_without_cache_prices_falls_back_for_claude(book: PriceBook) -> None:
    # Claude 2's table entry has only input/output ($8/$24).
    price = book.resolve("claude-2")
    assert price is not None
    assert price.input == 8.0
    assert price.cache_write_5m == 1.25 * 8.0
    assert price.cache_write_1h == 2 * 8.0
    assert price.cache_read == pytest.approx(0.1 * 8.0)
    # No web-search price in the table: Anthropic's $0.01 per request.
    assert price.web_search_per_request == 0.01


# --- tiers ------------------------------------------------------------------


def test_sonnet_45_has_200k_tier(book: PriceBook) -> None:
    price = book.resolve(SONNET_45)
    assert price is not None and price.tier is not None
    assert price.tier_threshold == 200_000
    assert (price.tier.input, price.tier.output, price.tier.cache_read) == (6.0, 22.5, 0.6)


@pytest.mark.parametrize(
    ("usage", "tiered"),
    [
        (Usage(input=200_000, output=1_000), False),
        (Usage(input=200_001, output=1_000), True),
        # Cache reads and writes count toward the threshold, as Anthropic counts them.
        (Usage(input=1, cache_read=150_000, cache_write_5m=49_999, output=1_000), False),
        (Usage(input=1, cache_read=150_000, cache_write_1h=50_000, output=1_000), True),
    ],
)
def test_tier_switches_just_above_threshold(book: PriceBook, usage: Usage, tiered: bool) -> None:
    price = book.resolve(SONNET_45)
    assert price is not None and price.tier is not None
    rates = price.tier if tiered else price
    expected = (
        usage.input * rates.input
        + usage.output * rates.output
        + usage.cache_write_5m * rates.cache_write_5m
        + usage.cache_write_1h * rates.cache_write_1h
        + usage.cache_read * rates.cache_read
    ) / M
    assert book.cost(SONNET_45, usage) == pytest.approx(expected, rel=1e-12)


def test_tier_needs_a_threshold() -> None:
    with pytest.raises(ValueError, match="tier"):
        flat(tier=flat())


def test_whole_request_moves_to_tier_not_just_the_excess() -> None:
    high = flat(input=4.0, output=20.0)
    book = PriceBook({"m": flat(tier_threshold=100, tier=high)})
    assert book.cost("m", Usage(input=100, output=M)) == 10.0 + 100 * 2.0 / M
    assert book.cost("m", Usage(input=101, output=M)) == 20.0 + 101 * 4.0 / M


def test_tier_prices_depend_on_date() -> None:
    # Anthropic dropped Opus 4.6's >200k premium on 2026-03-13; the table dates it.
    before = PriceBook(at=datetime(2026, 2, 11, tzinfo=UTC)).resolve("claude-opus-4-6")
    after = PriceBook(at=datetime(2026, 4, 1, tzinfo=UTC)).resolve("claude-opus-4-6")
    assert before is not None and before.tier_threshold == 200_000 and before.tier is not None
    assert before.tier.input == 10.0
    assert after is not None and after.tier is None and after.input == 5.0


# --- fast mode and web search -----------------------------------------------


def test_fast_multiplier_from_table(book: PriceBook) -> None:
    # Opus 4.8: the first-party entry has a speed=fast variant at 2x.
    opus48 = book.resolve("claude-opus-4-8")
    assert opus48 is not None and opus48.fast_multiplier == 2.0
    # Opus 4.6: no variant, but the table lists "claude-opus-4.6-fast" at 6x.
    opus46 = book.resolve("claude-opus-4-6")
    assert opus46 is not None and opus46.fast_multiplier == 6.0
    # A model with no fast price anywhere is billed at the standard rate.
    sonnet = book.resolve(SONNET_45)
    assert sonnet is not None and sonnet.fast_multiplier == 1.0


def test_fast_call_costs_multiplier_times_standard(book: PriceBook) -> None:
    usage = Usage(input=500, output=2_000, cache_write_1h=10_000, cache_read=80_000)
    slow = book.cost("claude-opus-4-6", usage)
    fast = book.cost("claude-opus-4-6", usage, fast=True)
    assert slow is not None and fast is not None
    assert fast == pytest.approx(6 * slow, rel=1e-12)


def test_web_search_billed_per_request_and_not_by_fast_mode() -> None:
    book = PriceBook({"m": flat(web_search_per_request=0.01, fast_multiplier=3.0)})
    tokens = Usage(output=M)
    with_search = Usage(output=M, web_search=4)
    assert book.cost("m", with_search) == pytest.approx(10.0 + 0.04)
    assert book.cost("m", with_search, fast=True) == pytest.approx(30.0 + 0.04)
    assert book.cost("m", tokens, fast=True) == 30.0


def test_web_search_on_table_model(book: PriceBook) -> None:
    base = book.cost(SONNET_45, Usage(input=1_000))
    searched = book.cost(SONNET_45, Usage(input=1_000, web_search=3))
    assert base is not None and searched is not None
    assert searched - base == pytest.approx(0.03)


# --- config -----------------------------------------------------------------


def test_config_override_wins_over_table(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[ui]\ntheme = 'dark'\n\n"  # other sections belong to someone else
        f'[prices."{SONNET_45}"]\ninput = 1\noutput = 2.0\ncache_read = 0.05\n'
        "cache_write_5m = 1.5\ncache_write_1h = 2.5\n"
    )
    overrides = load_config_prices(path)
    book = PriceBook(overrides)
    price = book.resolve(SONNET_45)
    assert price is overrides[SONNET_45]
    assert price.source == "config" and price.model == SONNET_45
    assert (price.input, price.output, price.cache_read, price.cache_write_5m, price.cache_write_1h) == (
        1.0,
        2.0,
        0.05,
        1.5,
        2.5,
    )
    assert book.cost(SONNET_45, Usage(input=M, output=M)) == 3.0
    # Exact string match only: the Vertex spelling still comes from the table.
    vertex = book.resolve("claude-sonnet-4-5@20250929")
    assert vertex is not None and vertex.source == "genai-prices"


def test_missing_config_file_means_no_overrides(tmp_path: pathlib.Path) -> None:
    assert load_config_prices(tmp_path / "absent.toml") == {}


def test_config_without_prices_section(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[ui]\ntheme = 'dark'\n")
    assert load_config_prices(path) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[prices."m"\ninput = 1\n', "invalid TOML"),
        ('[prices."m"]\ninput = 1.0\n', "missing 'output'"),
        ('[prices."m"]\ninput = 1.0\noutput = -2\n', "output must be a number >= 0"),
        ('[prices."m"]\ninput = true\noutput = 2\n', "input must be a number >= 0"),
        ('[prices."m"]\ninput = "1.0"\noutput = 2\n', "input must be a number >= 0"),
        ('[prices."m"]\ninput = nan\noutput = 2\n', "input must be a number >= 0"),
        ('[prices."m"]\ninput = 1\nouput = 2\n', "unknown key 'ouput'"),
        ('prices = "cheap"\n', "must be a table"),
        ("[prices]\nm = 3\n", "must be a table"),
    ],
)
def test_bad_config_names_file_and_problem(tmp_path: pathlib.Path, text: str, problem: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(PriceConfigError) as caught:
        load_config_prices(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message
    assert isinstance(caught.value, ValueError)


def test_non_utf8_config(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[prices."m"]\ninput = 1\noutput = 2 # \xff\n')
    with pytest.raises(PriceConfigError, match="not UTF-8"):
        load_config_prices(path)


def test_config_path_is_a_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(PriceConfigError, match="cannot read"):
        load_config_prices(tmp_path)


# --- config location ----------------------------------------------------------


def test_default_config_path_linux_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "tokdash" / "config.toml"


@pytest.mark.parametrize("xdg", [None, "", "relative/dir"])
def test_default_config_path_linux_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path, xdg: str | None
) -> None:
    # Unset, empty or relative XDG_CONFIG_HOME all mean ~/.config (the XDG spec).
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert default_config_path() == tmp_path / ".config" / "tokdash" / "config.toml"


def test_default_config_path_macos(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "/ignored/on/macos")
    assert default_config_path() == tmp_path / "Library" / "Application Support" / "tokdash" / "config.toml"


def test_default_config_path_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    assert default_config_path() == tmp_path / "Roaming" / "tokdash" / "config.toml"
