"""``tokdash hook``: a Claude Code hook that enforces the budgets (a hard cap without a proxy).

Claude Code runs it with one JSON object on stdin (``hook_event_name``, ``session_id``,
``transcript_path``, ``cwd``...). With ``hard_cap = true`` in ``[budget]`` and a limit at or
over 100 %, it blocks:

- ``UserPromptSubmit``: ``{"decision": "block", "reason": "..."}`` (the prompt is dropped
  and the reason shown to the user);
- ``PreToolUse``: ``{"hookSpecificOutput": {"hookEventName": "PreToolUse",
  "permissionDecision": "deny", "permissionDecisionReason": "..."}}`` (the tool call is
  refused and the model told why, which also stops an agentic loop mid-turn).

Under the limits it blocks nothing; the first time a limit crosses an ``alert_at``
threshold it prints a ``systemMessage``. It reads only what tokdash recorded (the index
and the status line's states: ``tokdash.ingest.spend``), never a transcript, and it
**fails open**: bad or empty stdin, a broken config, a missing or locked index -> exit 0,
nothing that blocks, one line on stderr, never a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import orjson

BLOCKING_EVENTS = ("UserPromptSubmit", "PreToolUse")
"""The events the guard answers with a block (the ones ``tokdash hook install`` registers)."""


class FailOpen(Exception):
    """Something kept the guard from judging: say why on stderr, block nothing."""


def run_hook() -> int:
    """The hook command: read stdin, print the decision (if any), always exit 0."""
    try:
        raw = sys.stdin.buffer.read() if not sys.stdin.isatty() else b""
    except (OSError, ValueError, AttributeError):
        raw = b""
    try:
        out = decide(raw)
    except FailOpen as exc:
        _stderr(f"tokdash hook: {exc}; not blocking")
        return 0
    except Exception as exc:  # noqa: BLE001 - a guard that crashes must not block, nor show a traceback
        from tokdash.format import clean

        _stderr(f"tokdash hook: {clean(str(exc) or type(exc).__name__, 300)}; not blocking")
        return 0
    if out is not None:
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
        sys.stdout.flush()
    return 0


def _stderr(line: str) -> None:
    try:
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass


def decide(raw: bytes, *, now: float | None = None, data: Path | None = None, config_path: Path | None = None,
           index: Path | None = None) -> dict | None:
    """What the hook prints for the JSON ``raw`` (None: nothing). Raises :class:`FailOpen`."""
    from tokdash.model.budget import BudgetConfigError, load_budget
    from tokdash.model.config import default_config_path

    try:
        hook = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        hook = None
    if not isinstance(hook, dict):
        raise FailOpen("stdin holds no hook input (a JSON object)")
    event = hook.get("hook_event_name")
    if not isinstance(event, str):
        raise FailOpen("the hook input names no hook_event_name")
    try:
        config = load_budget(config_path or default_config_path())
    except BudgetConfigError as exc:
        raise FailOpen(str(exc)) from None
    if not config.active:
        return None  # no budget set: nothing to guard
    now = time.time() if now is None else now
    statuses = judge(hook, config, now, data=data, index=index)
    from tokdash.model.budget import over_limit
    from tokdash.ingest.spend import load_tracker, save_tracker

    tracker = load_tracker("hook", config.alert_at, data)
    alerts = tracker.check(statuses, now)
    save_tracker("hook", tracker, data)
    over = over_limit(statuses)
    if config.hard_cap and over and event in BLOCKING_EVENTS:
        return block(event, over)
    if alerts:
        return {"systemMessage": "; ".join(a.message for a in alerts)}
    return None


def block(event: str, over: list) -> dict:
    """The output that blocks ``event`` because of the limits ``over``."""
    from tokdash.format import clean

    reason = clean("tokdash budget reached: " + "; ".join(s.reason() for s in over)
                   + ". Raise the limit or set hard_cap = false in tokdash's config.toml to go on.", 600)
    if event == "PreToolUse":
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                       "permissionDecisionReason": reason}}
    return {"decision": "block", "reason": reason}


def judge(hook: dict, config, now: float, *, data: Path | None = None, index: Path | None = None) -> list:
    """Every configured limit of the hook's session with its spend, from what tokdash recorded."""
    from tokdash.ingest.spend import Recorded, SpendUnavailable, default_roots, index_file, session_header
    from tokdash.model.budget import SessionSpend, earliest_start, evaluate
    from tokdash.sources import SOURCES

    transcript = hook.get("transcript_path")
    path = Path(os.path.expanduser(transcript)) if isinstance(transcript, str) and transcript.strip() else None
    source = next((s for s in SOURCES.values() if path is not None and s.claims(path)), None)
    sid = hook.get("session_id") if isinstance(hook.get("session_id"), str) else None
    try:
        recorded = Recorded(index or index_file(default_roots(), data), data)
    except SpendUnavailable as exc:
        raise FailOpen(str(exc)) from None
    try:
        since = earliest_start(config, now)
        facts = recorded.facts(since) if since is not None else []
        header = session_header(path, data) if path is not None else None
        cwd = hook.get("cwd") if isinstance(hook.get("cwd"), str) else ""
        session = None
        if header is not None and (sid is None or header.get("sid") == sid):
            # The status line keeps this session's state: fresher than any index.
            from tokdash.model.tally import Tally

            view = Tally(header.get("sid"), header.get("tally")).view()
            session = SessionSpend((header["agent"], header.get("sid") or ""), view.cost, view.usage.total,
                                   header.get("project") or cwd, view.cost_partial)
        elif source is not None and sid:
            cost, tokens, partial, _calls = recorded.session(source.name, sid)
            session = SessionSpend((source.name, sid), cost, tokens, cwd, partial)
        project = session.project if session is not None else cwd
        projects = recorded.session_projects({f.session_key for f in facts}) if config.projects else {}
        return evaluate(config, facts, now, projects=projects, session=session, only_project=project)
    except SpendUnavailable as exc:
        raise FailOpen(str(exc)) from None
    finally:
        recorded.close()
