"""``tokdash report limits``: the plan windows, official or estimated, for people and scripts."""

from __future__ import annotations

import shutil
from collections.abc import Iterable

from tokdash.format import clean, fmt_age, fmt_cost, fmt_local_time, fmt_tokens
from tokdash.model.limits import ESTIMATE, PlanWindow, order
from tokdash.report.table import Col, render


def limits_json(windows: Iterable[PlanWindow], without_official: Iterable[str], now: float) -> dict:
    """``{"limits": [{agent, window, used_percent, resets_at, observed_at, source, expired}], "no_official": [...]}``.

    ``expired``: the window has reset since the figure was seen (its share says nothing of
    now). ``no_official`` lists the agents with transcripts for which no official figure is
    known (API users, older CLIs): their rows, if any, are estimates.
    """
    return {"limits": [w.to_json() | {"expired": w.resets_at is not None and w.resets_at <= now}
                       for w in sorted(windows, key=order)],
            "no_official": sorted(without_official)}


def limits_table(windows: Iterable[PlanWindow], without_official: Iterable[str], now: float,
                 width: int | None = None) -> str:
    """A row per window; a line per agent with no official figure (never an estimate shown as one)."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    cols = (
        Col("agent", "agent", keep=9),
        Col("window", "window", keep=9),
        Col("used", "used", right=True, keep=8),
        Col("resets", "resets", keep=5),
        Col("seen", "as of", keep=4),
        Col("source", "source", keep=6, flex=True),
    )
    body = []
    for w in sorted(windows, key=order):
        if w.source == ESTIMATE:
            used = f"{fmt_tokens(w.tokens or 0)} tok {fmt_cost(w.cost_usd or 0.0)}"
            source = "estimate: this block's usage from the transcripts, not a share of the plan"
        else:
            used = f"{w.used_percent:.0f} %"
            expired = w.resets_at is not None and w.resets_at <= now
            source = "official (reset since: the share is of a past window)" if expired else "official"
        body.append({"agent": clean(w.agent, 20), "window": clean(w.window, 24), "used": used,
                     "resets": fmt_local_time(w.resets_at), "seen": fmt_age(now - w.observed_at), "source": source})
    lines = [render(cols, body, None, width)] if body else []
    for agent in sorted(without_official):
        lines.append(f"{clean(agent, 20)}: no official figure (the CLI has not reported its plan windows; "
                     "API-key users have none)")
    if not lines:
        lines.append("No plan windows known.")
    return "\n".join(lines)
