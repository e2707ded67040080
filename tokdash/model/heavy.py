"""Heavy sessions: which configurable threshold a session has crossed, if any.

Pure Python, no Textual. A session is *heavy* when any of these trips:

- ``tokens``: input + output above ``io_tokens`` (default 80k). Input is uncached
  input; cache traffic is left out on purpose, it is cheap and expected.
- ``context``: the current context above ``context_share`` of the model's window
  (default 80 %): the session is near compaction, every call re-reads it all.
- ``rate``: the session's spend over the last 5 minutes ($/h) is more than
  ``rate_factor`` times (default 3x) the median of the *other* working sessions,
  and above ``rate_floor`` $/h (default $10/h) so that a cheap fleet does not
  flag a session for spending cents. Needs at least ``min_fleet`` other working
  sessions to compare against (default 2): "far above the rest of the fleet"
  means nothing with no fleet.

Thresholds can be set in the ``[heavy]`` table of tokdash's config file::

    [heavy]
    io_tokens = 80000
    context_percent = 80
    rate_factor = 3.0
    rate_floor_usd_per_hour = 10.0
    min_fleet = 2
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass

from tokdash.format import fmt_tokens_short
from tokdash.model.config import ConfigError, read_config


@dataclass(frozen=True, slots=True)
class HeavyThresholds:
    """When a session counts as heavy."""

    io_tokens: int = 80_000
    """input + output tokens above which a session is heavy."""
    context_share: float = 0.80
    """Share of the context window above which a session is heavy."""
    rate_factor: float = 3.0
    """A session spending more than this many times the fleet median $/h is heavy..."""
    rate_floor: float = 10.0
    """...if it also spends more than this many USD per hour."""
    min_fleet: int = 2
    """Other working sessions needed before the rate rule applies."""


@dataclass(frozen=True, slots=True)
class Tripped:
    """One threshold a session crossed."""

    threshold: str
    """``tokens``, ``context`` or ``rate``."""
    value: float
    limit: float
    text: str
    """One human line naming the figure and the limit, e.g. ``input+output 92.1k > 80.0k``."""


def heavy_reasons(
    io_tokens: int,
    context_share: float | None,
    rate: float,
    other_rates: list[float],
    t: HeavyThresholds,
) -> tuple[Tripped, ...]:
    """Every threshold tripped by a session; empty when it is not heavy.

    ``rate`` is the session's $/h over the burn window; ``other_rates`` are those of
    the other working sessions of the fleet.
    """
    out: list[Tripped] = []
    if io_tokens > t.io_tokens:
        out.append(Tripped("tokens", io_tokens, t.io_tokens,
                           f"input+output {fmt_tokens_short(io_tokens)} > {fmt_tokens_short(t.io_tokens)}"))
    if context_share is not None and context_share > t.context_share:
        out.append(Tripped("context", context_share, t.context_share,
                           f"context {context_share * 100:.0f}% of window > {t.context_share * 100:.0f}%"))
    if rate > t.rate_floor and len(other_rates) >= t.min_fleet:
        others = sorted(other_rates)
        n = len(others)
        med = others[n // 2] if n % 2 else (others[n // 2 - 1] + others[n // 2]) / 2
        limit = max(t.rate_factor * med, t.rate_floor)
        if rate > limit:
            out.append(Tripped("rate", rate, limit,
                               f"${rate:,.2f}/h > {t.rate_factor:g}x fleet median ${med:,.2f}/h"))
    return tuple(out)


class HeavyConfigError(ConfigError):
    """The ``[heavy]`` table of the config file is wrong; the message names the file."""


CONFIG_KEYS = {
    "io_tokens": ("io_tokens", 1.0),
    "context_percent": ("context_share", 0.01),
    "rate_factor": ("rate_factor", 1.0),
    "rate_floor_usd_per_hour": ("rate_floor", 1.0),
    "min_fleet": ("min_fleet", 1.0),
}


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
        if key not in CONFIG_KEYS:
            raise HeavyConfigError(f"{path}: [heavy]: unknown key {key!r} (allowed: {', '.join(CONFIG_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise HeavyConfigError(f"{path}: [heavy]: {key} must be a number >= 0, got {value!r}")
        name, scale = CONFIG_KEYS[key]
        values[name] = value * scale
    for name in ("io_tokens", "min_fleet"):
        if name in values:
            values[name] = int(values[name])
    return HeavyThresholds(**values)  # type: ignore[arg-type]
