"""Every human-facing number and string, formatted in one place, and the one sanitiser.

Reports, the status line, the dashboard and the tips all print through these, so a
token count or a cost reads the same everywhere. Pure functions, no imports from
the rest of tokdash: every layer may use them.

:func:`clean` is the only sanitiser for untrusted text. Anything read from a
transcript or a file name (cwd, titles, prompts, model ids, tool names, session
ids, paths) goes through it on every path that shows it to a person: the TUI,
report tables, the status line, hook messages. Its policy, by Unicode category:

- line and paragraph separators and every whitespace control (``\\t \\n \\r \\v \\f``,
  ``\\x1c``-``\\x1f``, ``\\x85``, U+2028, U+2029) become a space, and runs of spaces
  collapse to one: the text stays on one line;
- every other control (``Cc``: ESC, which starts terminal escape sequences, NUL, DEL,
  the C1 controls), every format character (``Cf``: bidi overrides and isolates,
  zero-width marks, U+061C, the tag characters U+E0000-E007F), lone surrogates
  (``Cs``) and private-use characters (``Co``) are removed;
- the result is cut to ``limit`` characters with an ellipsis, and the work done is
  bounded by that limit too, so a 1 MB cwd costs what a short one does.

The result is plain text: widgets still show it as ``rich.text.Text``, never as
markup, so a ``[bold]`` in a title stays literal.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import date, datetime

__all__ = [
    "MAX_TEXT",
    "clean",
    "fmt_age",
    "fmt_burn",
    "fmt_clock",
    "fmt_cost",
    "fmt_count",
    "fmt_day",
    "fmt_duration",
    "fmt_duration_precise",
    "fmt_kb",
    "fmt_local_time",
    "fmt_money",
    "fmt_pct",
    "fmt_rate",
    "fmt_span",
    "fmt_tokens",
    "fmt_tokens_round",
    "fmt_tokens_short",
    "json_safe",
    "next_age_change",
    "path_name",
    "short_model",
]

MAX_TEXT = 500
"""Characters of one untrusted string shown at most (a title, a path, a model id)."""

_DROP = frozenset(("Cc", "Cf", "Cs", "Co"))
_SPACE = frozenset(("Zl", "Zp"))


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """Untrusted text made safe to show on one line (see the module docstring for the policy)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = str(text)
    if not text:
        return ""
    # Look at a bounded prefix only: what is shown is at most ``limit`` characters.
    head = text[: limit * 2 + 16] if len(text) > limit * 2 + 16 else text
    cut = len(head) < len(text)
    if not head.isprintable():
        out = []
        for ch in head:
            if ch.isspace():
                out.append(" ")
                continue
            cat = unicodedata.category(ch)
            if cat in _SPACE:
                out.append(" ")
            elif cat not in _DROP:
                out.append(ch)
        head = "".join(out)
    one = " ".join(head.split())
    if len(one) > limit or (cut and len(one) >= limit):
        return one[: max(limit - 1, 0)] + "…"
    if cut:
        return one + "…"
    return one


# --- tokens -----------------------------------------------------------------------------


def fmt_tokens(n: int) -> str:
    """Compact token count: 950, 12.3k, 4.56M, 1.2B (three significant digits)."""
    if n < 1000:
        return str(n)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.1f}{suffix}" if v >= 100 else f"{v:.2f}{suffix}" if v < 10 else f"{v:.1f}{suffix}"
    return str(n)


