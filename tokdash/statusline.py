"""``tokdash statusline``: one line for Claude Code's status line, tmux or a shell prompt.

Claude Code runs the configured status-line command with a JSON object on stdin
(``session_id``, ``transcript_path``, ``cwd``, ``model``...) and shows the first line
it prints. Given that, tokdash reads only that session's transcript and its
sub-agents' files. Without it (run from tmux or a prompt), it sums the fleet:
sessions working now and what today cost.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import orjson

from tokdash.ingest.reader import Reader
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import Store
from tokdash.report import fmt_cost, fmt_rate, fmt_tokens
from tokdash.sources import SOURCES

WORKING_SECONDS = 120.0
"""A session whose last activity is this recent counts as working."""


def parse_hook_input(raw: bytes) -> dict | None:
    """The JSON Claude Code pipes to a status-line command; None if absent or not JSON."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def session_files(transcript: Path) -> list[Path]:
    """The main transcript and its 2.1.x sub-agent files (``<stem>/subagents/agent-*.jsonl``)."""
    return SOURCES["claude"].session_files(transcript)


def session_summary(transcript: Path, prices) -> SessionSummary | None:
    """Read one Claude Code session (main file and sub-agents) and summarize it."""
    source = SOURCES["claude"]
    reader, store = Reader(), Store()
    for path in session_files(transcript):
        batch = reader.read(path, source, finalize=True)
        if batch is not None:
            store.add_batch(batch, "claude")
    session = store.sessions.get(("claude", transcript.stem))
    return summarize(session, prices) if session is not None else None


def session_line(s: SessionSummary) -> str:
    """``opus-4-6 · 1.24M tok · $3.41 · cache 96% · ctx 45%``."""
    parts = []
    if s.models:
        parts.append(s.models[0].removeprefix("claude-"))
    parts.append(f"{fmt_tokens(s.usage.total)} tok")
    parts.append(fmt_cost(s.cost, s.cost_partial))
    parts.append(f"cache {fmt_rate(s.cache_hit_rate)}")
    if s.context_pct is not None:
        parts.append(f"ctx {s.context_pct * 100:.0f}%")
    return " · ".join(parts)


def fleet_line(summaries: list[SessionSummary], today_facts, now: float | None = None) -> str:
    """``2 working · today 14.2M tok $9.87``: sessions active in the last two minutes, and the
    calls made since local midnight (``today_facts``: history facts from midnight on)."""
    now = time.time() if now is None else now
    working = sum(1 for s in summaries if s.last_activity and now - s.last_activity <= WORKING_SECONDS)
    tokens = sum(f.usage.total for f in today_facts)
    cost = sum(f.cost_pico for f in today_facts) / 1e12
    partial = any(f.unpriced_calls for f in today_facts)
    return f"{working} working · today {fmt_tokens(tokens)} tok {fmt_cost(cost, partial)}"


def local_midnight(now: float) -> float:
    """Epoch seconds of the last local midnight before ``now``."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
