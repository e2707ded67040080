"""``tokdash statusline``: one line for Claude Code's status line, tmux or a shell prompt."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tokdash.cli.common import open_sessions, price_book


def run_statusline(args) -> int:
    """With Claude Code's status-line JSON on stdin, that session's model, tokens, cost, cache
    hit and context; without it, the fleet: sessions working now and what today cost. Never
    fails loudly: a status line must always print something."""
    from tokdash.model.activity import WORKING
    from tokdash.statusline import fleet_line, local_midnight, parse_hook_input, session_line, session_summary

    hook = None
    if not sys.stdin.isatty():
        try:
            hook = parse_hook_input(sys.stdin.buffer.read())
        except OSError:
            hook = None
    transcript = hook.get("transcript_path") if hook else None
    if isinstance(transcript, str) and transcript:
        summary = session_summary(Path(os.path.expanduser(transcript)), price_book())
        print(session_line(summary) if summary is not None else "tokdash: no usage yet")
        return 0
    opened = open_sessions(args)
    try:
        now = time.time()
        rows = opened.catalog.fleet.rows.values()
        working = sum(1 for r in rows if r.status == WORKING and (args.agent == "all" or r.key[0] == args.agent))
        facts = [f for f in opened.facts(local_midnight(now), None) if args.agent == "all" or f.agent == args.agent]
        print(fleet_line(working, facts))
    finally:
        opened.close()
    return 0
