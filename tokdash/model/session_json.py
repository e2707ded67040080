"""The JSON object of one session (``report sessions --json``): the field names are a contract."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(ts: float | None) -> str | None:
    """Epoch seconds to ISO-8601 UTC with milliseconds and ``Z``."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary_json(s) -> dict:
    """The report's JSON object of a ``SessionSummary``. Field names are a contract for scripts:
    keep them stable."""
    u = s.usage
    return {
        "session_id": s.session_id,
        "agent": s.agent,
        "project": s.project,
        "project_name": s.project_name,
        "title": s.title,
        "git_branch": s.git_branch,
        "cli_version": s.cli_version,
        "paths": s.paths,
        "models": s.models,
        "first_activity": iso(s.first_activity),
        "last_activity": iso(s.last_activity),
        "duration_seconds": round(s.duration, 3),
        "input_tokens": u.input,
        "output_tokens": u.output,
        "reasoning_tokens": u.reasoning,
        "cache_write_tokens": u.cache_write,
        "cache_write_5m_tokens": u.cache_write_5m,
        "cache_write_1h_tokens": u.cache_write_1h,
        "cache_read_tokens": u.cache_read,
        "total_tokens": u.total,
        "web_searches": u.web_search,
        "cache_hit_rate": None if s.cache_hit_rate is None else round(s.cache_hit_rate, 6),
        "cost_usd": round(s.cost, 6),
        "cost_partial": s.cost_partial,
        "unpriced_models": s.unpriced_models,
        "prompts": s.prompts,
        "assistant_turns": s.assistant_turns,
        "api_calls": s.api_calls,
        "tool_uses": dict(sorted(s.tool_uses.items(), key=lambda kv: (-kv[1], kv[0]))),
        "subagents": [
            {
                "agent_id": a.agent_id,
                "task": a.task,
                "models": [m for m, _ in a.models.most_common()],
                "input_tokens": a.usage.input,
                "output_tokens": a.usage.output,
                "cache_write_tokens": a.usage.cache_write,
                "cache_read_tokens": a.usage.cache_read,
                "total_tokens": a.usage.total,
                "api_calls": a.calls,
                "cost_usd": round(a.cost, 6),
            }
            for a in s.subagents
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
            for m, t in sorted(s.by_model.items(), key=lambda kv: -kv[1].usage.total)
        },
        "context_tokens": s.context_tokens,
        "context_window": s.context_window,
        "compactions": s.compactions,
        "rate_limits": s.rate_limits,
        "api_errors": s.api_errors,
        "forked_from": s.forked_from,
        "unreadable_lines": s.bad_lines,
        "resume_command": s.resume_command,
    }
