"""The history reports as a table for people (JSON lives in ``tokdash.model.history``)."""

from __future__ import annotations

import shutil

from tokdash.model.history import PERIODS, HistoryRow, history_json
from tokdash.report import _plain, _short_model, fmt_cost, fmt_tokens

_HEADS = {"daily": "day", "weekly": "week", "monthly": "month", "projects": "project", "models": "model"}


def history_table(rows: list[HistoryRow], grouping: str, width: int | None = None) -> str:
    """A plain-text table, one row per period, project or model, and a total line."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    head = [_HEADS[grouping], "sessions", "calls", "input", "output", "cache w", "cache r", "total", "cost", "models"]
    body = []
    for r in rows:
        label = r.key if grouping in PERIODS else (r.label if grouping == "projects" else r.key)
        body.append([
            _plain(label),
            str(r.sessions),
            str(r.calls),
            fmt_tokens(r.usage.input),
            fmt_tokens(r.usage.output),
            fmt_tokens(r.usage.cache_write),
            fmt_tokens(r.usage.cache_read),
            fmt_tokens(r.usage.total),
            fmt_cost(r.cost, bool(r.unpriced)),
            _plain(",".join(_short_model(m) for m in r.models)),
        ])
    t = history_json(rows, grouping)["totals"]
    total = ["TOTAL", str(t["sessions"]), str(t["api_calls"]), fmt_tokens(t["input_tokens"]),
             fmt_tokens(t["output_tokens"]), fmt_tokens(t["cache_write_tokens"]), fmt_tokens(t["cache_read_tokens"]),
             fmt_tokens(t["total_tokens"]), fmt_cost(t["cost_usd"], t["cost_partial"]), ""]
    widths = [max(len(r[i]) for r in [head, *body, total]) for i in range(len(head))]
    widths[0] = min(widths[0], 40)
    fixed = sum(widths[:-1]) + 2 * (len(head) - 1)
    widths[-1] = max(10, min(widths[-1], width - fixed))
    right = set(range(1, 9))

    def line(cells: list[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            out.append(c.rjust(widths[i]) if i in right else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    rule = line(["─" * w for w in widths])
    lines = [line(head), rule, *(line(r) for r in body), rule, line(total), ""]
    if t["unpriced_models"]:
        lines.append("+ cost is a lower bound: unpriced " + ", ".join(t["unpriced_models"]))
    lines.append("Each API call counts on the day of its own timestamp; costs are estimates from a public price table.")
    return "\n".join(lines)
