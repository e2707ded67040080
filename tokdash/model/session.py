"""Per-session aggregates, derived from the calls and events a session owns.

``summarize`` is a pure function of the store's contents and a price book: the
same records always give the same summary, whichever order they arrived in.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tokdash.model.context import context_window
from tokdash.model.records import Usage
from tokdash.model.store import Session


@dataclass(slots=True)
class ModelTotals:
    """Tokens and cost of one model within a session."""

    usage: Usage = field(default_factory=Usage)
    calls: int = 0
    cost: float = 0.0
    priced: bool = True


@dataclass(slots=True)
class SubagentTotals:
    """One sub-agent of a session: its own models and tokens."""

    agent_id: str
    usage: Usage = field(default_factory=Usage)
    models: Counter = field(default_factory=Counter)
    calls: int = 0
    cost: float = 0.0
    first_ts: float = 0.0


@dataclass(slots=True)
class SessionSummary:
    """Every number tokdash shows about one session."""

    agent: str
    session_id: str
    project: str
    """The working directory (cwd) of the session, as the transcript states it."""
    project_name: str
    title: str
    git_branch: str | None
    cli_version: str | None
    paths: list[str]
    first_activity: float | None
    last_activity: float | None
    usage: Usage
    by_model: dict[str, ModelTotals]
    subagents: list[SubagentTotals]
    api_calls: int
    assistant_turns: int
    prompts: int
    tool_uses: dict[str, int]
    compactions: int
    rate_limits: int
    api_errors: int
    context_tokens: int
    context_window: int | None
    cost: float
    unpriced_models: list[str]
    open: bool
    """The last main-chain call has no stop reason yet (a response may be streaming)."""
    bad_lines: int
    forked_from: str | None = None
    resume_command: str | None = None
    """The shell command that resumes this session in its CLI (from its source, via the
    main transcript's meta); None when there is none or the id is not safe to paste."""

    @property
    def models(self) -> list[str]:
        """Models routed, most tokens first."""
        return sorted(self.by_model, key=lambda m: -self.by_model[m].usage.total)

    @property
    def cache_hit_rate(self) -> float | None:
        """cache_read / (input + cache_write + cache_read); None with no input at all."""
        side = self.usage.input_side
        return self.usage.cache_read / side if side else None

    @property
    def cost_partial(self) -> bool:
        """Some calls used a model without a known price: the cost is a lower bound."""
        return bool(self.unpriced_models)

    @property
    def context_pct(self) -> float | None:
        """Current context size as a share of the window."""
        if not self.context_window:
            return None
        return self.context_tokens / self.context_window

    @property
    def duration(self) -> float:
        """Seconds from first to last activity."""
        if self.first_activity is None or self.last_activity is None:
            return 0.0
        return max(self.last_activity - self.first_activity, 0.0)

    @property
    def tool_use_count(self) -> int:
        """All tool uses."""
        return sum(self.tool_uses.values())

    def to_json(self) -> dict:
        """The report's JSON object. Field names are a contract for scripts: keep them stable."""
        u = self.usage
        return {
            "session_id": self.session_id,
            "agent": self.agent,
            "project": self.project,
            "project_name": self.project_name,
            "title": self.title,
            "git_branch": self.git_branch,
            "cli_version": self.cli_version,
            "paths": self.paths,
            "models": self.models,
            "first_activity": iso(self.first_activity),
            "last_activity": iso(self.last_activity),
            "duration_seconds": round(self.duration, 3),
            "input_tokens": u.input,
            "output_tokens": u.output,
            "reasoning_tokens": u.reasoning,
            "cache_write_tokens": u.cache_write,
            "cache_write_5m_tokens": u.cache_write_5m,
            "cache_write_1h_tokens": u.cache_write_1h,
            "cache_read_tokens": u.cache_read,
            "total_tokens": u.total,
            "web_searches": u.web_search,
            "cache_hit_rate": None if self.cache_hit_rate is None else round(self.cache_hit_rate, 6),
            "cost_usd": round(self.cost, 6),
            "cost_partial": self.cost_partial,
            "unpriced_models": self.unpriced_models,
            "prompts": self.prompts,
            "assistant_turns": self.assistant_turns,
            "api_calls": self.api_calls,
            "tool_uses": dict(sorted(self.tool_uses.items(), key=lambda kv: (-kv[1], kv[0]))),
            "subagents": [
                {
                    "agent_id": a.agent_id,
                    "models": [m for m, _ in a.models.most_common()],
                    "input_tokens": a.usage.input,
                    "output_tokens": a.usage.output,
                    "cache_write_tokens": a.usage.cache_write,
                    "cache_read_tokens": a.usage.cache_read,
                    "total_tokens": a.usage.total,
                    "api_calls": a.calls,
                    "cost_usd": round(a.cost, 6),
                }
                for a in self.subagents
            ],
            "by_model": {
                m: {
                    "input_tokens": t.usage.input,
                    "output_tokens": t.usage.output,
                    "cache_write_tokens": t.usage.cache_write,
                    "cache_read_tokens": t.usage.cache_read,
                    "total_tokens": t.usage.total,
                    "api_calls": t.calls,
                    "cost_usd": round(t.cost, 6) if t.priced else None,
                }
                for m, t in sorted(self.by_model.items(), key=lambda kv: -kv[1].usage.total)
            },
            "context_tokens": self.context_tokens,
            "context_window": self.context_window,
            "compactions": self.compactions,
            "rate_limits": self.rate_limits,
            "api_errors": self.api_errors,
            "forked_from": self.forked_from,
            "unreadable_lines": self.bad_lines,
            "resume_command": self.resume_command,
        }


def iso(ts: float | None) -> str | None:
    """Epoch seconds to ISO-8601 UTC with milliseconds and ``Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summarize(session: Session, prices) -> SessionSummary:
    """Aggregate one session. ``prices`` is a ``PriceBook`` (anything with ``cost``)."""
    total = Usage()
    by_model: dict[str, ModelTotals] = {}
    agents: dict[str, SubagentTotals] = {}
    tools: Counter = Counter()
    costs: dict[str, list[float]] = {}
    agent_costs: dict[str, list[float]] = {}
    unpriced: set[str] = set()
    turns = 0
    last_main = None
    first = last = None
    for slot in session.slots.values():
        c = slot.best
        u = c.usage
        total.add(u)
        mt = by_model.get(c.model)
        if mt is None:
            mt = by_model[c.model] = ModelTotals()
        mt.usage.add(u)
        mt.calls += 1
        call_cost = prices.cost(c.model, u, fast=c.fast)
        if call_cost is None:
            unpriced.add(c.model)
            mt.priced = False
            call_cost = 0.0
        # Summed with math.fsum below: per-call costs often add up to exactly x.xxxxxx5, and
        # plain float addition would let the order calls arrived in decide the rounding.
        costs.setdefault(c.model, []).append(call_cost)
        for tool in slot.tools.values():
            tools[tool.name] += 1
        if c.sidechain:
            aid = c.agent_id or "sidechain"
            a = agents.get(aid)
            if a is None:
                a = agents[aid] = SubagentTotals(aid, first_ts=c.timestamp)
            a.usage.add(u)
            a.models[c.model] += 1
            a.calls += 1
            agent_costs.setdefault(aid, []).append(call_cost)
            a.first_ts = min(a.first_ts, c.timestamp) if c.timestamp else a.first_ts
        else:
            turns += 1
            if last_main is None or (c.timestamp, c.rank) > (last_main[0].timestamp, last_main[0].rank):
                last_main = (c, slot)
        if c.timestamp:
            first = c.timestamp if first is None or c.timestamp < first else first
            last = c.timestamp if last is None or c.timestamp > last else last
    for model, parts in costs.items():
        by_model[model].cost = math.fsum(parts)
    for aid, parts in agent_costs.items():
        agents[aid].cost = math.fsum(parts)
    cost = math.fsum(p for parts in costs.values() for p in parts)
    prompts = compactions = rate_limits = api_errors = 0
    first_prompt = None
    for ev in session.events.values():
        kind = ev.kind
        if kind == "prompt":
            prompts += 1
            if first_prompt is None or ev.timestamp < first_prompt.timestamp:
                first_prompt = ev
        elif kind == "tool":
            tools[ev.text] += 1
        elif kind == "tool_output":
            continue  # sizes of tool results: used by the tips, not an activity of its own
        elif kind == "compaction":
            compactions += 1
        elif kind == "rate_limit":
            rate_limits += 1
        elif kind == "api_error":
            api_errors += 1
        if ev.timestamp:
            first = ev.timestamp if first is None or ev.timestamp < first else first
            last = ev.timestamp if last is None or ev.timestamp > last else last

    metas = sorted(session.metas.values(), key=lambda m: (m.is_subagent_file, m.first_ts or 0.0, m.path))
    if first is None:
        firsts = [m.first_ts for m in metas if m.first_ts]
        first = min(firsts) if firsts else None
    if last is None:
        lasts = [m.last_ts for m in metas if m.last_ts]
        last = max(lasts) if lasts else None
    main = [m for m in metas if not m.is_subagent_file] or metas
    cwd = next((m.cwd for m in main if m.cwd), None) or next((m.cwd for m in metas if m.cwd), None) or ""
    titled = [m for m in metas if m.title]
    title = ""
    if titled:
        best = max(titled, key=lambda m: (m.title_rank, not m.is_subagent_file, m.last_ts or 0.0))
        title = best.title or ""
    if not title and first_prompt is not None:
        title = first_prompt.text
    branch = next((m.git_branch for m in reversed(main) if m.git_branch), None)
    version = next((m.version for m in reversed(main) if m.version), None)
    forked = next((m.forked_from for m in main if m.forked_from), None)
    resume = next((m.resume_command for m in main if m.resume_command), None)
    context_tokens = 0
    window = None
    is_open = False
    if last_main is not None:
        c, slot = last_main
        context_tokens = c.usage.input_side
        window = context_window(c.model, context_tokens)
        is_open = slot.open
    return SessionSummary(
        agent=session.agent,
        session_id=session.session_id,
        project=cwd,
        project_name=project_name(cwd),
        title=title,
        git_branch=branch,
        cli_version=version,
        paths=sorted(session.metas),
        first_activity=first,
        last_activity=last,
        usage=total,
        by_model=by_model,
        subagents=sorted(agents.values(), key=lambda a: (a.first_ts, a.agent_id)),
        api_calls=len(session.slots),
        assistant_turns=turns,
        prompts=prompts,
        tool_uses=dict(tools),
        compactions=compactions,
        rate_limits=rate_limits,
        api_errors=api_errors,
        context_tokens=context_tokens,
        context_window=window,
        cost=cost,
        unpriced_models=sorted(unpriced),
        open=is_open,
        bad_lines=sum(m.bad_lines for m in session.metas.values()),
        forked_from=forked,
        resume_command=resume,
    )


def project_name(cwd: str) -> str:
    """A short display name for a working directory: its last component."""
    if not cwd:
        return "?"
    name = os.path.basename(cwd.rstrip("/\\")) or cwd
    if "\\" in name:
        name = name.rsplit("\\", 1)[-1]
    return name
