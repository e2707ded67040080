"""Command-palette provider: find a session by project, title, model or id, and jump to it."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import FuzzySearch
from textual.markup import escape
from textual.style import Style

from tokdash.report import fmt_cost
from tokdash.ui.sessions_table import plain

if TYPE_CHECKING:
    from tokdash.model.session import SessionSummary

DISCOVER_LIMIT = 12
"""Sessions offered before anything is typed: the most recently active."""


def _candidate(s: SessionSummary) -> str:
    return f"{plain(s.project_name)} · {plain(s.title) or s.session_id[:8]}"


class SessionsProvider(Provider):
    """Search sessions by name; choosing one puts the sessions table's cursor on it.

    Hits are built as ``Content`` from plain text, never from markup (the palette
    parses a ``str`` hit as markup, and titles come from transcripts).
    """

    def _jump(self, key) -> None:
        from tokdash.ui.sessions_screen import SessionsScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, SessionsScreen):
                screen.jump_to(key)
                return

    def _help(self, s: SessionSummary) -> str:
        return escape(f"{s.agent} · {plain(s.session_id)} · {fmt_cost(s.cost, s.cost_partial)}")

    async def search(self, query: str) -> Hits:
        """Fuzzy-match every session's "project · title" (and its id) against ``query``."""
        app = self.app
        fuzzy = FuzzySearch()
        style = self.match_style or Style(reverse=True)
        for key in app.keys():
            s = app.summary(key)
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
        app = self.app
        summaries = sorted((app.summary(k) for k in app.keys()),
                           key=lambda s: -(s.last_activity or 0.0))[:DISCOVER_LIMIT]
        for s in summaries:
            candidate = _candidate(s)
            yield DiscoveryHit(Content(candidate), partial(self._jump, (s.agent, s.session_id)),
                               text=candidate, help=self._help(s))
