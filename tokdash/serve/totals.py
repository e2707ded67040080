"""The numbers ``tokdash serve`` exposes: counters folded from session summaries, status gauges.

Pure Python over the catalog's values; no HTTP, no client library. The owner of
the catalog (the serve loop) folds after each change and publishes an immutable
:class:`Snapshot`; scrapes and OTLP pushes only read the last one.

**The counters equal the report.** ``tokdash_tokens_total``, ``tokdash_cost_usd_total``
and ``tokdash_api_calls_total`` are sums of ``SessionSummary.by_model`` -- the same
summaries ``report sessions --json`` totals -- per (agent, project, model): summed
over every series they give that report's ``input_tokens``, ``output_tokens``,
``cache_write_tokens``, ``cache_read_tokens``, ``api_calls`` exactly, and its
``cost_usd`` to its 6 decimals (costs are float sums taken in another grouping).

**They never go down within a process** (a Prometheus counter that drops reads as a
restart, and ``increase()`` would then count its whole value again):

- a session that leaves the catalog (``tokdash index --forget``, or every file of a
  ``--no-cache`` session deleted) keeps its last contribution, as "retired": the
  counters keep counting what this process saw, and go on growing with new work at
  once. ``tokdash_retired_sessions`` says how many such sessions the counters hold
  beyond the report. A retired session that comes back (a feed that starts over)
  leaves the retired set, so it is never counted twice;
- any other drop of a series (a transcript rewritten shorter, a call moving to
  another session) is held at its highest value until the sum passes it again.

A restart of ``serve`` starts again from the index's totals: after a forget those
are lower than what the old process showed, which Prometheus reads as a counter
reset (one restart's worth of ``increase()`` over-counts by the forgotten share).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tokdash.model.activity import STATUSES
from tokdash.model.fleet import Row
from tokdash.model.session import SessionSummary
from tokdash.model.store import SessionKey
from tokdash.serve.gauges import GaugeSample
from tokdash.serve.labels import LabelPolicy

KINDS = ("input", "output", "cache_write", "cache_read")
"""The ``kind`` label of ``tokdash_tokens_total``; their sum is the report's total_tokens
(reasoning tokens are inside output and are not a kind of their own)."""

Series = tuple[str, str, str]
"""(agent, project, model) label values."""


@dataclass(slots=True)
class _Part:
    """One session's share of one series: token kinds, calls, and each model's cost."""

    tokens: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    calls: int = 0
    costs: list[float] = field(default_factory=list)


def contribution(summary: SessionSummary, policy: LabelPolicy) -> dict[Series, _Part]:
    """What one session adds to each (agent, project, model) series."""
    agent, project = policy.agent(summary.agent), policy.project(summary.project_name)
    out: dict[Series, _Part] = {}
    for model, t in summary.by_model.items():
        # Two raw ids can clean to one label (a control character apart): they add up.
        part = out.setdefault((agent, project, policy.model(model)), _Part())
        u = t.usage
        for i, n in enumerate((u.input, u.output, u.cache_write, u.cache_read)):
            part.tokens[i] += n
        part.calls += t.calls
        part.costs.append(t.cost)
    return out


@dataclass(frozen=True, slots=True)
class CounterValues:
    """The counters at one moment, per label set."""

    tokens: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    """(agent, project, model, kind) -> tokens."""
    cost: dict[Series, float] = field(default_factory=dict)
    """(agent, project, model) -> USD."""
    calls: dict[Series, int] = field(default_factory=dict)
    """(agent, project, model) -> API calls."""
    retired_sessions: int = 0
    """Sessions no longer in the catalog whose last numbers the counters still hold."""


class Counters:
    """Folds summaries into counter values that never decrease (see the module docstring)."""

    def __init__(self, policy: LabelPolicy) -> None:
        self.policy = policy
        self._present: dict[SessionKey, tuple[SessionSummary, dict[Series, _Part]]] = {}
        self._retired: dict[SessionKey, dict[Series, _Part]] = {}
        self._high: dict[tuple, float] = {}

    def fold(self, summaries: Mapping[SessionKey, SessionSummary]) -> CounterValues:
        """The counters over ``summaries`` (every session in the catalog now) and the retired."""
        present: dict[SessionKey, tuple[SessionSummary, dict[Series, _Part]]] = {}
        for key, s in summaries.items():
            old = self._present.get(key)
            present[key] = old if old is not None and old[0] is s else (s, contribution(s, self.policy))
            self._retired.pop(key, None)
        for key in self._present.keys() - present.keys():
            self._retired[key] = self._present[key][1]
        self._present = present
        tokens: dict[tuple[str, str, str, str], int] = {}
        calls: dict[Series, int] = {}
        costs: dict[Series, list[float]] = {}
        parts = [p for _s, p in present.values()] + list(self._retired.values())
        for shares in parts:
            for series, part in shares.items():
                for kind, n in zip(KINDS, part.tokens):
                    tokens[(*series, kind)] = tokens.get((*series, kind), 0) + n
                calls[series] = calls.get(series, 0) + part.calls
                costs.setdefault(series, []).extend(part.costs)
        cost = {series: math.fsum(c) for series, c in costs.items()}
        return CounterValues(self._hold("tokens", tokens), self._hold("cost", cost), self._hold("calls", calls),
                             len(self._retired))

    def _hold(self, metric: str, values: dict) -> dict:
        """Each series at the larger of its value now and its highest so far; a series that
        vanished keeps its last value (a counter must not disappear and come back lower)."""
        out = {}
        for series, value in values.items():
            high = self._high.get((metric, series))
            out[series] = value if high is None or value >= high else high
        for (m, series), high in self._high.items():
            if m == metric and series not in out:
                out[series] = high
        for series, value in out.items():
            self._high[(metric, series)] = value
        return out


def status_counts(rows: Iterable[Row], policy: LabelPolicy) -> dict[tuple[str, str, str], int]:
    """(agent, project, status) -> sessions, every status of the fleet's (``model.activity.STATUSES``)
    present, 0 included, for each (agent, project) seen, so a "working" series does not vanish
    when nothing works."""
    out: dict[tuple[str, str, str], int] = {}
    for row in rows:
        s = row.summary
        agent, project = policy.agent(s.agent), policy.project(s.project_name)
        for status in STATUSES:
            out.setdefault((agent, project, status), 0)
        out[(agent, project, row.status)] = out.get((agent, project, row.status), 0) + 1
    return out


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one scrape or push reports; immutable, swapped in whole by the serve loop."""

    machine: str
    counters: CounterValues = field(default_factory=CounterValues)
    sessions: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(agent, project, status) -> sessions."""
    gauges: tuple[GaugeSample, ...] = ()
    """Gauges from the providers of :data:`tokdash.serve.gauges.GAUGE_PROVIDERS`."""
    loaded: bool = False
    """The initial load has finished (until then the counters are still climbing to the totals)."""
    changed_at: float | None = None
    """Epoch seconds of the last change of the counters."""
