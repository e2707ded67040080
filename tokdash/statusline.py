"""``tokdash statusline``: one line for Claude Code's status line, tmux or a shell prompt.

Claude Code runs the configured status-line command with a JSON object on stdin
(``session_id``, ``transcript_path``, ``cwd``, ``model``...) and shows the first line
it prints. Given that, tokdash reads only that session's transcript and its
sub-agents' files. Without it (run from tmux or a prompt), it sums the fleet:
sessions working now and what today cost.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import orjson

from tokdash.ingest.reader import Reader
from tokdash.model.session import SessionSummary, summarize
from tokdash.model.store import Store
from tokdash.format import fmt_cost, fmt_rate, fmt_tokens
from tokdash.sources import SOURCES

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


def source_of(transcript: Path):
    """The agent CLI whose transcript ``transcript`` is (the first source that claims it), or None."""
    return next((source for source in SOURCES.values() if source.claims(transcript)), None)


def session_files(transcript: Path) -> list[Path]:
    """Every file of the session whose main transcript is ``transcript`` (its sub-agents' too)."""
    source = source_of(transcript)
    return source.session_files(transcript) if source is not None else [transcript]


def session_summary(transcript: Path, prices) -> SessionSummary | None:
    """Read one session (main file and sub-agents) and summarize it; None when there is none."""
    source = source_of(transcript)
    if source is None:
        return None
    reader, store = Reader(), Store()
    sid = None
    for path in source.session_files(transcript):
        batch = reader.read(path, source, finalize=True)
        if batch is not None:
            store.add_batch(batch, source.name)
        if path == transcript and str(path) in reader.files:
            sid = reader.files[str(path)].ctx.session_id  # the session the main file belongs to
    session = store.sessions.get((source.name, sid)) if sid is not None else None
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


def fleet_line(working: int, today_facts) -> str:
    """``2 working · today 14.2M tok $9.87``: sessions working now (the fleet's status, as the
    dashboard shows it), and the calls made since local midnight (``today_facts``: history
    facts from midnight on)."""
    tokens = sum(f.usage.total for f in today_facts)
    cost = sum(f.cost_pico for f in today_facts) / 1e12
    partial = any(f.unpriced_calls for f in today_facts)
    return f"{working} working · today {fmt_tokens(tokens)} tok {fmt_cost(cost, partial)}"


def local_midnight(now: float) -> float:
    """Epoch seconds of the last local midnight before ``now``."""
    return datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
