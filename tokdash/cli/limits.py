"""``tokdash report limits``, and the command-line entries of the limits and budget commands.

:func:`add_parsers` adds ``report limits``, ``report budget`` and ``hook`` (``install`` /
``uninstall``) to the parser; :func:`dispatch` runs them. The bare ``tokdash hook`` (what
Claude Code runs) never gets here: ``main`` hands it to ``tokdash.cli.hook`` before any
parser is built.
"""

from __future__ import annotations

import time

from tokdash.cli.common import (
    Parser,
    add_cache_flag,
    add_source_flags,
    agents_of,
    open_sessions,
    roots_for,
    write_json,
)
from tokdash.sources import SOURCES

REPORTS = ("limits", "budget")


def add_parsers(sub, rsub) -> None:
    """Add ``report limits``, ``report budget`` and ``hook`` to the (sub)parsers."""
    limits = rsub.add_parser("limits", help="plan windows (5 h, 7 days): official figures, or estimates")
    add_source_flags(limits)
    limits.add_argument("--json", action="store_true",
                        help='JSON: {"limits": [{agent, window, used_percent, resets_at, observed_at, source, '
                             'expired; estimates: tokens, cost_usd}], "no_official": [agents]}')
    add_cache_flag(limits)
    budget = rsub.add_parser("budget", help="spend against the [budget] limits of the config file")
    add_source_flags(budget)
    budget.add_argument("--json", action="store_true", help='JSON: {"budgets": [...], "alert_at": [...], "hard_cap": ...}')
    budget.add_argument("--tz", metavar="ZONE", help="IANA time zone of days, weeks and months (default: local)")
    add_cache_flag(budget)
    hook = sub.add_parser("hook", help="Claude Code hook enforcing the budgets (JSON on stdin); "
                                       "install / uninstall add or remove it in settings.json")
    hsub = hook.add_subparsers(dest="hook_action", parser_class=Parser)
    for name, what in (("install", "add tokdash's UserPromptSubmit and PreToolUse hooks to Claude Code's settings"),
                       ("uninstall", "remove tokdash's hooks from Claude Code's settings")):
        p = hsub.add_parser(name, help=what)
        p.add_argument("--settings", metavar="PATH",
                       help="the settings file (default: $CLAUDE_CONFIG_DIR/settings.json, else "
                            "~/.claude/settings.json)")


def dispatch(args) -> int | None:
    """Run one of these commands; None when ``args`` names another."""
    if args.command == "report" and args.report == "limits":
        return run_report_limits(args)
    if args.command == "report" and args.report == "budget":
        from tokdash.cli.budget import run_report_budget

        return run_report_budget(args)
    if args.command == "hook":
        if args.hook_action is None:
            from tokdash.cli.hook import run_hook

            return run_hook()
        from tokdash.cli.hook_install import run_install

        return run_install(args, remove=args.hook_action == "uninstall")
    return None


def run_report_limits(args) -> int:
    """``tokdash report limits``: the official windows of every agent that reports them, and
    for an agent without an official 5-hour figure an estimate of its current block."""
    from tokdash.ingest import plan_limits
    from tokdash.model.limits import estimate_block
    from tokdash.report.limits import limits_json, limits_table

    now = time.time()
    roots = roots_for(agents_of(args.agent), args)
    windows = plan_limits.official(roots, now, expired=True)
    # Agents with transcripts here whose CLI has plan windows at all (5-hour blocks on a
    # subscription); the others bill per token and have no window to report or estimate.
    used = [a for a in dict.fromkeys(agent for agent, _folder in roots.scan_dirs()) if SOURCES[a].has_plan_windows]
    missing = plan_limits.without_official(used, windows)
    current = plan_limits.live(windows, now)
    want = [a for a in used if not any(w.agent == a and w.window == "5h" for w in current)]
    if want:
        opened = open_sessions(args)
        try:
            facts = opened.facts(now - 86400, None)
        finally:
            opened.close()
        windows += [w for w in (estimate_block(a, facts, now) for a in want) if w is not None]
    if args.json:
        write_json(limits_json(windows, missing, now))
    else:
        print(limits_table(windows, missing, now))
    return 0
