"""``tokdash report sessions``: one row per session, as a table for people or JSON for scripts.

Pure functions over session summaries; ``tokdash.cli`` wires them to arguments.
"""

from __future__ import annotations

import math
import shutil

from tokdash.format import clean, fmt_cost, fmt_local_time, fmt_rate, fmt_tokens, short_model
from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary
from tokdash.report.table import Layout, render

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


def sessions_table(summaries: list[SessionSummary], width: int | None = None) -> str:
    """A plain-text table for people; strings from transcripts are flattened to one line."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    head = ["last activity", "agent", "project", "title", "models", "input", "output",
            "cache w", "cache r", "total", "hit", "cost"]
    rows = []
    for s in summaries:
        rows.append([
            fmt_local_time(s.last_activity),
            s.agent,
            s.project_name,
            s.title,
            ",".join(short_model(m) for m in s.models),
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
    layout = Layout(head, right=frozenset(range(5, 12)), caps={2: 18, 4: 22}, flex=3)
    lines = render(layout, rows[:-1], rows[-1], width)
    notes = []
    if data["unpriced_models"]:
        notes.append("+ cost is a lower bound: unpriced " + ", ".join(clean(m, 80) for m in data["unpriced_models"]))
    notes.append("Costs are estimates from a public price table; transcript input/output counts can be lower bounds.")
    return "\n".join(lines + [""] + notes)


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


__all__ = ["TOTAL_FIELDS", "filter_sessions", "sessions_json", "sessions_table"]
