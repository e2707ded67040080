"""The history reports as a table for people (JSON lives in ``tokdash.model.history``)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping

from tokdash.format import clean, fmt_cost, fmt_tokens, short_model
from tokdash.model.history import PERIODS, HistoryRow, history_json
from tokdash.report.table import Col, render

_HEADS = {"daily": "day", "weekly": "week", "monthly": "month", "projects": "project", "models": "model"}


def history_table(rows: list[HistoryRow], grouping: str, width: int | None = None, *,
                  labels: Mapping[str, str] | None = None, color: bool = False) -> str:
    """A table, one row per period, project or model, and a total line.

    ``labels`` gives each project path its shortest unique label (as the dashboard shows it).
    """
    width = width or shutil.get_terminal_size((160, 24)).columns
    cols = (
        Col("key", _HEADS[grouping], keep=10, cap=40, flex=grouping == "projects"),
        Col("sessions", "sessions", right=True, keep=4),
        Col("calls", "calls", right=True, keep=3),
        Col("input", "input", right=True, keep=2),
        Col("output", "output", right=True, keep=2),
        Col("cache_w", "cache w", right=True, keep=1),
        Col("cache_r", "cache r", right=True, keep=1),
        Col("total", "total", right=True, keep=6),
        Col("cost", "cost", right=True, keep=9),
        Col("models", "models", keep=0, flex=grouping != "projects"),
    )
    body = []
    for r in rows:
        if grouping == "projects":
            label = (labels or {}).get(r.key) or r.label
        else:
            label = r.key
        body.append({
            "key": label, "sessions": str(r.sessions), "calls": str(r.calls),
            "input": fmt_tokens(r.usage.input), "output": fmt_tokens(r.usage.output),
            "cache_w": fmt_tokens(r.usage.cache_write), "cache_r": fmt_tokens(r.usage.cache_read),
            "total": fmt_tokens(r.usage.total), "cost": fmt_cost(r.cost, bool(r.unpriced)),
            "models": ",".join(short_model(m) for m in r.models),
        })
    t = history_json(rows, grouping)["totals"]
    total = {"key": "TOTAL", "sessions": str(t["sessions"]), "calls": str(t["api_calls"]),
             "input": fmt_tokens(t["input_tokens"]), "output": fmt_tokens(t["output_tokens"]),
             "cache_w": fmt_tokens(t["cache_write_tokens"]), "cache_r": fmt_tokens(t["cache_read_tokens"]),
             "total": fmt_tokens(t["total_tokens"]), "cost": fmt_cost(t["cost_usd"], t["cost_partial"])}
    lines = [render(cols, body, total, width, color=color), ""]
    if t["unpriced_models"]:
        lines.append("+ cost is a lower bound: unpriced " + ", ".join(clean(m, 80) for m in t["unpriced_models"]))
    lines.append("Each API call counts on the day of its own timestamp; costs are estimates from a public price table.")
    return "\n".join(lines)


__all__ = ["PERIODS", "history_table"]
