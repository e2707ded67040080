"""Heavy sessions: the red ``▲`` means "this session is burning money, or looping".

Pure Python, no Textual. Every rule judges spend or shape, the same way for every
agent, and names its figure. A session is *heavy* when any rule trips:

- ``rate``: its spend over the last 5 minutes ($/h) is more than ``rate_factor``
  (3x) the median of the *other* working sessions, and above ``rate_floor`` ($10/h),
  with at least ``min_fleet`` (2) others to compare with.
- ``cost``: it cost more than ``cost_factor`` (5x) the user's typical session (the
  median of the other sessions in the history, at least ``min_history`` of them),
  and more than ``cost_floor`` ($20).
- ``loop``: at least ``loop_turns_per_prompt`` (40) assistant turns per human prompt,
  with one file read whole at least ``loop_repeats`` (8) times while it did not change:
  the agent keeps doing the same thing instead of finishing.
- ``churn``: a cache hit rate below ``churn_hit`` (30 %) while writing at least
  ``churn_write_tokens`` (1M) tokens to the cache: the prompt prefix keeps changing,
  and every write costs 1.25x-2x input.
- ``context``: a session still live (not done) whose context is above ``context_share``
  (80 %) of the model's window: every next call re-reads it all, and the CLI will soon
  compact. A finished session's context costs nothing more.

``churn`` and ``context`` need the session to have cost at least ``min_cost`` ($1): a
session cheap in dollars is never red for token volume alone. Thresholds can be set in
the ``[heavy]`` table of tokdash's config file (keys: :data:`CONFIG_KEYS`).
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

from tokdash.format import fmt_cost, fmt_pct, fmt_tokens_short, path_name
from tokdash.model.bands import CACHE_HIT_POOR, CONTEXT_BAD
from tokdash.model.config import ConfigError, read_config
from tokdash.model.session import SessionSummary

RULES = ("rate", "cost", "loop", "churn", "context")
"""Every rule, in the order reasons are listed."""


@dataclass(frozen=True, slots=True)
class HeavyThresholds:
    """When a session counts as heavy (see the module docstring)."""

    rate_factor: float = 3.0
    """A working session spending more than this many times the fleet median $/h is heavy..."""
    rate_floor: float = 10.0
    """...if it also spends more than this many USD per hour."""
    min_fleet: int = 2
    """Other working sessions needed before the rate rule applies."""
    cost_factor: float = 5.0
    """A session costing more than this many times the user's typical session is heavy..."""
    cost_floor: float = 20.0
    """...if it also cost more than this many USD."""
    min_history: int = 5
    """Other sessions needed before the cost rule applies."""
    loop_turns_per_prompt: float = 40.0
    """Assistant turns per human prompt from which a session may be looping..."""
    loop_repeats: int = 8
    """...when one file was read whole at least this many times while it did not change."""
    churn_hit: float = CACHE_HIT_POOR
    """A cache hit rate below this share (the red band)..."""
    churn_write_tokens: int = 1_000_000
    """...with at least this many tokens written to the cache is cache churn."""
    context_share: float = CONTEXT_BAD
    """Share of the context window above which a session is heavy."""
    min_cost: float = 1.0
    """USD a session must have cost before ``churn`` or ``context`` can flag it."""


