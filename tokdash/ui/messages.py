"""Messages between tokdash's feed, the app and its screens: facts, in the past tense.

The feed's thread posts :class:`FeedUpdated` to the app; the app, the single writer
of the catalog, applies it and posts :class:`CatalogChanged` to every screen on the
stack. Screens never call the app: they navigate by posting :class:`SessionChosen`,
:class:`HistoryRequested`, :class:`HelpRequested` and friends, which bubble up to it.
"""

from __future__ import annotations

from textual.message import Message

from tokdash.ingest.catalog import Changes
from tokdash.ingest.feed_update import FeedUpdate
from tokdash.model.history import HistoryRow
from tokdash.model.store import SessionKey


class FeedUpdated(Message):
    """The feed learnt something (on its own thread); the app applies it to the catalog.

    Consecutive messages coalesce (``can_replace``) by *chaining* their updates
    (``FeedUpdate.then``), never by dropping one: when the UI falls behind it applies
    one bigger update instead of many small ones, and nothing is lost.
    """

    def __init__(self, update: FeedUpdate) -> None:
        super().__init__()
        self.update = update

    def can_replace(self, message: Message) -> bool:
        """Let the next ``FeedUpdated`` supersede this one, carrying this one's data first."""
        if isinstance(message, FeedUpdated):
            message.update = self.update.then(message.update)
            return True
        return False


class FeedWarned(Message):
    """The feed had something to say (the index is busy, could not save, was damaged...)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        """One line, for a notification."""


class CatalogChanged(Message, bubble=False):
    """The catalog changed: sessions' data, rows (status, burn, heavy, ages) or the loading state.

    Posted by the app to every screen on the stack. Consecutive messages coalesce by
    uniting what they changed, so a busy screen refreshes once.
    """

    def __init__(self, changes: Changes) -> None:
        super().__init__()
        self.changes = changes

    def can_replace(self, message: Message) -> bool:
        """Let the next ``CatalogChanged`` supersede this one, with both messages' changes."""
        if isinstance(message, CatalogChanged):
            message.changes = self.changes | message.changes
            return True
        return False


class SessionChosen(Message):
    """The user picked a session to drill into (Enter on a row)."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__()
        self.key = key


class SessionPicked(Message):
    """The user picked a session in the command palette: put the sessions table's cursor on it."""

    def __init__(self, key: SessionKey) -> None:
        super().__init__()
        self.key = key


class HistoryRequested(Message):
    """The user asked for the History screen."""


class HelpRequested(Message):
    """The user asked for the help screen."""


class HistoryDrilled(Message):
    """Enter on a day, a project or a model of the History screen: list the sessions behind it."""

    def __init__(self, title: str, subtitle: str, rows: list[tuple[SessionKey, HistoryRow]]) -> None:
        super().__init__()
        self.title = title
        self.subtitle = subtitle
        self.rows = rows
        """(session, its share of the chosen day, project or model), costliest first."""
