"""Entry point: the live dashboard by default, plus non-interactive commands."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, time, timedelta

import orjson

from tokdash import __version__

AGENTS = ("claude", "codex")


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2 (usage) or 1 (data)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line instead of usage + traceback-like noise."""

    def error(self, message: str):  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see --help)", 2)


def parse_day(text: str, *, end: bool = False) -> float:
    """``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO-8601 datetime, in local time, to epoch seconds.

    A bare date means the start of that day, or with ``end`` the start of the next
    day, so ``--until 2026-11-24`` includes the whole of the 24th.
    """
    raw = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time()).timestamp()
    try:
        return datetime.fromisoformat(raw).timestamp()
    except ValueError:
        raise CliError(f"tokdash: not a date: {text!r} (use YYYY-MM-DD)", 2) from None


def _add_source_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claude-dir", action="append", metavar="DIR",
                   help="a Claude config dir (holding projects/) or projects/ itself; repeatable. "
                        "Default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude")
    p.add_argument("--codex-dir", action="append", metavar="DIR",
                   help="a Codex home (holding sessions/); repeatable. Default: $CODEX_HOME, else ~/.codex")
    p.add_argument("--agent", choices=("claude", "codex", "all"), default="all", help="which agent CLIs to read")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(prog="tokdash", description="Watch what your AI coding agents spend, live, per session.")
    parser.add_argument("--version", action="version", version=f"tokdash {__version__}")
    _add_source_flags(parser)
    parser.add_argument("--demo", action="store_true", help="run the dashboard over a generated, live fleet")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    report = sub.add_parser("report", help="non-interactive reports for people and scripts")
    rsub = report.add_subparsers(dest="report", parser_class=_Parser, required=True)
    sessions = rsub.add_parser("sessions", help="one row per session")
    _add_source_flags(sessions)
    sessions.add_argument("--json", action="store_true", help='JSON: {"sessions": [...], "totals": {...}}')
    sessions.add_argument("--since", metavar="DATE", help="only sessions active on or after DATE (local)")
    sessions.add_argument("--until", metavar="DATE", help="only sessions active on or before DATE (local)")
    sessions.add_argument("--project", metavar="TEXT", help="only sessions whose project path contains TEXT")
    return parser


def _agents(choice: str) -> list[str]:
    return list(AGENTS) if choice == "all" else [choice]


def _price_book():
    from tokdash.model.pricing import PriceBook, PriceConfigError, default_config_path, load_config_prices

    try:
        return PriceBook(load_config_prices(default_config_path()))
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None


def run_report_sessions(args) -> int:
    """``tokdash report sessions``."""
    from tokdash.ingest.discovery import resolve_roots
    from tokdash.ingest.loader import Loader
    from tokdash.model.session import summarize
    from tokdash.report import filter_sessions, sessions_json, sessions_table

    since = parse_day(args.since) if args.since else None
    until = parse_day(args.until, end=True) if args.until else None
    roots = resolve_roots(_agents(args.agent), args.claude_dir, args.codex_dir)
    if roots.problems:
        raise CliError("tokdash: " + roots.problems[0])
    prices = _price_book()
    loader = Loader(roots)
    # Forked workers read while this process loads the price table.
    loader.load_all(finalize=True, jobs=None, warm=prices.warm)
    summaries = [summarize(s, prices) for s in loader.store.sessions.values()]
    chosen = filter_sessions(summaries, agent=args.agent, since=since, until=until, project=args.project)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(sessions_json(chosen), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        if not chosen:
            looked = "; ".join(roots.describe())
            print(f"No sessions found. Looked in: {looked}")
        else:
            print(sessions_table(chosen))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "report":
            return run_report_sessions(args)
        return run_tui(args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def run_tui(args) -> int:
    """The live dashboard."""
    try:
        from tokdash.ui.app import run
    except ImportError:
        raise CliError("tokdash: the dashboard is not built yet; try `tokdash report sessions`") from None
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
