"""Running totals of one session, kept up to date call by call, for answers in milliseconds.

``summarize`` recomputes a session from all its calls; the status line cannot afford
that on every render of a session of thousands of calls. A :class:`Tally` holds the
same figures (tokens, cost, models, cache hit, context) as running sums and is
updated with *changes*: a call seen for the first time is added, a better copy of a
call already counted (the store's dedup with replacement) first takes the old copy
out. Costs are summed as integer pico-dollars, so the sums are exact and do not
depend on the order of the changes. Everything is plain values (``marshal``-able).

A call is described by a :data:`Copy` tuple; the store's best copy of each call is
what is counted, exactly as ``summarize`` counts ``slot.best``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from typing import TYPE_CHECKING

from tokdash.model.figures import SessionFigures
from tokdash.model.context import context_window
from tokdash.model.records import Call, Usage

if TYPE_CHECKING:
    from tokdash.model.history import Fact

BUCKET_SECONDS = 900
"""The quarter hours of ``tokdash.model.history.BUCKET_SECONDS`` (a test keeps them equal);
not imported from there, so the status line does not load the history module."""

Copy = tuple
"""``(session_id, model, usage (7 ints), cost_pico or None, sidechain, timestamp, rank, open,
replica, fast)``: what counting a call and deduplicating against it need."""
SID, MODEL, USAGE, COST, SIDECHAIN, TS, RANK, OPEN, REPLICA, FAST = range(10)


def copy_of(call: Call, is_open: bool, cost_pico: int | None) -> Copy:
    """The :data:`Copy` of a store's best copy of a call (``cost_pico`` None: unpriced)."""
    u = call.usage
    return (call.session_id, call.model,
            (u.input, u.output, u.cache_write_5m, u.cache_write_1h, u.cache_read, u.reasoning, u.web_search),
            cost_pico, call.sidechain, call.timestamp, call.rank, is_open, call.replica, call.fast)


def call_of(key: object, c: Copy) -> Call:
    """A ``Call`` standing for a stored copy: enough for the store to dedup against it."""
    return Call(key=key, session_id=c[SID], model=c[MODEL], timestamp=c[TS], usage=Usage(*c[USAGE]),  # type: ignore[arg-type]
                rank=c[RANK], sidechain=c[SIDECHAIN], replica=c[REPLICA], fast=c[FAST], open=c[OPEN])


def _input_side(usage: tuple) -> int:
    return usage[0] + usage[2] + usage[3] + usage[4]


def _total(usage: tuple) -> int:
    return usage[0] + usage[1] + usage[2] + usage[3] + usage[4]


@dataclass(slots=True)
class TallyView(SessionFigures):
    """What a status line shows of a session (the figures ``SessionSummary`` has, read from a tally)."""

    usage: Usage
    cost: float
    unpriced_models: list[str]
    models: list[str]
    """Models routed, most tokens first."""
    api_calls: int
    context_tokens: int
    context_window: int | None


