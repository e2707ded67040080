"""What tokdash says in words: the help's formulas and rules, honesty notes, the empty state.

Numbers in the rules (status ages, heavy thresholds, tip thresholds, colour bands)
are read from the modules that apply them, and the agents from the registry
(``tokdash.sources.SOURCES``), so the text cannot drift from what the code does.
No Textual here: screens render these rows.
"""

from __future__ import annotations

from rich.text import Text

from tokdash.format import clean, fmt_pct
from tokdash.model import activity, bands, heavy, insights
from tokdash.model.heavy import HeavyThresholds
from tokdash.model.pricing import CACHE_READ_FACTOR, CACHE_WRITE_1H_FACTOR, CACHE_WRITE_5M_FACTOR
from tokdash.sources import SOURCES

Rows = list[tuple[str, str]]

HONESTY = (
    "Token counts are read from the agents' own transcripts. Input and output counts are lower "
    "bounds in some CLI versions (Claude Code 2.1.12–2.1.3x wrote placeholder outputs); cache "
    "counts are exact. Costs are estimates from a public price table (genai-prices, offline), "
    "priced per call; a model without a known price is shown as unpriced, never as $0."
)
"""What every figure is worth, at length (the detail screen and the help)."""
HEADER_HONESTY = "in/out can be lower bounds (cache exact) · costs are estimates from a public price table"
"""The same, on one line of the header."""
HEADER_HONESTY_SHORT = "in/out ≤ real · costs estimated"
ARCHIVED_NOTE = (
    "ARCHIVED: every transcript file of this session is gone (Claude Code deletes them after 30 days); "
    "its numbers come from tokdash's index."
)
PLAIN_TEXT_NOTE = ("Strings from transcripts (paths, titles, prompts, model and tool names) are shown as plain "
                   "text, with control characters removed.")


