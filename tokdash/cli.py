"""Entry point: the live dashboard by default, plus non-interactive commands."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path

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


def parse_day(text: str, *, end: bool = False, tz: tzinfo | None = None) -> float:
    """``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO-8601 datetime, in local time (or ``tz``), to epoch seconds.

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
        return datetime.combine(day, time(), tzinfo=tz).timestamp()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(f"tokdash: not a date: {text!r} (use YYYY-MM-DD)", 2) from None
    if moment.tzinfo is None and tz is not None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def parse_zone(name: str | None) -> tzinfo | None:
    """An IANA time zone (``Europe/Paris``, ``UTC``) for ``--tz``; None means local time."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"tokdash: unknown time zone: {name!r} (use an IANA name like Europe/Paris or UTC)", 2) from None


def _add_source_flags(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    """The flags that choose what to read. On a subcommand they default to SUPPRESS, so a
    value given before the subcommand (``tokdash --agent codex report sessions``) is kept
    instead of being reset by the subcommand's own default."""
    default = argparse.SUPPRESS if sub else None
    p.add_argument("--claude-dir", action="append", metavar="DIR", default=default,
                   help="a Claude config dir (holding projects/) or projects/ itself; repeatable. "
                        "Default: $CLAUDE_CONFIG_DIR, else ~/.config/claude and ~/.claude")
    p.add_argument("--codex-dir", action="append", metavar="DIR", default=default,
                   help="a Codex home (holding sessions/); repeatable. Default: $CODEX_HOME, else ~/.codex")
    p.add_argument("--agent", choices=("claude", "codex", "all"), default=argparse.SUPPRESS if sub else "all",
                   help="which agent CLIs to read")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(prog="tokdash", description="Watch what your AI coding agents spend, live, per session.")
    parser.add_argument("--version", action="version", version=f"tokdash {__version__}")
    _add_source_flags(parser, sub=False)
    parser.add_argument("--demo", action="store_true", help="run the dashboard over a generated, live fleet")
    _add_cache_flag(parser, sub=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    report = sub.add_parser("report", help="non-interactive reports for people and scripts")
    rsub = report.add_subparsers(dest="report", parser_class=_Parser, required=True)
    sessions = rsub.add_parser("sessions", help="one row per session")
    _add_source_flags(sessions)
    sessions.add_argument("--json", action="store_true", help='JSON: {"sessions": [...], "totals": {...}}')
    sessions.add_argument("--since", metavar="DATE", help="only sessions active on or after DATE (local)")
    sessions.add_argument("--until", metavar="DATE", help="only sessions active on or before DATE (local)")
    sessions.add_argument("--project", metavar="TEXT", help="only sessions whose project path contains TEXT")
    _add_cache_flag(sessions)
    for name, what in HISTORY_REPORTS.items():
        hist = rsub.add_parser(name, help=what)
        _add_source_flags(hist)
        hist.add_argument("--json", action="store_true", help='JSON: {"rows": [...], "totals": {...}}')
        hist.add_argument("--since", metavar="DATE", help="only calls on or after DATE")
        hist.add_argument("--until", metavar="DATE", help="only calls on or before DATE (the whole day)")
        hist.add_argument("--project", metavar="TEXT", help="only sessions whose project path contains TEXT")
        hist.add_argument("--tz", metavar="ZONE",
                          help="IANA time zone for days, weeks (Monday first) and months, and for DATE "
                               "(default: this machine's local time)")
        _add_cache_flag(hist)
    status = sub.add_parser("statusline", help="one line for Claude Code's status line, tmux or a prompt")
    _add_source_flags(status)
    _add_cache_flag(status)
    index = sub.add_parser("index", help="the persistent index of what tokdash has read (status by default)")
    _add_dir_flags(index)
    action = index.add_mutually_exclusive_group()
    action.add_argument("--rebuild", action="store_true",
                        help="re-read every transcript from zero (history of deleted transcripts is kept)")
    action.add_argument("--forget", action="append", metavar="PATH",
                        help="drop a transcript file, or every file under a folder, from the index for good "
                             "(repeatable)")
    index.add_argument("--json", action="store_true", help="status as JSON")
    return parser


HISTORY_REPORTS = {
    "daily": "usage and cost per day (each call on its own day)",
    "weekly": "usage and cost per ISO week (Monday first)",
    "monthly": "usage and cost per month",
    "projects": "usage and cost per project (working directory)",
    "models": "usage and cost per model",
}
"""The history reports: name -> help."""


def _add_dir_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claude-dir", action="append", metavar="DIR", default=argparse.SUPPRESS,
                   help="a Claude config dir (holding projects/) or projects/ itself; repeatable")
    p.add_argument("--codex-dir", action="append", metavar="DIR", default=argparse.SUPPRESS,
                   help="a Codex home (holding sessions/); repeatable")


