"""Entry point: the live dashboard by default, plus non-interactive commands.

Every ``--<agent>-dir`` flag and the ``--agent`` choices are generated from the
registry of agent CLIs (``tokdash.sources.SOURCES``). Each command lives in a
module of its own and imports what it needs when it runs, so a report never pays
for importing the dashboard.
"""

from __future__ import annotations

import sys

from tokdash import __version__

TYPE_CHECKING = False  # typing costs a status line 3 ms to import; checkers read this as True
if TYPE_CHECKING:
    import argparse

__all__ = ["CliError", "build_parser", "main"]


def __getattr__(name: str):
    # Imported lazily: `tokdash statusline` and `tokdash hook` run on every render and before
    # every tool call, and must not pay for the registry and argparse set-up they do not use.
    if name == "CliError":
        from tokdash.cli.common import CliError

        return CliError
    raise AttributeError(name)


def _positive(text: str) -> int:
    import argparse  # not at the top: the status line and the hook never build a parser

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    from tokdash.cli.common import Parser, add_cache_flag, add_dir_flags, add_source_flags
    from tokdash.cli.reports import HISTORY_REPORTS
    from tokdash.cli.serve import add_serve_parser
    from tokdash.report.sessions import SORTS

    parser = Parser(prog="tokdash", description="Watch what your AI coding agents spend, live, per session.")
    parser.add_argument("--version", action="version", version=f"tokdash {__version__}")
    add_source_flags(parser, sub=False)
    parser.add_argument("--demo", action="store_true", help="run the dashboard over a generated, live fleet")
    add_cache_flag(parser, sub=False)
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    report = sub.add_parser("report", help="non-interactive reports for people and scripts")
    rsub = report.add_subparsers(dest="report", parser_class=Parser, required=True)
    sessions = rsub.add_parser("sessions", help="one row per session")
    add_source_flags(sessions)
    sessions.add_argument("--json", action="store_true", help='JSON: {"sessions": [...], "totals": {...}}')
    sessions.add_argument("--since", metavar="DATE", help="only sessions active on or after DATE (local)")
    sessions.add_argument("--until", metavar="DATE", help="only sessions active on or before DATE (local)")
    sessions.add_argument("--project", metavar="TEXT", help="only sessions whose project path contains TEXT")
    sessions.add_argument("--sort", choices=SORTS, default="last",
                          help="order: last (newest first, the default), status (as the dashboard), or a column "
                               "(largest first; agent and project A to Z)")
    sessions.add_argument("--limit", type=_positive, metavar="N", help="at most N sessions (after sorting)")
    add_cache_flag(sessions)
    for name, what in HISTORY_REPORTS.items():
        hist = rsub.add_parser(name, help=what)
        add_source_flags(hist)
        hist.add_argument("--json", action="store_true", help='JSON: {"rows": [...], "totals": {...}}')
        hist.add_argument("--since", metavar="DATE", help="only calls on or after DATE")
        hist.add_argument("--until", metavar="DATE", help="only calls on or before DATE (the whole day)")
        hist.add_argument("--project", metavar="TEXT", help="only sessions whose project path contains TEXT")
        hist.add_argument("--tz", metavar="ZONE",
                          help="IANA time zone for days, weeks (Monday first) and months, and for DATE "
                               "(default: this machine's local time)")
        add_cache_flag(hist)
    from tokdash.cli.statusline import DESCRIPTION as STATUSLINE_DESCRIPTION

    status = sub.add_parser("statusline", help="one line for Claude Code's status line, tmux or a prompt",
                            description=STATUSLINE_DESCRIPTION)
    add_source_flags(status)
    add_cache_flag(status)
    from tokdash.cli.limits import add_parsers as add_limits_parsers

    add_limits_parsers(sub, rsub)  # report limits, report budget, hook [install|uninstall]
    index = sub.add_parser("index", help="the persistent index of what tokdash has read (status by default)")
    add_dir_flags(index, defaults=False)
    action = index.add_mutually_exclusive_group()
    action.add_argument("--rebuild", action="store_true",
                        help="re-read every transcript from zero (history of deleted transcripts is kept)")
    action.add_argument("--forget", action="append", metavar="PATH",
                        help="drop a transcript file, or every file under a folder, from the index for good "
                             "(repeatable; more than one session asks first, or needs --yes)")
    action.add_argument("--unforget", action="append", metavar="PATH",
                        help="stop ignoring forgotten files (that file, or those under a folder); they are "
                             "read again if they still exist (repeatable)")
    index.add_argument("--yes", action="store_true", help="do not ask before forgetting more than one session")
    index.add_argument("--json", action="store_true", help="status as JSON")
    add_serve_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["statusline"]:
        # Claude Code's status line (or a prompt's, with no flag): no argparse, no registry
        # unless the line needs it; see tokdash.cli.statusline.
        from tokdash.cli.statusline import run_bare_statusline

        return run_bare_statusline()
    if argv == ["hook"]:
        from tokdash.cli.hook import run_hook

        return run_hook()
    from tokdash.cli.common import CliError, agent_dirs

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "hook" or (args.command == "report" and args.report in ("limits", "budget")):
            from tokdash.cli.limits import dispatch

            return dispatch(args)
        if args.command == "report":
            from tokdash.cli.reports import run_report_history, run_report_sessions

            return run_report_sessions(args) if args.report == "sessions" else run_report_history(args)
        if args.command == "index":
            from tokdash.cli.index import run_index

            return run_index(args)
        if args.command == "serve":
            from tokdash.cli.serve import run_serve

            return run_serve(args)
        if args.command == "statusline":
            from tokdash.cli.statusline import run_statusline

            return run_statusline(args)
        from tokdash.ui.launch import run

        return run(args, agent_dirs(args))
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
