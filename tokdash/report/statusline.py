"""The status line: one line for Claude Code's status line, tmux or a shell prompt.

Claude Code runs the configured status-line command with a JSON object on stdin
(``session_id``, ``transcript_path``, ``model``, ``context_window``, ``rate_limits``...)
and shows the first line printed. Given that, the line describes that session; without
it (tmux, a prompt) it sums the fleet. The line is made of *parts*, chosen and ordered
by the ``[statusline]`` table of the config file::

    [statusline]
    parts = ["model", "tokens", "io", "cost", "cache", "context", "limits"]
    fleet_parts = ["working", "today", "limits", "budget"]
    separator = " · "
    color = true          # NO_COLOR in the environment turns colour off whatever this says

Session parts: ``model``, ``tokens`` (every token, cache reads included), ``io``
(input + output only: what was newly read and written; the total also counts the cache
re-reads of a long context, so a session whose total races ahead of ``io`` is paying to
re-read itself), ``cost``, ``cache`` (hit rate), ``context``, ``limits`` (the plan
windows: ``5h 42%``, ``7d 12%``, official figures only), ``budget`` (the session limits).
Fleet parts: ``working``, ``today``, ``limits``, ``budget`` (the day's limit).

Every piece of text from a transcript or the hook goes through ``tokdash.format.clean``;
the result is always one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import orjson

from tokdash.model.figures import SessionFigures
from tokdash.format import clean, fmt_cost, fmt_rate, fmt_tokens, short_model
from tokdash.model.bands import cache_hit_band, context_band
from tokdash.model.limits import PlanWindow, order, percent, window_band

SESSION_PARTS = ("model", "tokens", "io", "cost", "cache", "context", "limits", "budget")
FLEET_PARTS = ("working", "today", "limits", "budget")
DEFAULT_PARTS = ("model", "tokens", "io", "cost", "cache", "context", "limits")
DEFAULT_FLEET = ("working", "today", "limits", "budget")
_SGR = {"warn": "\x1b[33m", "bad": "\x1b[31m"}
_RESET = "\x1b[0m"


class StatuslineConfigError(ValueError):
    """The ``[statusline]`` table is wrong (one line)."""


@dataclass(frozen=True, slots=True)
class StatuslineConfig:
    """What the status line shows, in which order, and whether in colour."""

    parts: tuple[str, ...] = DEFAULT_PARTS
    fleet_parts: tuple[str, ...] = DEFAULT_FLEET
    separator: str = " · "
    color: bool = True


def parse_statusline(table: object, where: str = "config") -> StatuslineConfig:
    """The ``[statusline]`` table; raises :class:`StatuslineConfigError` with one line."""
    if table is None:
        return StatuslineConfig()
    where = f"{where}: [statusline]"
    if not isinstance(table, Mapping):
        raise StatuslineConfigError(f"{where} must be a table")
    unknown = sorted(k for k in table if k not in ("parts", "fleet_parts", "separator", "color"))
    if unknown:
        raise StatuslineConfigError(f"{where}: unknown key {clean(unknown[0], 40)!r} "
                                    "(allowed: parts, fleet_parts, separator, color)")

    def names(key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
        value = table.get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise StatuslineConfigError(f"{where}: {key} must be a list of names, e.g. {list(default)!r}")
        bad = [v for v in value if v not in allowed]
        if bad:
            raise StatuslineConfigError(f"{where}: unknown part {clean(bad[0], 40)!r} in {key} "
                                        f"(one of {', '.join(allowed)})")
        return tuple(value)

    sep = table.get("separator", " · ")
    color = table.get("color", True)
    if not isinstance(sep, str) or not isinstance(color, bool):
        raise StatuslineConfigError(f"{where}: separator must be text and color true or false")
    # Not clean(): it would strip the separator's spaces; printable characters only, one line.
    sep = "".join(ch for ch in sep[:16] if ch.isprintable()) or " "
    return StatuslineConfig(names("parts", SESSION_PARTS, DEFAULT_PARTS),
                            names("fleet_parts", FLEET_PARTS, DEFAULT_FLEET), sep, color)


def use_color(config: StatuslineConfig, env: Mapping[str, str]) -> bool:
    """Colour unless the config turns it off or ``NO_COLOR`` is set to anything (no-color.org)."""
    return config.color and not env.get("NO_COLOR")


def parse_hook_input(raw: bytes) -> dict | None:
    """The JSON Claude Code pipes to a status-line command; None if absent or not a JSON object."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def hook_context(hook: Mapping) -> dict | None:
    """What Claude Code says of the context (``context_window.used_percentage`` and size), or None."""
    cw = hook.get("context_window")
    if not isinstance(cw, Mapping):
        return None
    used = percent(cw.get("used_percentage"))
    size = cw.get("context_window_size")
    if used is None:
        return None
    return {"used_percent": used, "size": size if isinstance(size, int) and not isinstance(size, bool) else None}


