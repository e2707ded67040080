"""``tokdash report sessions``: one row per session, as a table for people or JSON for scripts.

Pure functions over the fleet's rows (``tokdash.model.fleet.Row``: a session's summary
with its status, heavy verdict and project label, judged as the dashboard judges
them); ``tokdash.cli`` wires them to arguments.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from tokdash.format import clean, fmt_cost, fmt_local_time, fmt_rate, fmt_tokens, short_model
from tokdash.model.activity import CallSeries
from tokdash.model.fleet import SORT_KEYS, Fleet, Row, sort_value
from tokdash.model.records import Usage
from tokdash.model.session import SessionSummary
from tokdash.report.table import Col, render

TOTAL_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cache_write_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
    "total_tokens",
    "api_calls",
    "prompts",
)

SORTS = ("last", "status", *sorted(k for k in SORT_KEYS if k not in ("last", "models", "title")))
"""``--sort`` choices: ``last`` (the default, newest first), ``status`` (the dashboard's order), any column."""
TEXT_SORTS = frozenset({"agent", "project"})
EMPTY_SERIES = CallSeries([])
"""Sorted A to Z; every other sort puts the largest first."""


def sessions_json(rows: Sequence[Row], archived: frozenset = frozenset()) -> dict:
    """``{"sessions": [...], "totals": {...}}`` in the order given.

    Each session is its summary's JSON plus what the fleet judged: ``status``, ``heavy``,
    ``heavy_reasons`` (short strings naming each rule and its figure), ``project_label``,
    and ``archived``.
    """
    out = []
    for r in rows:
        j = r.summary.to_json()
        j["project_label"] = r.label
        j["status"] = r.status
        j["heavy"] = bool(r.heavy)
        j["heavy_reasons"] = [t.text for t in r.heavy]
        j["archived"] = r.key in archived
        out.append(j)
    summaries = [r.summary for r in rows]
    totals: dict = {f: sum(j[f] for j in out) for f in TOTAL_FIELDS}
    total_usage = Usage()
    for s in summaries:
        total_usage.add(s.usage)
    side = total_usage.input_side
    unpriced = sorted({m for s in summaries for m in s.unpriced_models})
    totals.update(
        {
            "sessions": len(out),
            "cache_hit_rate": round(total_usage.cache_read / side, 6) if side else None,
            "cost_usd": round(math.fsum(s.cost for s in summaries), 6),
            "cost_partial": bool(unpriced),
            "unpriced_models": unpriced,
            "archived_sessions": sum(1 for j in out if j["archived"]),
            "heavy_sessions": sum(1 for j in out if j["heavy"]),
            "waiting_sessions": sum(1 for j in out if j["status"] == "waiting"),
        }
    )
    return {"sessions": out, "totals": totals}


COLUMNS = (
    Col("last", "last activity", keep=8),
    Col("status", "status", keep=7),
    Col("agent", "agent", keep=3),
    Col("project", "project", keep=9, cap=24),
    Col("title", "title", keep=10, flex=True),
    Col("models", "models", keep=1, cap=24),
    Col("input", "input", right=True, keep=2),
    Col("output", "output", right=True, keep=2),
    Col("cache_w", "cache w", right=True, keep=1),
    Col("cache_r", "cache r", right=True, keep=1),
    Col("total", "total", right=True, keep=6),
    Col("hit", "hit", right=True, keep=5),
    Col("cost", "cost", right=True, keep=10),
)
"""The people's table; at 80 columns the least important (lowest ``keep``) are dropped."""


def _status(r: Row, archived: frozenset) -> str:
    word = "archived" if r.key in archived else r.status
    return ("▲ " if r.heavy else "") + word


def sessions_table(rows: Sequence[Row], archived: frozenset = frozenset(), width: int | None = None,
                   *, color: bool = False) -> str:
    """A table for people: a row per session, the total, and what the numbers are worth."""
    width = width or shutil.get_terminal_size((160, 24)).columns
    body = []
    for r in rows:
        s = r.summary
        title = ("(archived) " if r.key in archived else "") + (s.title or f"({s.session_id[:8]})")
        body.append({
            "last": fmt_local_time(s.last_activity), "status": _status(r, archived), "agent": s.agent,
            "project": r.label or s.project_name, "title": title,
            "models": ",".join(short_model(m) for m in s.models),
            "input": fmt_tokens(s.usage.input), "output": fmt_tokens(s.usage.output),
            "cache_w": fmt_tokens(s.usage.cache_write), "cache_r": fmt_tokens(s.usage.cache_read),
            "total": fmt_tokens(s.usage.total), "hit": fmt_rate(s.cache_hit_rate),
            "cost": fmt_cost(s.cost, s.cost_partial),
        })
    data = sessions_json(rows, archived)["totals"]
    total = {"last": "TOTAL", "project": f"{data['sessions']} sessions",
             "input": fmt_tokens(data["input_tokens"]), "output": fmt_tokens(data["output_tokens"]),
             "cache_w": fmt_tokens(data["cache_write_tokens"]), "cache_r": fmt_tokens(data["cache_read_tokens"]),
             "total": fmt_tokens(data["total_tokens"]), "hit": fmt_rate(data["cache_hit_rate"]),
             "cost": fmt_cost(data["cost_usd"], data["cost_partial"])}
    notes = []
    heavy = [r for r in rows if r.heavy]
    for r in heavy[:5]:
        name = f"{clean(r.label or r.summary.project_name, 30)} · {clean(r.summary.title or r.summary.session_id, 40)}"
        notes.append(f"▲ {name}: " + "; ".join(clean(t.text, 200) for t in r.heavy))
    if len(heavy) > 5:
        notes.append(f"▲ ... and {len(heavy) - 5} more heavy sessions (see --json for every reason)")
    if data["unpriced_models"]:
        notes.append("+ cost is a lower bound: unpriced " + ", ".join(clean(m, 80) for m in data["unpriced_models"]))
    notes.append("Costs are estimates from a public price table; transcript input/output counts can be lower bounds.")
    return "\n".join([render(COLUMNS, body, total, width, color=color), "", *notes])


@dataclass(frozen=True, slots=True)
class Filtered:
    """The rows a filter kept, and what emptied it when nothing is left."""

    rows: list[Row]
    emptied_by: str | None = None
    """The first filter that left no session (``--project api``), None when some are left."""
    before: int = 0
    """Sessions there were before that filter."""


def filter_rows(
    rows: Sequence[Row],
    *,
    agent: str = "all",
    since: float | None = None,
    until: float | None = None,
    project: str | None = None,
    sort: str = "last",
    limit: int | None = None,
    descriptions: dict[str, str] | None = None,
) -> Filtered:
    """Sessions of ``agent`` with activity in [since, until) whose project path, name or label
    contains ``project``, sorted (``last``: newest first) and cut to ``limit``.

    ``descriptions`` names each filter as the user typed it (``{"project": "--project api"}``)
    for the message that says which one emptied the result.
    """
    needle = project.lower() if project else None
    steps = [
        ("agent", agent != "all", lambda r: r.summary.agent == agent),
        ("since", since is not None, lambda r: r.summary.last_activity is not None and r.summary.last_activity >= since),
        ("until", until is not None,
         lambda r: r.summary.first_activity is not None and r.summary.first_activity < until),
        ("project", bool(needle), lambda r: needle in r.summary.project.lower()
         or needle in r.summary.project_name.lower() or needle in r.label.lower()),
    ]
    kept = list(rows)
    for name, active, keep in steps:
        if not active:
            continue
        before = len(kept)
        kept = [r for r in kept if keep(r)]
        if not kept and before:
            return Filtered([], (descriptions or {}).get(name, name), before)
    if sort == "last":
        kept.sort(key=lambda r: (-(r.summary.last_activity or 0.0), r.summary.session_id))
    else:
        kept.sort(key=lambda r: sort_value(r, sort), reverse=sort not in TEXT_SORTS)
    return Filtered(kept[:limit] if limit is not None else kept)


def judge(summaries: Sequence[SessionSummary], now: float | None = None) -> list[Row]:
    """Rows for bare summaries, judged as the dashboard judges a fleet of just these (no call
    series: no spend rate); in their order. For callers (and tests) without a catalog."""
    import time

    fleet = Fleet()
    by_key = {(s.agent, s.session_id): (s, EMPTY_SERIES, False) for s in summaries}
    fleet.update(by_key, by_key.get, time.time() if now is None else now)
    return [fleet.rows[(s.agent, s.session_id)] for s in summaries]


__all__ = ["SORTS", "TOTAL_FIELDS", "Filtered", "filter_rows", "judge", "sessions_json", "sessions_table"]
