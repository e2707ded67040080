"""``tokdash report sessions`` and the history reports (daily, weekly, monthly, projects, models)."""

from __future__ import annotations

import sys
from dataclasses import replace

import orjson

from tokdash.cli.common import open_sessions, parse_day, parse_zone, roots_for, agents_of

HISTORY_REPORTS = {
    "daily": "usage and cost per day (each call on its own day)",
    "weekly": "usage and cost per ISO week (Monday first)",
    "monthly": "usage and cost per month",
    "projects": "usage and cost per project (working directory)",
    "models": "usage and cost per model",
}
"""The history reports: name -> help."""


def run_report_sessions(args) -> int:
    """``tokdash report sessions``."""
    from tokdash.format import clean
    from tokdash.report.sessions import filter_sessions, sessions_json, sessions_table

    since = parse_day(args.since) if args.since else None
    until = parse_day(args.until, end=True) if args.until else None
    opened = open_sessions(args)
    opened.close()
    catalog = opened.catalog
    chosen = filter_sessions(catalog.summaries(), agent=args.agent, since=since, until=until, project=args.project)
    if args.json:
        out = sessions_json(chosen)
        for row, s in zip(out["sessions"], chosen, strict=True):
            row["archived"] = catalog.is_archived((s.agent, s.session_id))
        out["totals"]["archived_sessions"] = sum(1 for r in out["sessions"] if r["archived"])
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    elif not chosen:
        looked = "; ".join(clean(line) for line in roots_for(agents_of(args.agent), args).describe())
        print(f"No sessions found. Looked in: {looked}")
    else:
        shown = [replace(s, title="(archived) " + s.title) if catalog.is_archived((s.agent, s.session_id)) else s
                 for s in chosen]
        print(sessions_table(shown))
    return 0


def run_report_history(args) -> int:
    """``tokdash report daily|weekly|monthly|projects|models``."""
    from tokdash.model.history import SessionInfo, filter_facts, group, history_json
    from tokdash.report.history import history_table

    tz = parse_zone(args.tz)
    since = parse_day(args.since, tz=tz) if args.since else None
    until = parse_day(args.until, end=True, tz=tz) if args.until else None
    opened = open_sessions(args)
    info = {(s.agent, s.session_id): SessionInfo(s.project, s.project_name) for s in opened.catalog.summaries()}
    try:
        facts = filter_facts(opened.facts(since, until), info, agent=args.agent, since=since, until=until,
                             project=args.project)
        rows = group(facts, args.report, info, tz)
    finally:
        opened.close()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(history_json(rows, args.report), option=orjson.OPT_INDENT_2) + b"\n")
    elif not rows:
        print("No API calls found for these filters.")
    else:
        print(history_table(rows, args.report))
    return 0
