"""What each row of the sessions table shows: cell specs built from the fleet's rows.

A spec is plain data (text and semantic style names), so the table can compare
it with what a row shows and write only the cells that differ.
"""

from __future__ import annotations

from tokdash.format import clean, fmt_age, fmt_burn, fmt_cost, fmt_duration, fmt_rate, fmt_tokens, short_model
from tokdash.model.activity import IDLE, WAITING, WORKING
from tokdash.model.fleet import ARCHIVED, Row
from tokdash.model.records import Usage
from tokdash.model.store import SessionKey
from tokdash.ui.styles import context_style, hit_style
from tokdash.ui.widgets.sessions_table import CellSpec, RowSpec

GLYPHS = {WORKING: "●", WAITING: "◆", IDLE: "◐", "done": "○"}
"""Status glyphs: each status is its word too, so colour is never the only cue."""
BAD_MARK = "!"
"""Appended to a hit rate in the red band, readable without colour (``NO_COLOR``)."""
ARCHIVED_GLYPH = "◌"


def row_key(key: SessionKey) -> str:
    """The table row key of a session."""
    return f"{key[0]}:{key[1]}"


def _num(n: int) -> CellSpec:
    return ((fmt_tokens(n), "muted" if n == 0 else ""),)


def session_spec(f: Row, now: float, context_limit: float) -> RowSpec:
    """The cells of one session's row (plain text + style names)."""
    s = f.summary
    u = s.usage
    title = clean(s.title)
    title_seg = (title, "") if title else (f"({s.session_id[:8]})", "muted")
    project = clean(f.label or s.project_name)
    cost: CellSpec = ((fmt_cost(s.cost, s.cost_partial), "warn" if s.cost_partial and s.cost == 0 else ""),)
    ctx = s.context_pct
    ctx_style = "muted" if ctx is None else context_style(ctx, context_limit)
    age = now - s.last_activity if s.last_activity is not None else None
    spec: RowSpec = {
        "status": ((GLYPHS[f.status], f.status), (" ", ""), (f.status, f.status if f.status != WORKING else "")),
        "agent": ((s.agent, "muted"),),
        "project": ((project, "bold"),),
        "title": (title_seg,),
        "name": ((project, "bold"), (" · ", "muted"), title_seg),
        "models": ((",".join(short_model(clean(m)) for m in s.models), "muted"),),
        "turns": ((f"{s.prompts}/{s.assistant_turns}", ""),),
        "per_prompt": _per_prompt(s.turns_per_prompt),
        "tools": ((str(s.tool_use_count), "muted" if not s.tool_use_count else ""),),
        "input": _num(u.input),
        "output": _num(u.output),
        "cache_write": _num(u.cache_write),
        "cache_read": _num(u.cache_read),
        "total": ((fmt_tokens(u.total), "bold"),),
        "hit": _hit(s.cache_hit_rate),
        "ctx": (("—" if ctx is None else f"{ctx * 100:.0f}%", ctx_style),),
        "cost": cost,
        "burn": ((fmt_burn(f.burn.usd_per_hour), "muted" if not f.burn.usd_per_hour else "warn"),),
        "last": (("—" if age is None else fmt_age(age), "" if f.status == WORKING else "muted"),),
        "duration": ((fmt_duration(s.duration), "muted"),),
    }
    if f.archived:
        # Dimmed, with its own status: the session is history, its files are gone.
        spec = {k: tuple((text, "archived") for text, _style in cell) for k, cell in spec.items()}
        spec["status"] = ((ARCHIVED_GLYPH, "archived"), (" ", ""), (ARCHIVED, "archived"))
    if f.heavy:
        # The whole row turns red and bold, and a reversed ▲ badge replaces the status glyph:
        # without colour (NO_COLOR, a 16-colour TERM) the row still stands out.
        spec = {k: tuple((text, "heavy") for text, _style in cell) for k, cell in spec.items()}
        spec["status"] = (("▲", "badge"),) + spec["status"][1:]
    return spec


def _per_prompt(value: float | None) -> CellSpec:
    if value is None:
        return (("—", "muted"),)
    return ((f"{value:.0f}" if value < 1000 else "999+", ""),)


def _hit(rate: float | None) -> CellSpec:
    style = hit_style(rate)
    text = fmt_rate(rate)
    return ((text + BAD_MARK, style),) if style == "bad" and len(text) < 4 else ((text, style),)


def group_spec(project: str, members: list[Row]) -> RowSpec:
    """The header row of one project's group: its sessions' sums."""
    u = Usage()
    cost = 0.0
    partial = False
    rate = 0.0
    prompts = turns = tools = 0
    last = None
    agents = sorted({m.summary.agent for m in members})
    for m in members:
        s = m.summary
        u.add(s.usage)
        cost += s.cost
        partial = partial or s.cost_partial
        rate += m.burn.usd_per_hour
        prompts += s.prompts
        turns += s.assistant_turns
        tools += s.tool_use_count
        if s.last_activity is not None and (last is None or s.last_activity > last):
            last = s.last_activity
    name = clean(members[0].label or members[0].summary.project_name) if members else "?"
    side = u.input_side
    hit = u.cache_read / side if side else None
    n = len(members)
    return {
        "status": (("▾", "group"), (" ", ""), (f"{n} sess", "group")),
        "agent": (("+".join(agents), "muted"),),
        "project": ((name, "group"),),
        "title": ((clean(project) or "?", "muted"),),
        "name": ((name, "group"), (f" · {n} session{'s' if n != 1 else ''}", "muted")),
        "models": (("", ""),),
        "turns": ((f"{prompts}/{turns}", "muted"),),
        "per_prompt": ((f"{turns / prompts:.0f}" if prompts else "—", "muted"),),
        "tools": ((str(tools), "muted"),),
        "input": ((fmt_tokens(u.input), "muted"),),
        "output": ((fmt_tokens(u.output), "muted"),),
        "cache_write": ((fmt_tokens(u.cache_write), "muted"),),
        "cache_read": ((fmt_tokens(u.cache_read), "muted"),),
        "total": ((fmt_tokens(u.total), "group"),),
        "hit": ((fmt_rate(hit), hit_style(hit)),),
        "ctx": (("", ""),),
        "cost": ((fmt_cost(cost, partial), "group"),),
        "burn": ((fmt_burn(rate), "muted"),),
        "last": (("", ""),),
        "duration": (("", ""),),
    }