def _add_cache_flag(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    """``--no-cache``; on a subcommand it defaults to SUPPRESS, so the flag given before the
    subcommand (``tokdash --no-cache report daily``) is not reset by the subcommand's default."""
    p.add_argument("--no-cache", action="store_true", default=argparse.SUPPRESS if sub else False,
                   help="read every transcript from scratch, without the persistent index (which is left untouched)")


def _agents(choice: str) -> list[str]:
    return list(AGENTS) if choice == "all" else [choice]


def _price_book():
    from tokdash.model.pricing import PriceBook, PriceConfigError, default_config_path, load_config_prices

    try:
        return PriceBook(load_config_prices(default_config_path()))
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None


class _Loaded:
    """What a report reads: every session, which are archived, and the history facts."""

    def __init__(self, summaries, archived, facts, close=None) -> None:
        self.summaries = summaries
        self.archived: set = archived
        self.facts = facts
        """(since, until) -> list of ``tokdash.model.history.Fact``."""
        self.close = close or (lambda: None)
        """Release the index (its last connection folds the WAL into the database file)."""


def _roots(agents: list[str], args):
    """Resolved roots with absolute paths (the index and the reports name files absolutely)."""
    from tokdash.ingest.discovery import resolve_roots

    roots = resolve_roots(agents, getattr(args, "claude_dir", None), getattr(args, "codex_dir", None))
    roots.by_agent = {a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()}
    return roots


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def _load(args) -> _Loaded:
    """Every session for a report: from the persistent index, or with ``--no-cache`` (or when
    the index cannot be used at all) by reading every transcript in memory."""
    agents = _agents(args.agent)
    roots = _roots(agents, args)
    if roots.problems:
        raise CliError("tokdash: " + roots.problems[0])
    if not args.no_cache:
        from tokdash.ingest.discovery import discover
        from tokdash.ingest.index import Index, IndexUnavailable
        from tokdash.model.pricing import PriceConfigError, default_config_path

        every = _roots(list(AGENTS), args)  # one index covers every agent; reports filter
        index = Index.for_roots(every, config_path=default_config_path(), warn=_warn)
        try:
            result = index.sync(discover(every), finalize=True)
        except IndexUnavailable as exc:
            index.close()
            _warn(f"tokdash: {exc}; reading the transcripts without it")
        except PriceConfigError as exc:
            index.close()
            raise CliError(f"tokdash: {exc}") from None
        else:
            return _Loaded(result.summaries, result.archived, lambda since, until: index.facts(result, since, until),
                           index.close)
    return _load_in_memory(roots)


def _load_in_memory(roots) -> _Loaded:
    from tokdash.ingest.loader import Loader
    from tokdash.model.history import facts_from_sessions
    from tokdash.model.session import summarize

    prices = _price_book()
    loader = Loader(roots)
    # Forked workers read while this process loads the price table.
    loader.load_all(finalize=True, jobs=None, warm=prices.warm)
    sessions = list(loader.store.sessions.values())
    summaries = [summarize(s, prices) for s in sessions]

    def facts(since, until):
        out = facts_from_sessions(sessions, prices)
        return [f for f in out if (since is None or (f.ts > 0 and f.ts >= since))
                and (until is None or (f.ts > 0 and f.ts < until))]

    return _Loaded(summaries, set(), facts)


def run_report_sessions(args) -> int:
    """``tokdash report sessions``."""
    from dataclasses import replace

    from tokdash.report import filter_sessions, sessions_json, sessions_table

    since = parse_day(args.since) if args.since else None
    until = parse_day(args.until, end=True) if args.until else None
    data = _load(args)
    data.close()
    chosen = filter_sessions(data.summaries, agent=args.agent, since=since, until=until, project=args.project)
    if args.json:
        out = sessions_json(chosen)
        for row, s in zip(out["sessions"], chosen, strict=True):
            row["archived"] = (s.agent, s.session_id) in data.archived
        out["totals"]["archived_sessions"] = sum(1 for r in out["sessions"] if r["archived"])
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        if not chosen:
            looked = "; ".join(_roots(_agents(args.agent), args).describe())
            print(f"No sessions found. Looked in: {looked}")
        else:
            shown = [replace(s, title="(archived) " + s.title) if (s.agent, s.session_id) in data.archived else s
                     for s in chosen]
            print(sessions_table(shown))
    return 0


def run_report_history(args) -> int:
    """``tokdash report daily|weekly|monthly|projects|models``."""
    from tokdash.model.history import SessionInfo, filter_facts, group, history_json
    from tokdash.report_history import history_table

    tz = parse_zone(args.tz)
    since = parse_day(args.since, tz=tz) if args.since else None
    until = parse_day(args.until, end=True, tz=tz) if args.until else None
    data = _load(args)
    info = {(s.agent, s.session_id): SessionInfo(s.project, s.project_name) for s in data.summaries}
    try:
        facts = filter_facts(data.facts(since, until), info, agent=args.agent, since=since, until=until,
                             project=args.project)
        rows = group(facts, args.report, info, tz)
    finally:
        data.close()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(history_json(rows, args.report), option=orjson.OPT_INDENT_2) + b"\n")
    elif not rows:
        print("No API calls found for these filters.")
    else:
        print(history_table(rows, args.report))
    return 0