def _seconds(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def heavy_keys() -> str:
    """``rate_factor = 3, ..., context_percent = 80``: the ``[heavy]`` config keys and their defaults."""
    defaults = HeavyThresholds()
    parts = []
    for key, (attr, scale) in heavy.CONFIG_KEYS.items():
        value = round(getattr(defaults, attr) / scale, 6)
        # As it would be written in config.toml: 1_000_000, not 1e+06.
        parts.append(f"{key} = {int(value):_}" if value == int(value) else f"{key} = {value:g}")
    return ", ".join(parts)


def formulas() -> Rows:
    """How every number is computed."""
    return [
        ("total tokens", "input + output + cache write + cache read (reasoning is part of output). Input is "
                         "uncached input: Codex's cached part is moved to cache read."),
        ("cache hit rate", "cache_read / (input + cache_write + cache_read): the share of input-side tokens "
                           f"served from the cache. Green ≥ {fmt_pct(bands.CACHE_HIT_GOOD)}, amber "
                           f"{bands.CACHE_HIT_POOR * 100:.0f}–{bands.CACHE_HIT_GOOD * 100:.0f} %, red < "
                           f"{fmt_pct(bands.CACHE_HIT_POOR)}."),
        ("context", "the last main-chain call's input + cache read + cache write, against the model's "
                    "context window (Claude 200k, or 1M when a call was larger or the model says [1m]). "
                    f"Amber from {fmt_pct(bands.CONTEXT_WARN)}, red from {fmt_pct(bands.CONTEXT_BAD)}."),
        ("cost per call", "input × input price + output × output price + 5m writes × 5m-write price + 1h writes "
                          "× 1h-write price + cache reads × read price + web searches × fee per search. Summed "
                          "per call, never priced on a session's totals."),
        ("cache prices", f"where the price table lacks them (Claude): 5-minute write {CACHE_WRITE_5M_FACTOR:g}× "
                         f"input, 1-hour write {CACHE_WRITE_1H_FACTOR:g}× input, read {CACHE_READ_FACTOR:g}× input."),
        ("long context", "a request whose input side (input + cache write + cache read) is above a model's tier "
                         "threshold (e.g. 200k) is priced wholly at the tier's rates."),
        ("fast mode", "token prices × the model's fast-mode multiplier from the table (e.g. 6× for Opus 4.6); "
                      "the web-search fee is not multiplied."),
        ("web search", "server-side searches billed per request ($10 per 1,000 for Claude)."),
        ("unpriced", "a model without a known price is shown as unpriced; costs that include it end in + "
                     "(a lower bound), never $0."),
        ("burn rate", f"tokens/min and $/h over the last {_seconds(activity.BURN_WINDOW_SECONDS)}."),
        ("duration", "first to last activity of the session (calls and events)."),
        ("history", "each API call counts on the day of its own timestamp, in local time. Bars show cost per "
                    "day (tokens when nothing in the window has a price); the tables sum the same 30 days per "
                    "project (working directory) and per model."),
    ]


def rules(h: HeavyThresholds) -> Rows:
    """Status, heavy sessions, dedup: the rules behind the signals."""
    return [
        ("working", f"last activity less than {_seconds(activity.WORKING_SECONDS)} ago, or the last call "
                    f"still open (no stop reason) and less than {_seconds(activity.OPEN_CALL_GRACE_SECONDS)} "
                    "ago."),
        ("waiting ◆", "the agent ended its turn (Claude Code's end-of-turn lines, Codex's task_complete...) "
                      "and nothing came after it, less than "
                      f"{_seconds(activity.IDLE_SECONDS)} ago: it waits for you. Counted in the header."),
        ("idle", f"not working, last activity less than {_seconds(activity.IDLE_SECONDS)} ago."),
        ("done", "anything older, or dated in the future by a wrong clock (the detail says so)."),
        ("archived", "every transcript file of the session is gone (Claude Code deletes them after 30 days); "
                     "tokdash's index keeps its numbers. Shown dimmed as ◌ archived."),
        ("default sort", "working first (by start time, so parallel agents keep their places), then waiting "
                         "(longest wait first), then by last activity. s moves the sort to the next column, "
                         "S reverses, a click on any header sorts by it."),
        ("heavy ▲", "red, bold, with a ▲ badge: the session is burning money or looping. Any of: "
                    f"rate: spend over the last {_seconds(activity.BURN_WINDOW_SECONDS)} above {h.rate_factor:g}× "
                    f"the median $/h of the other working sessions and above ${h.rate_floor:g}/h (with at least "
                    f"{h.min_fleet} others); cost: above {h.cost_factor:g}× your typical session (the median of the "
                    f"others, with at least {h.min_history}) and above ${h.cost_floor:g}; loop: at least "
                    f"{h.loop_turns_per_prompt:g} assistant turns per prompt with one file read whole "
                    f"{h.loop_repeats}+ times unchanged; churn: cache hit below {fmt_pct(h.churn_hit)} with "
                    f"{h.churn_write_tokens:,}+ tokens written to the cache; context: a live session above "
                    f"{fmt_pct(h.context_share)} of its window. churn and context need a session that cost at least "
                    f"${h.min_cost:g}. The detail screen and the JSON name each reason with its figure."),
        ("[heavy]", "keys of the config file's [heavy] table, with their defaults: " + heavy_keys() + "."),
        ("project", "the shortest tail of the working directory that no other project shares (worktrees/2)."),
        ("hit !", "a cache hit rate in the red band ends in ! (readable without colour)."),
        ("dedup", "each API call is counted once across every file, keyed by message and request id, keeping "
                  "its most complete copy (a main-chain copy over a replay, else the larger total)."),
    ]


def tip_rules() -> Rows:
    """When each tip fires and how its saving is estimated."""
    i = insights
    return [
        ("tips", "computed from the session's own numbers, each with the figure that triggered it and an "
                 "estimated saving; none when healthy, none below "
                 f"${i.MIN_SAVING_USD:g}. Savings count a tool result as sent once, then re-read from the "
                 "cache by every later call until compaction."),
        ("low cache hit", f"hit rate below {fmt_pct(i.LOW_CACHE_HIT_RATE)} (≥ {i.CACHE_TIP_MIN_CALLS} calls); "
                          f"saving: reaching {fmt_pct(i.CACHE_HIT_TARGET)}."),
        ("idle rewrite", "a call after a gap longer than the cache lifetime (5 min, 1 h for 1-hour writes) that "
                         f"wrote ≥ {i.IDLE_REWRITE_MIN_TOKENS:,} tokens; saving: write minus read price."),
        ("re-reads", f"the same file read {i.REREAD_MIN}+ times unchanged in one context; whole-file reads "
                     f"≥ {i.WHOLE_READ_BYTES // 1000} KB ({i.WHOLE_READ_MIN_COUNT}+)."),
        ("Write vs Edit", f"{i.WRITE_OVER_MIN}+ Writes to files already read or written."),
        ("large outputs", f"a tool result ≥ {i.LARGE_OUTPUT_BYTES // 1000} KB (~{i.BYTES_PER_TOKEN} bytes per "
                          "token)."),
        ("near the window", f"context ≥ {fmt_pct(i.CONTEXT_NEAR_PCT)}: compact, don't clear."),
        ("thrashing", f"{i.THRASH_RUN_CALLS}+ main-chain calls in a row with no edit while the context grows."),
        ("wide search", f"{i.SEARCH_MIN}+ Grep/Glob/Read in the main chain and no sub-agent."),
        ("small turns", f"{i.SMALL_TURNS_MIN}+ calls of an expensive model (output ≥ "
                        f"${i.EXPENSIVE_OUTPUT_PER_MTOK:g}/M) with ≤ {i.SMALL_TURN_OUTPUT_TOKENS} output tokens; "
                        "saving: the same calls on a cheaper model."),
    ]


def empty_state(looked_in: list[str], problems: list[str]) -> Text:
    """What the sessions screen says when it found nothing: where it looked, how to look elsewhere."""
    text = Text()
    text.append("No agent transcripts found.\n\n", style="bold")
    text.append("Looked in:\n")
    for line in looked_in or ["(no folders)"]:
        text.append(f"  {clean(line)}\n")
    for problem in problems:
        text.append(f"  ⚠ {clean(problem)}\n")
    text.append("\nPoint tokdash elsewhere:\n")
    flags = [(f"tokdash --{name}-dir DIR", source.dir_help) for name, source in SOURCES.items()]
    width = max(len(flag) for flag, _ in flags) + 5
    for flag, what in flags:
        text.append(f"  {flag.ljust(width)}{what}\n")
    env = [source.env_var for source in SOURCES.values() if source.env_var]
    if env:
        text.append(f"  or set {' / '.join(env)}\n")
    text.append("\nOr see it work on a generated fleet:  tokdash --demo\n")
    text.append("\nNew sessions show up here as soon as an agent writes one.", style="dim")
    return text
