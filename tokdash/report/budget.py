"""``tokdash report budget`` and the budget line under other reports: spend against the limits."""

from __future__ import annotations

import shutil
from collections.abc import Iterable

from tokdash.format import clean
from tokdash.model.budget import BudgetConfig, BudgetStatus
from tokdash.report.table import Col, render


def budget_json(config: BudgetConfig, statuses: Iterable[BudgetStatus]) -> dict:
    """``{"budgets": [...], "alert_at": [...], "hard_cap": bool}`` for scripts."""
    return {"budgets": [s.to_json() for s in statuses], "alert_at": list(config.alert_at),
            "hard_cap": config.hard_cap}


def budget_table(config: BudgetConfig, statuses: list[BudgetStatus], width: int | None = None) -> str:
    """A row per limit: what was spent of it, the share, whether it is over."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    if not config.active:
        return "No budget set: add a [budget] table (daily_usd, weekly_usd, monthly_usd, ...) to tokdash's config.toml."
    cols = (
        Col("budget", "budget", keep=9),
        Col("project", "project", keep=3, flex=True),
        Col("period", "period", keep=5),
        Col("spent", "spent", right=True, keep=8),
        Col("limit", "limit", right=True, keep=8),
        Col("pct", "used", right=True, keep=7),
        Col("state", "", keep=6),
    )
    body = [{"budget": s.name, "project": clean(s.project, 200) or "all", "period": s.period,
             "spent": s.amount(s.spent, s.partial), "limit": s.amount(s.limit), "pct": f"{s.percent:.0f} %",
             "state": "OVER" if s.over else ("near" if s.band == "warn" else "")} for s in statuses]
    lines = ([render(cols, body, None, width)] if body
             else ["No period budget applies (session limits apply per session)."])
    cap = "on: `tokdash hook` blocks prompts and tool calls at 100 %" if config.hard_cap else "off"
    lines.append(f"Alerts at {', '.join(f'{a:g} %' for a in config.alert_at)}; hard cap {cap}.")
    return "\n".join(lines)


def budget_footer(statuses: Iterable[BudgetStatus]) -> str | None:
    """One line for under the sessions or daily table: ``budget: day $12.00/$20.00 (60 %) · ...``;
    None when no period budget is set."""
    parts = [f"{s.gauge()} ({s.percent:.0f} %{', OVER' if s.over else ''})" for s in statuses
             if s.limit_key in ("daily_usd", "weekly_usd", "monthly_usd")]
    return "budget: " + " · ".join(parts) if parts else None
