"""Budgets: spend per local day, ISO week and month (and per session) against the user's limits.

The ``[budget]`` table of the config file::

    [budget]
    daily_usd = 20          # every limit is optional
    weekly_usd = 100
    monthly_usd = 300
    session_usd = 10
    session_tokens = 50_000_000
    alert_at = [50, 80, 100] # percent of a limit at which to alert, once per crossing
    hard_cap = false        # true: `tokdash hook` blocks new prompts and tool calls at 100 %
    bell = false            # ring the terminal bell on an alert (dashboard)
    desktop_notify = false  # send an OSC 9 / OSC 777 desktop notification (dashboard)

    [budget.projects."/home/me/client-a"]   # a project's own caps (its path, or a parent)
    daily_usd = 5
    session_usd = 2

A project's day/week/month limits count only the spend of sessions in that project
(its path or below); its session limits replace the global ones for its sessions.
Periods are local calendar days, ISO weeks (Monday first) and months in the given time
zone. Spend comes from history facts (:mod:`tokdash.model.history`), summed as integer
pico-dollars. Pure functions, no I/O: callers read the config and the facts.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from tokdash.format import clean, fmt_money, fmt_tokens
from tokdash.model.config import ConfigError, one_line, read_config
from tokdash.model.history import PICO, Fact

SessionKey = tuple[str, str]

PERIOD_LIMITS = ("daily_usd", "weekly_usd", "monthly_usd")
SESSION_LIMITS = ("session_usd", "session_tokens")
LIMIT_KEYS = (*PERIOD_LIMITS, *SESSION_LIMITS)
_SWITCHES = ("hard_cap", "bell", "desktop_notify")
DEFAULT_ALERTS = (50.0, 80.0, 100.0)

_LABELS = {"daily_usd": "day", "weekly_usd": "week", "monthly_usd": "month", "session_usd": "session",
           "session_tokens": "session tokens"}
_NAMES = {"daily_usd": "daily", "weekly_usd": "weekly", "monthly_usd": "monthly", "session_usd": "session",
          "session_tokens": "session tokens"}


class BudgetConfigError(ConfigError):
    """The ``[budget]`` table is wrong; the message is one line naming the file."""


@dataclass(frozen=True, slots=True)
class Limits:
    """One set of limits (global, or a project's); None means no limit."""

    daily_usd: float | None = None
    weekly_usd: float | None = None
    monthly_usd: float | None = None
    session_usd: float | None = None
    session_tokens: float | None = None

    def any(self) -> bool:
        """Is any limit set?"""
        return any(getattr(self, k) is not None for k in LIMIT_KEYS)


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    """The ``[budget]`` table (see the module docstring)."""

    limits: Limits = field(default_factory=Limits)
    projects: tuple[tuple[str, Limits], ...] = ()
    """(project path, its limits), as configured."""
    alert_at: tuple[float, ...] = DEFAULT_ALERTS
    hard_cap: bool = False
    bell: bool = False
    desktop_notify: bool = False

    @property
    def active(self) -> bool:
        """Is any budget set (globally or for a project)?"""
        return self.limits.any() or any(lim.any() for _p, lim in self.projects)

    def projects_of(self, project: str) -> list[tuple[str, Limits]]:
        """The configured projects that ``project`` (a session's cwd) is in."""
        return [(p, lim) for p, lim in self.projects if in_project(project, p)]


def in_project(path: str, project: str) -> bool:
    """Is ``path`` the folder ``project`` or below it?"""
    if not path or not project:
        return False
    base = project.rstrip("/\\") or project
    return path == base or path.startswith(base + "/") or path.startswith(base + "\\")


def _number(value: object, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise BudgetConfigError(one_line(f"{where}: {key} must be a number > 0, got {value!r}"))
    return float(value)


def _limits(table: Mapping, where: str, allowed: tuple[str, ...]) -> Limits:
    unknown = sorted(k for k in table if k not in allowed)
    if unknown:
        raise BudgetConfigError(one_line(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})"))
    return Limits(**{k: _number(table[k], where, k) for k in LIMIT_KEYS if k in table})


def parse_budget(table: object, where: str = "config") -> BudgetConfig:
    """The ``[budget]`` table as a :class:`BudgetConfig`; raises :class:`BudgetConfigError`."""
    if table is None:
        return BudgetConfig()
    where = f"{where}: [budget]"
    if not isinstance(table, Mapping):
        raise BudgetConfigError(f"{where} must be a table")
    allowed = (*LIMIT_KEYS, "alert_at", *_SWITCHES, "projects")
    limits = _limits(table, where, allowed)
    alerts = table.get("alert_at", list(DEFAULT_ALERTS))
    if not isinstance(alerts, list) or not alerts:
        raise BudgetConfigError(f"{where}: alert_at must be a list of percentages, e.g. [50, 80, 100]")
    alert_at = tuple(sorted({_number(a, where, "alert_at") for a in alerts}))
    switches = {}
    for key in _SWITCHES:
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise BudgetConfigError(one_line(f"{where}: {key} must be true or false, got {value!r}"))
        switches[key] = value
    projects_table = table.get("projects", {})
    if not isinstance(projects_table, Mapping):
        raise BudgetConfigError(f'{where}: projects must be tables, e.g. [budget.projects."/path"]')
    projects = []
    for path, sub in projects_table.items():
        pwhere = one_line(f'{where[:-len("[budget]")]}[budget.projects."{path}"]')
        if not isinstance(sub, Mapping) or not str(path).strip():
            raise BudgetConfigError(f"{pwhere} must be a table of limits, e.g. daily_usd = 5")
        projects.append((str(path), _limits(sub, pwhere, LIMIT_KEYS)))
    return BudgetConfig(limits, tuple(projects), alert_at, **switches)


def load_budget(path: pathlib.Path) -> BudgetConfig:
    """The ``[budget]`` table of the config file at ``path`` (defaults when absent)."""
    return parse_budget(read_config(path, BudgetConfigError).get("budget"), str(path))


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """One calendar period: [start, end) in epoch seconds and its label (``2026-03-02``,
    ``2026-W10``, ``2026-03``)."""

    start: float
    end: float
    key: str


def periods(now: float, tz: tzinfo | None = None) -> dict[str, Period]:
    """The day, ISO week (Monday first) and month holding ``now`` in ``tz`` (None: local
    time), keyed by the limit that uses them. Boundaries are local midnights, so a day
    across a daylight-saving change lasts 23 or 25 hours."""
    day = datetime.fromtimestamp(now, tz).date()

    def midnight(d) -> float:
        return datetime.combine(d, datetime.min.time(), tzinfo=tz).timestamp()

    monday = day - timedelta(days=day.weekday())
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    year, week, _ = day.isocalendar()
    return {
        "daily_usd": Period(midnight(day), midnight(day + timedelta(days=1)), day.isoformat()),
        "weekly_usd": Period(midnight(monday), midnight(monday + timedelta(days=7)), f"{year}-W{week:02d}"),
        "monthly_usd": Period(midnight(first), midnight(nxt), f"{first.year}-{first.month:02d}"),
    }


def earliest_start(config: BudgetConfig, now: float, tz: tzinfo | None = None) -> float | None:
    """The start of the longest period any configured limit uses (what facts to fetch), or None."""
    keys = [k for k in PERIOD_LIMITS
            if getattr(config.limits, k) is not None or any(getattr(lim, k) is not None for _p, lim in config.projects)]
    if not keys:
        return None
    ps = periods(now, tz)
    return min(ps[k].start for k in keys)


# --- statuses ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionSpend:
    """What one session spent so far (for the session limits)."""

    key: SessionKey
    cost: float
    tokens: int
    project: str = ""
    partial: bool = False


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One limit and what was spent against it."""

    limit_key: str
    """One of :data:`LIMIT_KEYS`."""
    limit: float
    spent: float
    period: str
    """The period's label, or ``<agent>:<session id>`` for a session limit."""
    project: str = ""
    """The configured project path of a project's limit; empty for a global one."""
    partial: bool = False
    """Some calls had no price: ``spent`` is a lower bound."""
    alert_at: tuple[float, ...] = DEFAULT_ALERTS

    @property
    def percent(self) -> float:
        """Spent as a share of the limit, in percent."""
        return self.spent / self.limit * 100 if self.limit > 0 else 0.0

    @property
    def over(self) -> bool:
        """At or over the limit (what the hard cap blocks on)."""
        return self.spent >= self.limit

    @property
    def band(self) -> str:
        """``bad`` at or over 100 %, ``warn`` from the highest alert below 100 % (80 by default), else ``ok``."""
        pct = self.percent
        if pct >= 100:
            return "bad"
        below = [a for a in self.alert_at if a < 100]
        if below and pct >= max(below):
            return "warn"
        return "ok"

    @property
    def key(self) -> str:
        """What identifies one crossing: the limit, its project and its period."""
        return f"{self.limit_key}|{self.project}|{self.period}"

    @property
    def name(self) -> str:
        """``daily``, ``weekly``, ``monthly``, ``session`` or ``session tokens``."""
        return _NAMES[self.limit_key]

    def amount(self, value: float, partial: bool = False) -> str:
        """A figure in this limit's unit: ``$12.34`` (``+``: a lower bound) or ``1.20M tok``."""
        if self.limit_key == "session_tokens":
            return f"{fmt_tokens(int(value))} tok"
        return fmt_money(value) + ("+" if partial else "")

    def gauge(self) -> str:
        """``day $12.34/$20.00`` (the dashboard header and the status line)."""
        where = f" {clean(_short(self.project), 40)}" if self.project else ""
        return f"{_LABELS[self.limit_key]}{where} {self.amount(self.spent, self.partial)}/{self.amount(self.limit)}"

    def reason(self) -> str:
        """``daily budget: $21.40 spent of $20.00 (107 %)`` (a hook's reason, an alert's text)."""
        where = f" for {clean(self.project, 120)}" if self.project else ""
        return (f"{self.name} budget{where}: {self.amount(self.spent, self.partial)} spent of "
                f"{self.amount(self.limit)} ({self.percent:.0f} %)")

    def to_json(self) -> dict:
        """The ``report budget --json`` object."""
        return {
            "budget": self.limit_key,
            "project": self.project or None,
            "period": self.period,
            "limit": self.limit,
            "spent": round(self.spent, 6) if self.limit_key != "session_tokens" else int(self.spent),
            "percent": round(self.percent, 2),
            "over": self.over,
            "band": self.band,
            "partial": self.partial,
        }


def _short(path: str) -> str:
    return path.rstrip("/\\").rsplit("/", 1)[-1] or path


def evaluate(config: BudgetConfig, facts: Iterable[Fact], now: float, tz: tzinfo | None = None, *,
             projects: Mapping[SessionKey, str] | None = None, session: SessionSpend | None = None,
             only_project: str | None = None) -> list[BudgetStatus]:
    """Every configured limit with what was spent against it.

    ``facts`` must cover the longest configured period (:func:`earliest_start`);
    ``projects`` maps a session to its project path (for project limits); ``session`` is
    the session the session limits apply to (none: no session limit is evaluated).
    With ``only_project`` (a session's cwd) only the projects holding it are evaluated
    (what a hook in that session needs); otherwise every configured project is.
    """
    ps = periods(now, tz)
    facts = list(facts)
    projects = projects or {}
    chosen = config.projects if only_project is None else tuple(config.projects_of(only_project))
    scopes: list[tuple[str, Limits]] = [("", config.limits), *chosen]
    out: list[BudgetStatus] = []
    for scope, lim in scopes:
        for key in PERIOD_LIMITS:
            limit = getattr(lim, key)
            if limit is None:
                continue
            p = ps[key]
            pico = unpriced = 0
            for f in facts:
                if p.start <= f.ts < p.end and (not scope or in_project(projects.get(f.session_key, ""), scope)):
                    pico += f.cost_pico
                    unpriced += f.unpriced_calls
            out.append(BudgetStatus(key, limit, pico / PICO, p.key, scope, unpriced > 0, config.alert_at))
    if session is not None:
        own = config.projects_of(session.project)
        for key in SESSION_LIMITS:
            scope, limit = "", getattr(config.limits, key)
            for p, lim in own:  # a project's session limit replaces the global one
                if getattr(lim, key) is not None:
                    scope, limit = p, getattr(lim, key)
            if limit is None:
                continue
            spent = float(session.tokens) if key == "session_tokens" else session.cost
            out.append(BudgetStatus(key, limit, spent, f"{session.key[0]}:{session.key[1]}", scope,
                                    session.partial and key == "session_usd", config.alert_at))
    return out


def over_limit(statuses: Iterable[BudgetStatus]) -> list[BudgetStatus]:
    """The limits at or over 100 %, most exceeded first."""
    return sorted((s for s in statuses if s.over), key=lambda s: -s.percent)
