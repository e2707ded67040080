"""The extension point for gauges computed elsewhere: plan-window use, budget use.

``tokdash serve`` exposes no plan-window or budget figures of its own: those come
from the limits work (issue 14), which knows the plans and the budgets. It plugs
in here without touching the serve loop or the exposition:

1. write a provider: a function ``(catalog, now) -> Iterable[GaugeSample]``, with
   ``catalog`` the live :class:`~tokdash.ingest.catalog.SessionCatalog` and ``now``
   epoch seconds. It runs on the catalog's owner thread about once a second and
   after every change, so it must be cheap and must not do I/O;
2. append it to :data:`GAUGE_PROVIDERS` (at import of the module that defines it,
   imported by ``tokdash.cli.serve``).

The two that exist (``tokdash.serve.limits`` provides them):

- ``tokdash_plan_window_used_ratio{agent, window}``: share (0..1) of a plan's
  rolling window used, e.g. ``window="5h"`` or ``"7d"``;
- ``tokdash_budget_used_ratio{budget}``: share (0..1) of a configured budget spent.

The exposition adds the ``machine`` label to every sample; a provider's label
values must be bounded (never a session id or title) and are sanitised like every
other label. A provider that raises is reported once on stderr and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tokdash.format import clean

if TYPE_CHECKING:
    from tokdash.ingest.catalog import SessionCatalog

NAME = re.compile(r"tokdash_[a-z0-9_]+")
"""What a provided gauge may be called (never one of the counters' names)."""
LABEL = re.compile(r"[a-z_][a-z0-9_]*")
"""What a provided label name may be."""


@dataclass(frozen=True, slots=True)
class GaugeSample:
    """One value of a provided gauge."""

    name: str
    """Metric name, e.g. ``tokdash_plan_window_used_ratio`` (matches :data:`NAME`)."""
    help: str
    """One line for ``# HELP``."""
    labels: tuple[tuple[str, str], ...]
    """(label, value) pairs, ``machine`` excluded (it is added to every sample)."""
    value: float


GaugeProvider = Callable[["SessionCatalog", float], Iterable[GaugeSample]]
"""A source of extra gauges: ``(catalog, now) -> samples``."""

GAUGE_PROVIDERS: list[GaugeProvider] = []
"""Every provider ``tokdash serve`` calls (``tokdash.serve.limits`` adds the plan-window and budget ones)."""

RESERVED = frozenset(("machine",))


def collect(providers: Iterable[GaugeProvider], catalog: SessionCatalog, now: float,
            warn: Callable[[str], None]) -> tuple[GaugeSample, ...]:
    """Every provider's samples, checked: a bad name, label or value is dropped with a notice,
    and a gauge's samples must share one label set (the exposition needs it)."""
    out: list[GaugeSample] = []
    shapes: dict[str, tuple[str, ...]] = {}
    for provider in providers:
        try:
            samples = list(provider(catalog, now))
        except Exception as exc:  # noqa: BLE001 - one provider must not stop the metrics
            warn(f"tokdash serve: gauge provider {getattr(provider, '__name__', provider)!r} failed: {exc!r}")
            continue
        for sample in samples:
            names = tuple(k for k, _v in sample.labels)
            bad = (not NAME.fullmatch(sample.name) or any(not LABEL.fullmatch(k) or k in RESERVED for k in names)
                   or len(set(names)) != len(names) or shapes.setdefault(sample.name, names) != names
                   or not isinstance(sample.value, int | float))
            if bad:
                warn(f"tokdash serve: gauge sample dropped (bad name, labels or value): {clean(sample.name, 80)!r}")
                continue
            out.append(GaugeSample(sample.name, clean(sample.help, 200),
                                   tuple((k, clean(v, 120)) for k, v in sample.labels), float(sample.value)))
    return tuple(out)
