"""``tokdash statusline``: one line for Claude Code's status line, tmux or a prompt.

With Claude Code's JSON on stdin it answers from that session's state (only the bytes
added since the last render are read: see ``tokdash.ingest.session_state``), records the
plan windows Claude Code sent, and never builds the argument parser or opens the index:
``main`` hands the bare ``tokdash statusline`` straight to :func:`statusline_from_stdin`.
Without it, it sums the fleet over the index like the dashboard. It never fails loudly:
a status line prints one line whatever happens, and a problem goes to stderr.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

DESCRIPTION = (
    "With Claude Code's status-line JSON on stdin (set statusLine.command to `tokdash statusline`): that "
    "session's model, tokens, input+output, cost, cache hit, context and plan windows, e.g. `opus-4-6 · 1.24M "
    "tok · in+out 45.2k · $3.41 · cache 96% · ctx 45% · 5h 42% · 7d 12%`. Why two token figures: the total "
    "counts every token the model read, cache reads included, and every call of a long session re-reads its "
    "whole context; input+output is what was newly sent and written. A total racing ahead of input+output is "
    "a session paying to re-read a growing context (scope creep): compact it or start afresh. 5h/7d are Claude "
    "Code's own plan figures (Pro/Max), never estimates. Without stdin (tmux, a prompt): sessions working now, "
    "today's spend, the plan windows and the day's budget. Parts, order, separator and colour come from the "
    "[statusline] table of the config file; NO_COLOR turns colour off."
)
"""The ``tokdash statusline --help`` text."""

_stdin: list[bytes] = []


def read_stdin() -> bytes:
    """Standard input, read once (the fast path may have read it before argparse ran)."""
    if not _stdin:
        data = b""
        if not sys.stdin.isatty():
            try:
                data = sys.stdin.buffer.read()
            except (OSError, ValueError, AttributeError):
                data = b""
        _stdin.append(data)
    return _stdin[0]


def _warn(message: str) -> None:
    print(message, file=sys.stderr)


def statusline_from_stdin() -> int | None:
    """The session line when stdin holds Claude Code's JSON with a transcript; None otherwise
    (the caller then parses the flags and prints the fleet line)."""
    from tokdash.report.statusline import parse_hook_input

    hook = parse_hook_input(read_stdin())
    transcript = hook.get("transcript_path") if hook else None
    if not isinstance(transcript, str) or not transcript.strip():
        return None
    try:
        line = session_line(hook, Path(os.path.expanduser(transcript)))  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - a status line must print a line, never a traceback
        from tokdash.format import clean

        _warn(f"tokdash statusline: {clean(str(exc) or type(exc).__name__, 300)}")
        line = "tokdash: status unavailable"
    print(line)
    return 0


def _config(path: Path) -> dict:
    from tokdash.model.config import ConfigError, read_config

    try:
        return read_config(path)
    except ConfigError as exc:
        _warn(f"tokdash: {exc}")
        return {}


def _statusline_config(table: object, where: str):
    from tokdash.report.statusline import StatuslineConfigError, parse_statusline

    try:
        return parse_statusline(table, where)
    except StatuslineConfigError as exc:
        _warn(f"tokdash: {exc}; showing the default parts")
        return parse_statusline(None)


def session_line(hook: dict, transcript: Path, *, data: Path | None = None, now: float | None = None) -> str:
    """One session's line from the hook's JSON and the session's state.

    When nothing moved since the last render (``session_state.unchanged``: a header read and
    a few ``stat`` calls) the line comes from the state's header, config tables included,
    without importing a parser; otherwise the new bytes are read (``session_update``).
    """
    from tokdash.ingest import plan_limits
    from tokdash.ingest.session_state import unchanged
    from tokdash.model.limits import statusline_windows
    from tokdash.report.statusline import Figures, compose, hook_context, session_pieces, use_color

    now = time.time() if now is None else now
    context = hook_context(hook)
    header = unchanged(transcript, data)
    if header is None:
        header = _read_on(transcript, context, data, now)
        if isinstance(header, str):
            return header
    agent = header["agent"]
    tables = header.get("config")
    if tables is None:  # tables the state could not keep (a TOML date in them): read the file
        tables = _config(Path(header["config_path"])) if header.get("config_path") else {}
    where = str(header.get("config_path") or "config")
    config = _statusline_config(tables.get("statusline"), where)
    windows = statusline_windows(agent, hook.get("rate_limits"), now)
    if windows:
        plan_limits.record(windows, data)
    elif "limits" in config.parts:
        windows = plan_limits.live([w for w in plan_limits.stored(data) if w.agent == agent], now)
    view = Figures(header.get("figures") or {})
    if not view.api_calls:
        return "tokdash: no usage yet"
    budget = _session_budget(tables.get("budget"), where, header, view, now) if "budget" in config.parts else []
    pieces = session_pieces(view, config, windows=windows, context=context, budget=budget)
    return compose(pieces, config, use_color(config, os.environ))


def _read_on(transcript: Path, context: dict | None, data: Path | None, now: float) -> dict | str:
    """Read the session's new bytes into its state; the new header, or the line to print instead."""
    from tokdash.format import clean
    from tokdash.ingest.session_state import config_unchanged, read_header, state_path
    from tokdash.ingest.session_update import refresh
    from tokdash.sources import SOURCES

    source = next((s for s in SOURCES.values() if s.claims(transcript)), None)
    if source is None:
        return "tokdash: no usage yet"
    old = read_header(state_path(transcript, data))
    if old is not None and config_unchanged(old):
        # The config file has not moved: its tables, as the last call kept them (no TOML read).
        config_path, keep = Path(old["config_path"]), old["config"]
    else:
        from tokdash.model.config import default_config_path

        config_path = default_config_path()
        table = _config(config_path)
        # The tables the line reads, kept in the header: valid while the config file's stat
        # (part of the price signature that ``unchanged`` checks) holds.
        keep = {"statusline": table.get("statusline"), "budget": table.get("budget")}
    try:
        state = refresh(transcript, source, config_path=config_path, data=data, now=now,
                        extra={"context": context, "seen": now} if context else None, config=keep)
    except Exception as exc:
        config = sys.modules.get("tokdash.model.config")  # loaded if the price overrides were read
        if config is not None and isinstance(exc, config.ConfigError):
            return clean(f"tokdash: {exc}", 200)  # the overrides are wrong: say so where the user looks
        raise
    return state.header