def run_index(args) -> int:
    """``tokdash index [--rebuild | --forget PATH]``."""
    import time as _time

    from tokdash.ingest.discovery import discover
    from tokdash.ingest.index import Index, IndexUnavailable, IndexUsageError
    from tokdash.model.pricing import PriceConfigError, default_config_path

    roots = _roots(list(AGENTS), args)
    index = Index.for_roots(roots, config_path=default_config_path(), warn=_warn)
    try:
        if args.rebuild or args.forget:
            t0 = _time.perf_counter()
            result = index.sync(discover(roots), rebuild=bool(args.rebuild), forget=args.forget or ())
            what = "rebuilt the index" if args.rebuild else "forgot " + ", ".join(args.forget) + "; the index"
            print(f"tokdash: {what}: {len(result.summaries)} sessions ({len(result.archived)} archived), "
                  f"re-read from {result.files_read} files ({result.bytes_read / 1e6:.1f} MB) in "
                  f"{_time.perf_counter() - t0:.2f} s")
            if not result.saved:
                raise CliError("tokdash: the index could not be saved")
            return 0
        index.sync(discover(roots))
        st = index.status()
    except (IndexUnavailable, IndexUsageError) as exc:
        raise CliError(f"tokdash: {exc}") from None
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None
    finally:
        index.close()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(st, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    print(f"index: {st['path']} ({st['size_bytes'] / 1e6:.1f} MB, built {st['built'] or '?'})")
    for r in st["roots"]:
        print(f"  root: {r.replace(chr(9), ': ', 1)}")
    print(f"files: {st['files']} present, {st['files_gone']} gone; {st['bytes_read'] / 1e6:.1f} MB read")
    print(f"sessions: {st['sessions']} ({st['archived_sessions']} archived); API calls: {st['api_calls']}")
    forgotten = st["forgotten"]
    for p in forgotten[:5]:
        print(f"  forgotten (ignored): {p}")
    if len(forgotten) > 5:
        print(f"  ... and {len(forgotten) - 5} more forgotten files")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Console script entry point."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "report":
            if args.report == "sessions":
                return run_report_sessions(args)
            return run_report_history(args)
        if args.command == "index":
            return run_index(args)
        if args.command == "statusline":
            return run_statusline(args)
        return run_tui(args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def run_statusline(args) -> int:
    """``tokdash statusline``: with Claude Code's status-line JSON on stdin, that session's
    model, tokens, cost, cache hit and context; without it, the fleet: sessions working now
    and what today cost. Never fails loudly: a status line must always print something."""
    import time as _time

    from tokdash.statusline import fleet_line, local_midnight, parse_hook_input, session_line, session_summary

    hook = None
    if not sys.stdin.isatty():
        try:
            hook = parse_hook_input(sys.stdin.buffer.read())
        except OSError:
            hook = None
    transcript = hook.get("transcript_path") if hook else None
    if isinstance(transcript, str) and transcript:
        summary = session_summary(Path(os.path.expanduser(transcript)), _price_book())
        print(session_line(summary) if summary is not None else "tokdash: no usage yet")
        return 0
    loaded = _load(args)
    try:
        now = _time.time()
        mine = [s for s in loaded.summaries if args.agent == "all" or s.agent == args.agent]
        facts = [f for f in loaded.facts(local_midnight(now), None) if args.agent == "all" or f.agent == args.agent]
        print(fleet_line(mine, facts, now))
    finally:
        loaded.close()
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
