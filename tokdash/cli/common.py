"""What every command shares: one-line errors, dates and zones, roots, prices, the one way to read."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path

from tokdash.sources import SOURCES


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2 (usage) or 1 (data)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag as one line instead of usage + traceback-like noise."""

    def error(self, message: str):  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see --help)", 2)


def warn(message: str) -> None:
    """A one-line notice on stderr."""
    print(message, file=sys.stderr)


FIRST_MOMENT = 0.0
"""1970-01-01T00:00Z: no transcript line is dated earlier (earlier dates are read as undated)."""
LAST_MOMENT = 253402214400.0
"""9999-12-30T00:00Z: the end of the calendar tokdash can convert in any time zone."""


def parse_day(text: str, *, end: bool = False, tz: tzinfo | None = None) -> float:
    """``YYYY-MM-DD``, ``YYYYMMDD`` or an ISO-8601 datetime, in local time (or ``tz``), to epoch seconds.

    A bare date means the start of that day, or with ``end`` the start of the next
    day, so ``--until 2026-11-24`` includes the whole of the 24th. A date outside what
    any transcript can hold is clamped to it (``--since 0001-01-01`` means from the
    first moment, ``--until 9999-12-31`` up to the last): it asks for everything, and
    gets it, rather than an error.
    """
    raw = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            day = datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
        try:
            if end:
                day += timedelta(days=1)
            return _clamp(datetime.combine(day, time(), tzinfo=tz).timestamp())
        except (OverflowError, ValueError, OSError):
            return FIRST_MOMENT if day.year < 1970 else LAST_MOMENT
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CliError(f"tokdash: not a date: {text!r} (use YYYY-MM-DD)", 2) from None
    if moment.tzinfo is None and tz is not None:
        moment = moment.replace(tzinfo=tz)
    try:
        return _clamp(moment.timestamp())
    except (OverflowError, ValueError, OSError):
        return FIRST_MOMENT if moment.year < 1970 else LAST_MOMENT


def _clamp(ts: float) -> float:
    return min(max(ts, FIRST_MOMENT), LAST_MOMENT)


def parse_zone(name: str | None) -> tzinfo | None:
    """An IANA time zone (``Europe/Paris``, ``UTC``) for ``--tz``; None means local time."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"tokdash: unknown time zone: {name!r} (use an IANA name like Europe/Paris or UTC)", 2) from None


# --- flags -----------------------------------------------------------------------------------


def add_dir_flags(p: argparse.ArgumentParser, *, sub: bool = True, defaults: bool = True) -> None:
    """``--<agent>-dir DIR`` for every agent of the registry. On a subcommand they default to
    SUPPRESS, so a value given before the subcommand is kept instead of being reset."""
    for name, source in SOURCES.items():
        text = f"{source.dir_help}; repeatable"
        if defaults:
            text += f". Default: {source.default_help}"
        p.add_argument(f"--{name}-dir", action="append", metavar="DIR", default=argparse.SUPPRESS if sub else None,
                       help=text)


def add_source_flags(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    """The flags that choose what to read: every ``--<agent>-dir`` and ``--agent``."""
    add_dir_flags(p, sub=sub)
    p.add_argument("--agent", choices=(*SOURCES, "all"), default=argparse.SUPPRESS if sub else "all",
                   help="which agent CLIs to read")


def add_cache_flag(p: argparse.ArgumentParser, *, sub: bool = True) -> None:
    """``--no-cache``; on a subcommand it defaults to SUPPRESS, so the flag given before the
    subcommand (``tokdash --no-cache report daily``) is not reset by the subcommand's default."""
    p.add_argument("--no-cache", action="store_true", default=argparse.SUPPRESS if sub else False,
                   help="read every transcript from scratch, without the persistent index (which is left untouched)")


def agent_dirs(args) -> dict[str, list[str]]:
    """The ``--<agent>-dir`` values given, per agent."""
    out: dict[str, list[str]] = {}
    for name in SOURCES:
        given = getattr(args, f"{name}_dir", None)
        if given:
            out[name] = list(given)
    return out


def agents_of(choice: str) -> list[str]:
    """``--agent`` as a list of agent names."""
    return list(SOURCES) if choice == "all" else [choice]


# --- reading ---------------------------------------------------------------------------------


def roots_for(agents: list[str], args):
    """Resolved roots with absolute paths (the index and the reports name files absolutely)."""
    from tokdash.ingest.discovery import resolve_roots

    roots = resolve_roots(agents, agent_dirs(args))
    roots.by_agent = {a: [Path(os.path.abspath(p)) for p in ps] for a, ps in roots.by_agent.items()}
    return roots


def price_book():
    """The bundled price table with the config file's overrides; a broken config is a CliError."""
    from tokdash.model.pricing import PriceBook
    from tokdash.model.config import PriceConfigError, default_config_path, load_config_prices

    try:
        return PriceBook(load_config_prices(default_config_path()))
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None


def open_sessions(args, *, series: bool = True):
    """Every session for a report, by the one policy: the index (one for every agent's roots,
    filtered to ``--agent``), or memory with ``--no-cache`` or when the index is unusable;
    judged with the config file's ``[heavy]`` thresholds. Notices of files a source could
    not read this time (a locked database) go to stderr, one line each."""
    from tokdash.format import clean
    from tokdash.ingest.catalog import open_catalog
    from tokdash.model.config import PriceConfigError, default_config_path
    from tokdash.model.heavy import HeavyConfigError, load_heavy_config
    from tokdash.sources import notices

    roots = roots_for(agents_of(args.agent), args)
    if roots.problems:
        raise CliError("tokdash: " + roots.problems[0])
    every = roots_for(list(SOURCES), args)  # one index covers every agent; reports filter
    try:
        thresholds = load_heavy_config(default_config_path())
        opened = open_catalog(roots, price_book(), cache=not args.no_cache, index_roots=every,
                              config_path=default_config_path(), warn=warn, thresholds=thresholds, series=series)
    except (PriceConfigError, HeavyConfigError) as exc:
        raise CliError(f"tokdash: {exc}") from None
    for notice in notices.current():
        warn(f"tokdash: {clean(notice, 300)}")
    if not opened.feed.indexed:  # the index tells of these itself (once, with what they keep)
        for line in opened.catalog.unreadable_lines():
            warn(f"tokdash: {clean(line, 300)}")
    return opened


def write_json(obj) -> None:
    """``obj`` as indented JSON on stdout. A string that is not valid UTF-8 (a file name with
    undecodable bytes) is written with replacement characters instead of failing the report."""
    import orjson

    from tokdash.format import json_safe

    try:
        data = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    except TypeError:  # orjson refuses lone surrogates: only then walk the whole object
        data = orjson.dumps(json_safe(obj), option=orjson.OPT_INDENT_2)
    sys.stdout.buffer.write(data + b"\n")
