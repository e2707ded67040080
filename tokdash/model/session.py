"""Per-session aggregates, derived from the calls and events a session owns.

``summarize`` is a pure function of the store's contents and a price book: the
same records always give the same summary, whichever order they arrived in.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field

from tokdash.model.figures import SessionFigures
from tokdash.model.context import context_window
from tokdash.model.records import EDIT, READ, WRITE, Event, Usage
from tokdash.model.session_json import summary_json
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
    task: str = ""
    """What its parent asked of it (the first words), when the source knows; "" otherwise."""


@dataclass(slots=True)
class SessionSummary(SessionFigures):
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
    waiting_since: float | None = None
    """When the agent's last turn ended with nothing after it: it waits for its human (else None)."""
    repeat: tuple[str, str, int] | None = None
    """The longest run of whole-file reads of one file with no change of that file in between
    (name, target, times): re-reading an unchanged file is a loop's signature; a read after an
    edit, or of another part of the file, is not a repeat, and edits are ordinary work."""
    """The shell command that resumes this session in its CLI (from its source, via the
    main transcript's meta); None when there is none or the id is not safe to paste."""

    @property
    def models(self) -> list[str]:
        """Models routed, most tokens first."""
        return sorted(self.by_model, key=lambda m: -self.by_model[m].usage.total)

    @property
    def duration(self) -> float:
        """Seconds from first to last activity."""
        if self.first_activity is None or self.last_activity is None:
            return 0.0
        return max(self.last_activity - self.first_activity, 0.0)

    @property
    def turns_per_prompt(self) -> float | None:
        """Assistant turns per human prompt (None without a prompt): the loop signature."""
        return self.assistant_turns / self.prompts if self.prompts else None

    @property
    def tool_use_count(self) -> int:
        """All tool uses."""
        return sum(self.tool_uses.values())

    def to_json(self) -> dict:
        """The report's JSON object. Field names are a contract for scripts: keep them stable."""
        return summary_json(self)


REPEAT_KINDS = frozenset({READ})
"""Tool kinds whose repetition on one target is a loop's signature (see ``SessionSummary.repeat``).
Searches are left out: their recorded target is the folder searched, not the pattern."""
RESET_KINDS = frozenset({EDIT, WRITE})
"""Tool kinds that change their target: a read after one of them is fresh, not a repeat."""


def _longest_rerun(timed: list) -> tuple[str, str, int] | None:
    """The longest run of one read or search on one target with no change of that target in
    between, over the session's tool uses in time order: (tool name, target, times)."""
    timed.sort(key=lambda t: (t[0], t[1]))
    runs: dict[tuple[str, str], int] = {}
    best: tuple[int, str, str] | None = None
    for _ts, _rank, slot in timed:
        for tool in slot.tools.values():
            if not tool.target:
                continue
            if tool.kind in RESET_KINDS:
                for key in [k for k in runs if k[1] == tool.target]:
                    runs[key] = 0
            elif tool.kind in REPEAT_KINDS and tool.whole_file:
                # A read of another part of a file (offset/limit) pages through it: no repeat.
                key = (tool.name, tool.target)
                n = runs[key] = runs.get(key, 0) + 1
                if best is None or (n, tool.name, tool.target) > best:
                    best = (n, tool.name, tool.target)
    return (best[1], best[2], best[0]) if best is not None else None
_BARE_COMMAND = re.compile(r"/[\w:.-]+")
_NOTICE = re.compile(r"<(ide_[a-z_]+|system-reminder)>.*?</\1>", re.S)


def title_of(prompt: str) -> str:
    """What a human prompt says as a title: "" for a bare slash command (``/clear``, ``/init``)
    or an IDE notice alone, which say nothing about the session."""
    text = _NOTICE.sub(" ", prompt).strip()
    if not text or text.startswith("<") or _BARE_COMMAND.fullmatch(text):
        return ""
    return " ".join(text.split())


def _title_from_prompts(prompts: list[Event]) -> str:
    prompts.sort(key=lambda e: (e.timestamp, e.rank))
    for ev in prompts:
        title = title_of(ev.text)
        if title:
            return title
    return prompts[0].text if prompts else ""


def summarize(session: Session, prices) -> SessionSummary:
    """Aggregate one session. ``prices`` is a ``PriceBook`` (anything with ``cost``)."""
    total = Usage()
    by_model: dict[str, ModelTotals] = {}
    agents: dict[str, SubagentTotals] = {}
    tools: Counter = Counter()
    timed: list = []
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
        if slot.tools:
            timed.append((c.timestamp, c.rank, slot))
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
    compactions = rate_limits = api_errors = 0
    prompt_events: list[Event] = []
    tasks: list[Event] = []
    turn_end = None
    for ev in session.events.values():
        kind = ev.kind
        if kind == "prompt":
            prompt_events.append(ev)
        elif kind == "turn_end":
            if turn_end is None or ev.timestamp > turn_end:
                turn_end = ev.timestamp
            continue  # the end of a turn is not activity of its own: it dates nothing
        elif kind == "tool":
            tools[ev.text] += 1
        elif kind == "tool_output":
            continue  # sizes of tool results: used by the tips, not an activity of its own
        elif kind == "task":
            tasks.append(ev)
            continue  # the sub-agent's calls date its work
        elif kind == "compaction":
            compactions += 1
        elif kind == "rate_limit":
            rate_limits += 1
        elif kind == "api_error":
            api_errors += 1
        if ev.timestamp:
            first = ev.timestamp if first is None or ev.timestamp < first else first
            last = ev.timestamp if last is None or ev.timestamp > last else last

    for ev in sorted(tasks, key=lambda e: (e.timestamp, e.rank), reverse=True):  # the earliest wins
        a = agents.get(ev.agent_id or "")
        if a is not None:
            a.task = ev.text
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
    if not title:
        title = _title_from_prompts(prompt_events)
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
    # Waiting for the human: the last turn ended, and nothing of the main chain came after it.
    last_main_ts = max([last_main[0].timestamp if last_main is not None else 0.0,
                        *(e.timestamp for e in prompt_events)])
    waiting = turn_end if turn_end is not None and turn_end >= last_main_ts else None
    top = _longest_rerun(timed)
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
        prompts=len(prompt_events),
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
        waiting_since=waiting,
        repeat=top,
    )


def project_name(cwd: str) -> str:
    """A short display name for a working directory: its last component."""
    if not cwd:
        return "?"
    name = os.path.basename(cwd.rstrip("/\\")) or cwd
    if "\\" in name:
        name = name.rsplit("\\", 1)[-1]
    return name
