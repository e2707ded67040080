"""Non-interactive reports: a readable table or JSON for scripts.

Pure functions over session summaries; ``cli.py`` wires them to arguments.
"""

from __future__ import annotations

import math
import shutil
from datetime import datetime

from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary, iso

TOTAL_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "total_tokens",
    "api_calls",
    "prompts",
)


def sessions_json(summaries: list[SessionSummary]) -> dict:
    """``{"sessions": [...], "totals": {...}}``, sessions newest first."""
    rows = [s.to_json() for s in summaries]
    totals: dict = {f: sum(r[f] for r in rows) for f in TOTAL_FIELDS}
    total_usage = Usage()
    for s in summaries:
        total_usage.add(s.usage)
    side = total_usage.input_side
    unpriced = sorted({m for s in summaries for m in s.unpriced_models})
    totals.update(
        {
            "sessions": len(rows),
            "cache_hit_rate": round(total_usage.cache_read / side, 6) if side else None,
            "cost_usd": round(math.fsum(s.cost for s in summaries), 6),
            "cost_partial": bool(unpriced),
            "unpriced_models": unpriced,
        }
    )
    return {"sessions": rows, "totals": totals}


def fmt_tokens(n: int) -> str:
    """Compact token count: 950, 12.3k, 4.56M, 1.2B."""
    if n < 1000:
        return str(n)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            v = n / div
            return f"{v:.1f}{suffix}" if v >= 100 else f"{v:.2f}{suffix}" if v < 10 else f"{v:.1f}{suffix}"
    return str(n)


def fmt_cost(cost: float, partial: bool = False) -> str:
    """Dollars; a trailing ``+`` marks a lower bound (some model unpriced)."""
    text = f"${cost:,.2f}" if cost >= 0.995 or cost == 0 else f"${cost:.3f}"
    return text + ("+" if partial else "")


def fmt_rate(rate: float | None) -> str:
    """Cache hit rate as a percentage, or a dash."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


def local_time(ts: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM``."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def sessions_table(summaries: list[SessionSummary], width: int | None = None) -> str:
    """A plain-text table for people; strings from transcripts are flattened to one line."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    head = ["last activity", "agent", "project", "title", "models", "input", "output",
            "cache w", "cache r", "total", "hit", "cost"]
    rows = []
    for s in summaries:
        rows.append([
            local_time(s.last_activity),
            s.agent,
            _plain(s.project_name),
            _plain(s.title),
            _plain(",".join(_short_model(m) for m in s.models)),
            fmt_tokens(s.usage.input),
            fmt_tokens(s.usage.output),
            fmt_tokens(s.usage.cache_write),
            fmt_tokens(s.usage.cache_read),
            fmt_tokens(s.usage.total),
            fmt_rate(s.cache_hit_rate),
            fmt_cost(s.cost, s.cost_partial),
        ])
    data = sessions_json(summaries)["totals"]
    rows.append(["TOTAL", "", f"{data['sessions']} sessions", "", "",
                 fmt_tokens(data["input_tokens"]), fmt_tokens(data["output_tokens"]),
                 fmt_tokens(data["cache_write_tokens"]), fmt_tokens(data["cache_read_tokens"]),
                 fmt_tokens(data["total_tokens"]), fmt_rate(data["cache_hit_rate"]),
                 fmt_cost(data["cost_usd"], data["cost_partial"])])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    caps = {2: 18, 4: 22}
    for i, cap in caps.items():
        widths[i] = min(widths[i], cap)
    fixed = sum(w for i, w in enumerate(widths) if i != 3) + 2 * (len(head) - 1)
    widths[3] = max(10, min(widths[3], width - fixed))
    right = set(range(5, 12))

    def line(cells):
        out = []
        for i, c in enumerate(cells):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            out.append(c.rjust(widths[i]) if i in right else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    lines = [line(head), line(["─" * w for w in widths])]
    lines += [line(r) for r in rows[:-1]]
    lines.append(line(["─" * w for w in widths]))
    lines.append(line(rows[-1]))
    notes = []
    if data["unpriced_models"]:
        notes.append("+ cost is a lower bound: unpriced " + ", ".join(data["unpriced_models"]))
    notes.append("Costs are estimates from a public price table; transcript input/output counts can be lower bounds.")
    return "\n".join(lines + [""] + notes)


def _short_model(model: str) -> str:
    m = model.removeprefix("claude-")
    parts = m.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        m = "-".join(parts[:-1])  # drop the date suffix: sonnet-4-5-20250929 -> sonnet-4-5
    return m


def _plain(text: str) -> str:
    """One line, no control characters: transcript strings are untrusted."""
    return "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))


def filter_sessions(
    summaries: list[SessionSummary],
    *,
    agent: str = "all",
    since: float | None = None,
    until: float | None = None,
    project: str | None = None,
) -> list[SessionSummary]:
    """Sessions with activity in [since, until) whose project path or name contains ``project``."""
    out = []
    needle = project.lower() if project else None
    for s in summaries:
        if agent != "all" and s.agent != agent:
            continue
        if since is not None and (s.last_activity is None or s.last_activity < since):
            continue
        if until is not None and (s.first_activity is None or s.first_activity >= until):
            continue
        if needle and needle not in s.project.lower() and needle not in s.project_name.lower():
            continue
        out.append(s)
    out.sort(key=lambda s: (-(s.last_activity or 0.0), s.session_id))
    return out


__all__ = ["sessions_json", "sessions_table", "filter_sessions", "fmt_tokens", "fmt_cost", "fmt_rate", "iso"]
