"""Plan windows as tokdash knows them: the snapshots the status line saw, and the sources' own.

Claude Code hands its plan windows (``rate_limits``) only to a status-line command, on
every render; ``tokdash statusline`` records each window here with the time it was seen
(``<data dir>/plan-windows.json``, written atomically, ``0600``), so the dashboard and
``report limits`` can show them later. Sources whose CLI writes the figures into its own
files (Codex's rollouts) answer through the optional ``Source.plan_windows``.

:func:`current` combines both into the newest official window per agent and window,
leaving out those whose reset time has passed (their share says nothing about now).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokdash.ingest import datafiles
from tokdash.model.limits import OFFICIAL, PlanWindow, newest, number, percent
from tokdash.paths import data_dir

TYPE_CHECKING = False  # typing costs a status line 3 ms to import; checkers read this as True
if TYPE_CHECKING:  # the status line records windows on every render: no registry for that
    from tokdash.ingest.discovery import Roots

FILE = "plan-windows.json"
_FIELDS = ("agent", "window", "used_percent", "resets_at", "observed_at", "window_minutes")


def snapshot_path(data: Path | None = None) -> Path:
    """Where the recorded windows live."""
    return (data if data is not None else data_dir()) / FILE


def stored(data: Path | None = None) -> list[PlanWindow]:
    """Every window recorded (the newest per agent and window); damaged entries are skipped."""
    obj = datafiles.read_json(snapshot_path(data))
    rows = obj.get("windows") if obj else None
    out = []
    for r in rows if isinstance(rows, list) else ():
        if not isinstance(r, dict) or not isinstance(r.get("agent"), str) or not isinstance(r.get("window"), str):
            continue
        seen = number(r.get("observed_at"))
        used = percent(r.get("used_percent"))
        if seen is None or used is None:
            continue
        minutes = r.get("window_minutes")
        out.append(PlanWindow(r["agent"], r["window"], used, number(r.get("resets_at")), seen, OFFICIAL,
                              minutes if isinstance(minutes, int) and not isinstance(minutes, bool) else None))
    return newest(out)


def record(windows: Iterable[PlanWindow], data: Path | None = None) -> bool:
    """Keep ``windows`` (official figures just seen) over older ones of the same agent and
    window; returns whether the file changed. Never raises: a status line must print."""
    new = [w for w in windows if w.source == OFFICIAL and w.used_percent is not None]
    if not new:
        return False
    old = stored(data)
    merged = newest([*old, *new])
    if merged == old:
        return False
    rows = [{k: getattr(w, k) for k in _FIELDS} for w in merged]
    try:
        datafiles.write_json(snapshot_path(data), {"windows": rows})
    except OSError:
        return False
    return True


def live(windows: Iterable[PlanWindow], now: float) -> list[PlanWindow]:
    """The windows that still hold now: their reset time (when known) is in the future."""
    return [w for w in windows if w.resets_at is None or w.resets_at > now]


def official(roots: Roots, now: float, data: Path | None = None, *, expired: bool = False) -> list[PlanWindow]:
    """The newest official window per agent and window, for the agents of ``roots``: only those
    still current, or with ``expired`` also those whose reset time has passed (a report says so)."""
    from tokdash.sources import SOURCES

    found: list[PlanWindow] = [w for w in stored(data) if w.agent in roots.by_agent]
    for agent, paths in roots.by_agent.items():
        ask = getattr(SOURCES[agent], "plan_windows", None)
        if ask is None:
            continue
        try:
            found += ask(paths, now)
        except OSError:
            continue
    best = newest(found)
    return best if expired else live(best, now)


def without_official(agents: Iterable[str], windows: Iterable[PlanWindow]) -> list[str]:
    """The agents among ``agents`` that have no official window (to say so, never to guess)."""
    have = {w.agent for w in windows if w.source == OFFICIAL}
    return [a for a in agents if a not in have]