@dataclass(frozen=True, slots=True)
class Tripped:
    """One rule a session tripped."""

    threshold: str
    """The rule: one of :data:`RULES`."""
    value: float
    limit: float
    text: str
    """One short line naming the rule and its figure, e.g. ``loop: 143 turns for 1 prompt,
    Read tool_heavy.jsonl ×21``."""


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def heavy_reasons(s: SessionSummary, t: HeavyThresholds, *, rate: float = 0.0,
                  other_rates: Sequence[float] = (), typical_cost: float | None = None,
                  history: int = 0, live: bool = False) -> tuple[Tripped, ...]:
    """Every rule ``s`` trips; empty when it is not heavy.

    ``rate`` is the session's $/h over the burn window (0 unless it is working) and
    ``other_rates`` those of the other working sessions; ``typical_cost`` is the median
    cost of the user's other sessions (``history`` of them); ``live``: the session is not
    done (working, waiting or idle).
    """
    out: list[Tripped] = []
    if rate > t.rate_floor and len(other_rates) >= t.min_fleet:
        med = median(other_rates)
        limit = max(t.rate_factor * med, t.rate_floor)
        if rate > limit:
            out.append(Tripped("rate", rate, limit,
                               f"rate: ${rate:,.2f}/h > {t.rate_factor:g}x fleet median ${med:,.2f}/h"))
    if typical_cost is not None and history >= t.min_history:
        limit = max(t.cost_factor * typical_cost, t.cost_floor)
        if s.cost > limit:
            out.append(Tripped("cost", s.cost, limit,
                               f"cost: {fmt_cost(s.cost, s.cost_partial)} > {t.cost_factor:g}x your typical "
                               f"session {fmt_cost(typical_cost)}"))
    per_prompt = s.assistant_turns / max(s.prompts, 1)
    if per_prompt >= t.loop_turns_per_prompt and s.repeat is not None and s.repeat[2] >= t.loop_repeats:
        name, target, times = s.repeat
        prompts = f"{s.prompts} prompt{'s' if s.prompts != 1 else ''}"
        out.append(Tripped("loop", per_prompt, t.loop_turns_per_prompt,
                           f"loop: {s.assistant_turns} turns for {prompts}, {name} {path_name(target)} ×{times}"))
    priced = s.cost >= t.min_cost
    hit = s.cache_hit_rate
    if priced and hit is not None and hit < t.churn_hit and s.usage.cache_write >= t.churn_write_tokens:
        out.append(Tripped("churn", hit, t.churn_hit,
                           f"churn: cache hit {fmt_pct(hit)}, {fmt_tokens_short(s.usage.cache_write)} tokens "
                           "written to the cache"))
    share = s.context_pct
    if live and priced and share is not None and share > t.context_share:
        out.append(Tripped("context", share, t.context_share,
                           f"context: {share * 100:.0f}% of the window > {t.context_share * 100:.0f}%"))
    return tuple(out)


class HeavyConfigError(ConfigError):
    """The ``[heavy]`` table of the config file is wrong; the message names the file."""


CONFIG_KEYS = {
    "rate_factor": ("rate_factor", 1.0),
    "rate_floor_usd_per_hour": ("rate_floor", 1.0),
    "min_fleet": ("min_fleet", 1.0),
    "cost_factor": ("cost_factor", 1.0),
    "cost_floor_usd": ("cost_floor", 1.0),
    "min_history": ("min_history", 1.0),
    "loop_turns_per_prompt": ("loop_turns_per_prompt", 1.0),
    "loop_repeats": ("loop_repeats", 1.0),
    "churn_hit_percent": ("churn_hit", 0.01),
    "churn_write_tokens": ("churn_write_tokens", 1.0),
    "context_percent": ("context_share", 0.01),
    "min_cost_usd": ("min_cost", 1.0),
}
"""Config key -> (``HeavyThresholds`` field, scale from the config's unit)."""
_INTEGERS = ("min_fleet", "min_history", "loop_repeats", "churn_write_tokens")
RETIRED_KEYS = frozenset({"io_tokens"})
"""Keys of earlier versions, accepted and ignored (input + output volume no longer makes a
session heavy: it flagged cheap Codex sessions and missed expensive cache churn)."""


def load_heavy_config(path: pathlib.Path) -> HeavyThresholds:
    """Thresholds from the ``[heavy]`` table of a TOML config; defaults when absent.

    Raises :class:`HeavyConfigError` on an unreadable file or a bad value.
    """
    data = read_config(path, HeavyConfigError)
    table = data.get("heavy", {})
    if not isinstance(table, dict):
        raise HeavyConfigError(f"{path}: [heavy] must be a table")
    values: dict[str, float | int] = {}
    for key, value in table.items():
        if key in RETIRED_KEYS:
            continue
        if key not in CONFIG_KEYS:
            raise HeavyConfigError(f"{path}: [heavy]: unknown key {key!r} (allowed: {', '.join(CONFIG_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise HeavyConfigError(f"{path}: [heavy]: {key} must be a number >= 0, got {value!r}")
        name, scale = CONFIG_KEYS[key]
        values[name] = value * scale
    for name in _INTEGERS:
        if name in values:
            values[name] = int(values[name])
    return HeavyThresholds(**values)  # type: ignore[arg-type]
