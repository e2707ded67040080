"""``tokdash report sessions`` and the history reports (daily, weekly, monthly, projects, models)."""

from __future__ import annotations

from tokdash.cli.budget import budget_footer_for
from tokdash.cli.common import (
    agents_of,
    open_sessions,
    parse_day,
    parse_zone,
    roots_for,
    write_json,
)

HISTORY_REPORTS = {
    "daily": "usage and cost per day (each call on its own day)",
    "weekly": "usage and cost per ISO week (Monday first)",
    "monthly": "usage and cost per month",
    "projects": "usage and cost per project (working directory)",
    "models": "usage and cost per model",
}
"""The history reports: name -> help."""


def _filters_said(args) -> dict[str, str]:
    """Each report filter as the user typed it, for the message that names the one that emptied it."""
    return {"agent": f"--agent {args.agent}", "since": f"--since {args.since}", "until": f"--until {args.until}",
            "project": f"--project {args.project}"}


def run_report_sessions(args) -> int:
    """``tokdash report sessions``."""
    from tokdash.format import clean
    from tokdash.report.sessions import filter_rows, sessions_json, sessions_table
    from tokdash.report.table import color_wanted

    since = parse_day(args.since) if args.since else None
    until = parse_day(args.until, end=True) if args.until else None
    opened = open_sessions(args)
    try:
        # the line under a table (JSON has report budget --json): not loaded for --json
        footer = None if args.json else budget_footer_for(opened, args.agent)
    finally:
        opened.close()
    catalog = opened.catalog
    chosen = filter_rows(list(catalog.fleet.rows.values()), agent=args.agent, since=since, until=until,
                         project=args.project, sort=args.sort, limit=args.limit, descriptions=_filters_said(args))
    if args.json:
        out = sessions_json(chosen.rows, catalog.archived)
        write_json(out)
    elif chosen.emptied_by:
        print(f"No sessions match {clean(chosen.emptied_by)} ({chosen.before} before that filter).")
    elif not chosen.rows:
        looked = "; ".join(clean(line) for line in roots_for(agents_of(args.agent), args).describe())
        print(f"No sessions found. Looked in: {looked}")
    else:
        print(sessions_table(chosen.rows, catalog.archived, color=color_wanted()))
        if footer:
            print(footer)
    return 0


def run_report_history(args) -> int:
    """``tokdash report daily|weekly|monthly|projects|models``."""
    from tokdash.format import clean
    from tokdash.model.history import SessionInfo, filter_facts, group, history_json
    from tokdash.report.history import history_table
    from tokdash.report.table import color_wanted

    tz = parse_zone(args.tz)
    since = parse_day(args.since, tz=tz) if args.since else None
    until = parse_day(args.until, end=True, tz=tz) if args.until else None
    opened = open_sessions(args)
    info = {(s.agent, s.session_id): SessionInfo(s.project, s.project_name) for s in opened.catalog.summaries()}
    try:
        facts = filter_facts(opened.facts(since, until), info, agent=args.agent, since=since, until=until,
                             project=args.project)
        rows = group(facts, args.report, info, tz)
        # days as the report's (as report budget --tz); only under a table
        footer = None if args.json else budget_footer_for(opened, args.agent, tz)
    finally:
        opened.close()
    if args.json:
        write_json(history_json(rows, args.report))
    elif not rows:
        said = [v for k, v in _filters_said(args).items() if getattr(args, k, None) not in (None, "all")]
        print("No API calls found" + (f" for {', '.join(clean(x) for x in said)}." if said else "."))
    else:
        labels = {s.project: r.label for r in opened.catalog.fleet.rows.values() for s in (r.summary,)}
        print(history_table(rows, args.report, labels=labels, color=color_wanted()))
        if footer:
            print(footer)
    return 0
