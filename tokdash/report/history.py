"""The history reports as a table for people (JSON lives in ``tokdash.model.history``)."""

from __future__ import annotations

import shutil

from tokdash.format import clean, fmt_cost, fmt_tokens, short_model
from tokdash.model.history import PERIODS, HistoryRow, history_json
from tokdash.report.table import Layout, render

_HEADS = {"daily": "day", "weekly": "week", "monthly": "month", "projects": "project", "models": "model"}


def history_table(rows: list[HistoryRow], grouping: str, width: int | None = None) -> str:
    """A plain-text table, one row per period, project or model, and a total line."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    head = [_HEADS[grouping], "sessions", "calls", "input", "output", "cache w", "cache r", "total", "cost", "models"]
    body = []
    for r in rows:
        label = r.key if grouping in PERIODS else (r.label if grouping == "projects" else r.key)
        body.append([
            label,
            str(r.sessions),
            str(r.calls),
            fmt_tokens(r.usage.input),
            fmt_tokens(r.usage.output),
            fmt_tokens(r.usage.cache_write),
            fmt_tokens(r.usage.cache_read),
            fmt_tokens(r.usage.total),
            fmt_cost(r.cost, bool(r.unpriced)),
            ",".join(short_model(m) for m in r.models),
        ])
    t = history_json(rows, grouping)["totals"]
    total = ["TOTAL", str(t["sessions"]), str(t["api_calls"]), fmt_tokens(t["input_tokens"]),
             fmt_tokens(t["output_tokens"]), fmt_tokens(t["cache_write_tokens"]), fmt_tokens(t["cache_read_tokens"]),
             fmt_tokens(t["total_tokens"]), fmt_cost(t["cost_usd"], t["cost_partial"]), ""]
    layout = Layout(head, right=frozenset(range(1, 9)), caps={0: 40}, flex=-1)
    lines = [*render(layout, body, total, width), ""]
    if t["unpriced_models"]:
        lines.append("+ cost is a lower bound: unpriced " + ", ".join(clean(m, 80) for m in t["unpriced_models"]))
    lines.append("Each API call counts on the day of its own timestamp; costs are estimates from a public price table.")
    return "\n".join(lines)