class Tally:
    """Running totals of the calls of one session (``sid``), fed with changes of best copies."""

    def __init__(self, sid: str | None, state: dict | None = None) -> None:
        self.sid = sid
        s = state or {}
        self.usage: list[int] = list(s.get("usage", (0,) * 7))
        self.calls: int = s.get("calls", 0)
        self.cost_pico: int = s.get("cost_pico", 0)
        self.unpriced: dict[str, int] = dict(s.get("unpriced", {}))
        """model -> calls without a price."""
        self.models: dict[str, list[int]] = {m: list(v) for m, v in s.get("models", {}).items()}
        """model -> [tokens, calls], in the order models were first counted."""
        self.last: tuple | None = s.get("last")
        """(timestamp, rank, key, model, input side) of the latest main-chain call."""
        self.buckets: dict[tuple, list[int]] = {k: list(v) for k, v in s.get("buckets", {}).items()}
        """(quarter hour, model) -> [7 usage counts, calls, cost_pico, unpriced calls]: history facts."""

    def state(self) -> dict:
        """Plain values to store (see ``__init__``)."""
        return {"usage": tuple(self.usage), "calls": self.calls, "cost_pico": self.cost_pico,
                "unpriced": self.unpriced, "models": {m: tuple(v) for m, v in self.models.items()}, "last": self.last,
                "buckets": {k: tuple(v) for k, v in self.buckets.items()}}

    # --- changes ------------------------------------------------------------------------------

    def change(self, key: object, old: Copy | None, new: Copy | None) -> bool:
        """The best copy of call ``key`` went from ``old`` to ``new`` (either may be None).

        Returns False when the latest main-chain call was taken out and must be found
        again among every call (:meth:`find_last`).
        """
        ok = True
        if old is not None and old[SID] == self.sid:
            self._count(old, -1)
            if self.last is not None and self.last[2] == key:
                was = self.last
                self.last = None
                # A better copy of the latest call that is still as late (a streaming response
                # growing) is the latest one: no need to look at every other call again.
                ok = (new is not None and new[SID] == self.sid and not new[SIDECHAIN]
                      and (new[TS], new[RANK]) >= (was[0], was[1]))
        if new is not None and new[SID] == self.sid:
            self._count(new, 1)
            self._maybe_last(key, new)
        return ok

    def find_last(self, copies: Mapping[object, Copy]) -> None:
        """Find the latest main-chain call again among ``copies`` (key -> best copy)."""
        self.last = None
        for key, c in copies.items():
            if c[SID] == self.sid:
                self._maybe_last(key, c)

    def _maybe_last(self, key: object, c: Copy) -> None:
        if c[SIDECHAIN]:
            return
        if self.last is None or (c[TS], c[RANK]) > (self.last[0], self.last[1]):
            self.last = (c[TS], c[RANK], key, c[MODEL], _input_side(c[USAGE]))

    def _count(self, c: Copy, sign: int) -> None:
        u = c[USAGE]
        mine = self.usage
        for i in range(7):
            mine[i] += sign * u[i]
        self.calls += sign
        model = c[MODEL]
        per = self.models.get(model)
        if per is None:
            per = self.models[model] = [0, 0]
        per[0] += sign * _total(u)
        per[1] += sign
        if per[1] == 0:
            del self.models[model]  # its last call moved away
        cost = c[COST]
        if cost is None:
            n = self.unpriced.get(model, 0) + sign
            if n:
                self.unpriced[model] = n
            else:
                self.unpriced.pop(model, None)
        else:
            self.cost_pico += sign * cost
        ts = c[TS]
        bucket = (ts - ts % BUCKET_SECONDS if ts > 0 else 0.0, model)
        row = self.buckets.get(bucket)
        if row is None:
            row = self.buckets[bucket] = [0] * 10
        for i in range(7):
            row[i] += sign * u[i]
        row[7] += sign
        if cost is None:
            row[9] += sign
        else:
            row[8] += sign * cost
        if row[7] == 0:
            del self.buckets[bucket]

    @classmethod
    def of(cls, sid: str | None, copies: Iterable[tuple[object, Copy]]) -> Tally:
        """A tally built from scratch over ``(key, best copy)`` pairs."""
        t = cls(sid)
        for key, c in copies:
            t.change(key, None, c)
        return t

    # --- reading ------------------------------------------------------------------------------

    def view(self) -> TallyView:
        """The figures a status line shows."""
        order = sorted(self.models, key=lambda m: -self.models[m][0])  # stable: first counted wins ties
        tokens, window = 0, None
        if self.last is not None:
            tokens = self.last[4]
            window = context_window(self.last[3], tokens)
        return TallyView(Usage(*self.usage), self.cost_pico / 1e12, sorted(self.unpriced), order, self.calls,
                         tokens, window)

    def facts(self, agent: str) -> list[Fact]:
        """The session's history facts, one per quarter hour and model."""
        from tokdash.model.history import Fact

        return [Fact(ts, agent, self.sid or "", model, Usage(*row[:7]), row[7], row[8], row[9])
                for (ts, model), row in self.buckets.items()]