def fmt_tokens_short(n: float) -> str:
    """A threshold or figure in a sentence: 80k, 92.1k, 1.2M (no trailing ``.0``)."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 1000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return str(int(n))


def fmt_tokens_round(n: float) -> str:
    """Whole thousands, for estimates: 12k, 1.2M, 950."""
    n = int(n)
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1_000:
        return f"{n / 1_000:.0f}k"
    return str(n)


def fmt_count(n: int) -> str:
    """An exact count with thousands separators: 12,345."""
    return f"{n:,}"


def fmt_kb(n: int) -> str:
    """Bytes as whole kilobytes (10^3): 41 KB."""
    return f"{n / 1000:.0f} KB"


# --- money and shares -------------------------------------------------------------------


def fmt_cost(cost: float, partial: bool = False) -> str:
    """Dollars; a trailing ``+`` marks a lower bound (some model unpriced); ``unpriced`` when no
    model of it has a price (not ``$0.00+``: nothing is known of what it cost)."""
    if partial and cost == 0:
        return "unpriced"
    text = f"${cost:,.2f}" if cost >= 0.995 or cost == 0 else f"${cost:.3f}"
    return text + ("+" if partial else "")


def fmt_money(cost: float) -> str:
    """Dollars for a header figure: cents below $100, whole dollars above."""
    if cost >= 100:
        return f"${cost:,.0f}"
    return f"${cost:,.2f}"


def fmt_burn(usd_per_hour: float) -> str:
    """$/h compactly; a dash when nothing was spent in the window."""
    if usd_per_hour <= 0:
        return "—"
    return f"${usd_per_hour:.0f}" if usd_per_hour >= 100 else f"${usd_per_hour:.2f}"


def fmt_rate(rate: float | None) -> str:
    """A share (cache hit rate) as a whole percentage, or a dash: ``96%``."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


def fmt_pct(share: float) -> str:
    """A share in a sentence, with a space: ``18 %``."""
    return f"{share * 100:.0f} %"


# --- time -------------------------------------------------------------------------------


def fmt_age(seconds: float) -> str:
    """How long ago, compactly: ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s ago"
    if s < 3600:
        return f"{s // 60}m ago"
    if s < 86400:
        return f"{s // 3600}h ago"
    return f"{s // 86400}d ago"


def next_age_change(seconds: float) -> float:
    """Seconds until ``fmt_age(seconds)`` reads differently."""
    s = max(seconds, 0.0)
    for unit, limit in ((1, 60), (60, 3600), (3600, 86400)):
        if s < limit:
            return unit - (s % unit) if s % unit else unit
    return 86400 - (s % 86400)


def fmt_duration(seconds: float) -> str:
    """A span: ``45s``, ``12m``, ``1h05m``, ``2d03h``."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def fmt_duration_precise(seconds: float) -> str:
    """A gap with seconds under an hour: ``5m03s``, ``1h05m``."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def fmt_local_time(ts: float | None, *, seconds: bool = False) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM`` (``:SS`` with ``seconds``), or a dash."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def fmt_clock(ts: float, with_day: bool = False) -> str:
    """Local ``HH:MM`` of a moment; ``MM-DD HH:MM`` when a span crosses days."""
    if not ts:
        return "--:--"
    return datetime.fromtimestamp(ts).strftime("%m-%d %H:%M" if with_day else "%H:%M")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def fmt_day(d: date, *, weekday: bool = False) -> str:
    """``Sep 21`` (or ``Mon Sep 21``), the same in every locale."""
    text = f"{_MONTHS[d.month - 1]} {d.day}"
    return f"{_WEEKDAYS[d.weekday()]} {text}" if weekday else text


def fmt_span(first: date, last: date) -> str:
    """``Aug 23 – Sep 21 2026``."""
    if first.year != last.year:
        return f"{fmt_day(first)} {first.year} – {fmt_day(last)} {last.year}"
    return f"{fmt_day(first)} – {fmt_day(last)} {last.year}"


# --- names ------------------------------------------------------------------------------


def short_model(model: str) -> str:
    """``claude-sonnet-4-5-20250929`` -> ``sonnet-4-5``: no vendor prefix, no date suffix."""
    m = model.removeprefix("claude-")
    parts = m.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        m = "-".join(parts[:-1])
    return m


def path_name(path: str | None) -> str:
    """The last component of a path (either separator), or ``?``."""
    if not path:
        return "?"
    return os.path.basename(path.rstrip("/\\")) or path


def json_safe(value: object) -> object:
    """``value`` with every string made valid UTF-8 for JSON: a file name may hold bytes that
    are not UTF-8 (kept exactly as surrogate escapes by Python); they show as U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    return value
