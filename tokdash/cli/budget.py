"""``tokdash report budget``: spend per day, week, month (and per session) against ``[budget]``."""

from __future__ import annotations

import time

from tokdash.cli.common import CliError, open_sessions, parse_zone, write_json


def budget_statuses(opened, config, now: float, tz, agent: str = "all") -> list:
    """Every configured limit with its spend, over an open catalog: period limits for every
    configured project, session limits for the sessions active in the current day that
    reached the first alert threshold (the others have nothing to say)."""
    from tokdash.model.budget import SessionSpend, earliest_start, evaluate, periods

    catalog = opened.catalog
    summaries = [s for s in catalog.summaries() if agent == "all" or s.agent == agent]
    projects = {(s.agent, s.session_id): s.project for s in summaries}
    since = earliest_start(config, now, tz)
    facts = [f for f in opened.facts(since, None) if agent == "all" or f.agent == agent] if since is not None else []
    out = evaluate(config, facts, now, tz, projects=projects)
    day = periods(now, tz)["daily_usd"].start
    first = min(config.alert_at) if config.alert_at else 100.0
    for s in summaries:
        if (s.last_activity or 0) < day:
            continue
        spend = SessionSpend((s.agent, s.session_id), s.cost, s.usage.total, s.project, s.cost_partial)
        out += [st for st in evaluate(config, [], now, tz, session=spend)
                if st.limit_key in ("session_usd", "session_tokens") and st.percent >= first]
    return out


def run_report_budget(args) -> int:
    """``tokdash report budget [--json] [--tz ZONE]``."""
    from tokdash.model.budget import BudgetConfigError, load_budget
    from tokdash.model.config import default_config_path
    from tokdash.report.budget import budget_json, budget_table

    tz = parse_zone(args.tz)
    try:
        config = load_budget(default_config_path())
    except BudgetConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None
    now = time.time()
    statuses = []
    if config.active:
        opened = open_sessions(args)
        try:
            statuses = budget_statuses(opened, config, now, tz, args.agent)
        finally:
            opened.close()
    if args.json:
        write_json(budget_json(config, statuses))
    else:
        print(budget_table(config, statuses))
    return 0


def budget_footer_for(opened, agent: str = "all", tz=None) -> str | None:
    """The one line ``report sessions`` and the history reports print under their table when
    budgets are set, with days, weeks and months in ``tz`` (None otherwise, or when the config
    is wrong: the report stays as it was)."""
    from tokdash.model.budget import BudgetConfigError, load_budget
    from tokdash.model.config import default_config_path
    from tokdash.report.budget import budget_footer

    try:
        config = load_budget(default_config_path())
    except BudgetConfigError:
        return None
    if not config.active:
        return None
    return budget_footer(budget_statuses(opened, config, time.time(), tz, agent))
