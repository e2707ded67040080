"""Command-palette provider: find a session by project, title, model or id, and jump to it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.markup import escape
from textual.style import Style

from tokdash.format import clean, fmt_cost
from tokdash.ingest.catalog import CatalogView
from tokdash.model.session import SessionSummary
from tokdash.ui.messages import SessionPicked

DISCOVER_LIMIT = 12
"""Sessions offered before anything is typed: the most recently active."""


def _candidate(s: SessionSummary) -> str:
    return f"{clean(s.project_name)} · {clean(s.title) or s.session_id[:8]}"


class SessionsProvider(Provider):
    """Search sessions by name; choosing one puts the sessions table's cursor on it.

    Hits are built as ``Content`` from plain text, never from markup (the palette
    parses a ``str`` hit as markup, and titles come from transcripts).
    """

    @property
    def catalog(self) -> CatalogView:
        """The catalog of the screen the palette was opened on."""
        return self.screen.catalog  # type: ignore[attr-defined]

    def _jump(self, key) -> None:
        self.app.post_message(SessionPicked(key))

    def _help(self, s: SessionSummary) -> str:
        return escape(f"{s.agent} · {clean(s.session_id)} · {fmt_cost(s.cost, s.cost_partial)}")

    async def search(self, query: str) -> Hits:
        """Fuzzy-match every session's "project · title" (and its id) against ``query``."""
        catalog = self.catalog
        fuzzy = FuzzySearch()
        style = self.match_style or Style(reverse=True)
        for key in catalog.keys():
            s = catalog.summary(key)
            candidate = _candidate(s)
            score, offsets = fuzzy.match(query, candidate)
            if not score and query.lower() in s.session_id.lower():
                score, offsets = 0.5, []
            if not score:
                continue
            content = Content(candidate)
            for offset in offsets:
                content = content.stylize(style, offset, offset + 1)
            yield Hit(score, content, partial(self._jump, key), text=candidate, help=self._help(s))

    async def discover(self) -> Hits:
        """The most recently active sessions."""
        catalog = self.catalog
        summaries = sorted((catalog.summary(k) for k in catalog.keys()),
                           key=lambda s: -(s.last_activity or 0.0))[:DISCOVER_LIMIT]
        for s in summaries:
            candidate = _candidate(s)
            yield DiscoveryHit(Content(candidate), partial(self._jump, (s.agent, s.session_id)),
                               text=candidate, help=self._help(s))