class _Usage:
    __slots__ = ("total", "input", "output", "cache_read", "input_side")

    def __init__(self, f: Mapping) -> None:
        self.total = f.get("total", 0)
        self.input = f.get("input", 0)
        self.output = f.get("output", 0)
        self.cache_read = f.get("cache_read", 0)
        self.input_side = f.get("input_side", 0)


class Figures(SessionFigures):
    """A session's line figures read back from a state header (plain values): the same
    attributes ``session_pieces`` reads of a ``SessionSummary`` or a ``TallyView``."""

    __slots__ = ("usage", "cost", "unpriced_models", "models", "api_calls", "context_tokens", "context_window")

    def __init__(self, f: Mapping) -> None:
        self.usage = _Usage(f)
        self.cost = float(f.get("cost", 0.0))
        self.unpriced_models = list(f.get("unpriced", ()))
        self.models = list(f.get("models", ()))
        self.api_calls = f.get("calls", 0)
        self.context_tokens = f.get("context_tokens", 0)
        self.context_window = f.get("context_window")


# --- composing ---------------------------------------------------------------------------


def compose(pieces: Iterable[tuple[str, str]], config: StatuslineConfig, color: bool) -> str:
    """Join (text, band) pieces into one line, colouring warn/bad bands when ``color``."""
    out = []
    for text, band in pieces:
        text = clean(text, 200)
        if not text:
            continue
        out.append(f"{_SGR[band]}{text}{_RESET}" if color and band in _SGR else text)
    return config.separator.join(out)


def window_pieces(windows: Iterable[PlanWindow]) -> list[tuple[str, str]]:
    """``5h 42%``, ``7d 12%``: the official windows, 5 h first."""
    return [(f"{clean(w.window, 24)} {w.used_percent:.0f}%", window_band(w.used_percent))
            for w in sorted(windows, key=order) if w.used_percent is not None]


def session_pieces(view, config: StatuslineConfig, *, windows: Iterable[PlanWindow] = (),
                   context: dict | None = None, budget: Iterable = ()) -> list[tuple[str, str]]:
    """The session line's pieces in the configured order. ``view`` has the figures of a
    ``SessionSummary`` (usage, cost, models, cache_hit_rate, context_pct); ``context`` is
    Claude Code's own context figure, preferred to the estimate from the transcript."""
    windows = list(windows)
    out: list[tuple[str, str]] = []
    for part in config.parts:
        if part == "model" and view.models:
            out.append((short_model(clean(view.models[0], 80)), ""))
        elif part == "tokens":
            out.append((f"{fmt_tokens(view.usage.total)} tok", ""))
        elif part == "io":
            out.append((f"in+out {fmt_tokens(view.usage.input + view.usage.output)}", ""))
        elif part == "cost":
            out.append((fmt_cost(view.cost, view.cost_partial), ""))
        elif part == "cache":
            rate = view.cache_hit_rate
            out.append((f"cache {fmt_rate(rate)}", cache_hit_band(rate)))
        elif part == "context":
            share = context["used_percent"] / 100 if context else view.context_pct
            if share is not None:
                out.append((f"ctx {share * 100:.0f}%", context_band(share)))
        elif part == "limits":
            out += window_pieces(windows)
        elif part == "budget":
            out += [(s.gauge(), s.band) for s in budget]
    return out


def fleet_pieces(working: int, today_facts, config: StatuslineConfig, *, windows: Iterable[PlanWindow] = (),
                 budget: Iterable = ()) -> list[tuple[str, str]]:
    """The fleet line's pieces: sessions working now (the fleet's status, as the dashboard
    shows it), the calls made since local midnight (``today_facts``), windows, the day's limit."""
    windows = list(windows)
    out: list[tuple[str, str]] = []
    for part in config.fleet_parts:
        if part == "working":
            out.append((f"{working} working", ""))
        elif part == "today":
            tokens = sum(f.usage.total for f in today_facts)
            cost = sum(f.cost_pico for f in today_facts) / 1e12
            partial = any(f.unpriced_calls for f in today_facts)
            out.append((f"today {fmt_tokens(tokens)} tok {fmt_cost(cost, partial)}", ""))
        elif part == "limits":
            out += window_pieces(windows)
        elif part == "budget":
            out += [(s.gauge(), s.band) for s in budget if s.limit_key == "daily_usd" and not s.project]
    return out


def local_midnight(now: float) -> float:
    """Epoch seconds of the last local midnight before ``now``."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
