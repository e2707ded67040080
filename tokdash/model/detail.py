"""Everything the detail screen shows about one session, computed in one go off the UI thread.

A feed builds a :class:`SessionDetail` from a session's records on its own thread
(pricing every call by kind, the tips, the compaction marks), so opening or
refreshing a detail costs the UI thread nothing but drawing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokdash.model.costs import SessionCosts, session_costs
from tokdash.model.insights import Tip, tips
from tokdash.model.pricing import PriceBook
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session


@dataclass(slots=True)
class SessionDetail:
    """One session's summary, its costs by kind and by call, its tips and compactions."""

    summary: SessionSummary
    costs: SessionCosts
    tips: list[Tip] = field(default_factory=list)
    compactions: list[float] = field(default_factory=list)
    """Timestamps of the session's compactions, ascending."""


def build_detail(session: Session, summary: SessionSummary, prices: PriceBook) -> SessionDetail:
    """Price ``session`` by kind and run the tips over it."""
    costs = session_costs(session, prices)
    found = tips(session, summary, prices, costs)
    compactions = sorted(e.timestamp for e in session.events.values() if e.kind == "compaction" and e.timestamp)
    return SessionDetail(summary, costs, found, compactions)