def _session_budget(table: object, where: str, header: dict, view, now: float) -> list:
    from tokdash.model.budget import BudgetConfigError, SessionSpend, evaluate, parse_budget

    try:
        config = parse_budget(table, where)
    except BudgetConfigError as exc:
        _warn(f"tokdash: {exc}")
        return []
    spend = SessionSpend((header["agent"], header.get("sid") or ""), view.cost, view.usage.total,
                         header.get("project") or "", view.cost_partial)
    return [s for s in evaluate(config, [], now, session=spend) if s.limit_key in ("session_usd", "session_tokens")]


def run_bare_statusline() -> int:
    """``tokdash statusline`` with no flag: the session line from Claude Code's JSON, else the
    fleet line over every agent's default folders (the flags' defaults, without building the
    parser: a prompt or tmux calls this every few seconds)."""
    from types import SimpleNamespace

    status = statusline_from_stdin()
    if status is not None:
        return status
    from tokdash.cli.common import CliError

    try:
        return run_statusline(SimpleNamespace(command="statusline", agent="all", no_cache=False))
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.status


def run_statusline(args) -> int:
    """With Claude Code's status-line JSON on stdin, that session's line; without it, the
    fleet: sessions working now, what today cost, the plan windows, the day's budget."""
    status = statusline_from_stdin()
    if status is not None:
        return status
    from tokdash.cli.common import open_sessions, roots_for, agents_of
    from tokdash.ingest import plan_limits
    from tokdash.model.activity import WORKING
    from tokdash.model.budget import BudgetConfigError, earliest_start, evaluate, parse_budget
    from tokdash.model.config import default_config_path
    from tokdash.report.statusline import compose, fleet_pieces, local_midnight, use_color

    table = _config(default_config_path())
    where = str(default_config_path())
    config = _statusline_config(table.get("statusline"), where)
    try:
        budget = parse_budget(table.get("budget"), where)
    except BudgetConfigError as exc:
        _warn(f"tokdash: {exc}")
        budget = parse_budget(None)
    opened = open_sessions(args, series=False)  # counting working sessions needs no calls
    try:
        now = time.time()
        rows = opened.catalog.fleet.rows.values()
        working = sum(1 for r in rows if r.status == WORKING and (args.agent == "all" or r.key[0] == args.agent))
        midnight = local_midnight(now)
        since = min(midnight, earliest_start(budget, now) or midnight)
        facts = [f for f in opened.facts(since, None) if args.agent == "all" or f.agent == args.agent]
        today = [f for f in facts if f.ts >= midnight]
        statuses = evaluate(budget, facts, now) if budget.active and "budget" in config.fleet_parts else []
        windows = (plan_limits.official(roots_for(agents_of(args.agent), args), now)
                   if "limits" in config.fleet_parts else [])
        print(compose(fleet_pieces(working, today, config, windows=windows, budget=statuses), config,
                      use_color(config, os.environ)))
    finally:
        opened.close()
    return 0
