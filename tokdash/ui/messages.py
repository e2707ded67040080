"""Messages between tokdash's workers, the app and its screens: facts, in the past tense.

Workers read and parse off the UI thread and post :class:`BatchesRead` to the app;
the app, the single writer, merges the batches into the store and posts
:class:`SessionsChanged` to every screen on the stack. The index thread reports
progress and notices (:class:`IndexProgressed`, :class:`IndexWarned`) the same way.
"""

from __future__ import annotations

from textual.message import Message

from tokdash.model.records import Batch
from tokdash.model.store import SessionKey


class BatchesRead(Message):
    """Transcript files were read off the UI thread; their batches wait to be merged.

    Consecutive messages coalesce (``can_replace``) by *merging* their batch lists,
    never by dropping one: when the UI falls behind it merges one bigger batch
    instead of many small ones, and no record is lost.
    """

    def __init__(self, batches: list[tuple[str, Batch]], *, files_done: int = 0, files_total: int = 0) -> None:
        super().__init__()
        self.batches = batches
        """(agent, batch) pairs, in the order they were read."""
        self.files_done = files_done
        """Initial load: files read so far (0 for live re-reads)."""
        self.files_total = files_total
        """Initial load: files discovered (0 for live re-reads)."""

    def can_replace(self, message: Message) -> bool:
        """Let the next ``BatchesRead`` supersede this one, carrying this one's batches first."""
        if isinstance(message, BatchesRead):
            message.batches[:0] = self.batches
            if not message.files_total:
                message.files_done, message.files_total = self.files_done, self.files_total
            return True
        return False


class HistoryLoaded(Message):
    """The initial load of every discovered transcript finished."""

    def __init__(self, files: int, seconds: float) -> None:
        super().__init__()
        self.files = files
        """Files read."""
        self.seconds = seconds
        """Wall time of the load."""


class SessionsChanged(Message, bubble=False):
    """Sessions in the store changed (new records merged, or new sessions appeared).

    Posted by the app to every screen on the stack after each merge. Consecutive
    messages coalesce by uniting their keys, so a busy screen refreshes once.
    """

    def __init__(self, keys: frozenset[SessionKey]) -> None:
        super().__init__()
        self.keys = keys
        """The (agent, session_id) of every session whose summary may differ now."""

    def can_replace(self, message: Message) -> bool:
        """Let the next ``SessionsChanged`` supersede this one, with both messages' keys."""
        if isinstance(message, SessionsChanged):
            message.keys = message.keys | self.keys
            return True
        return False


class IndexProgressed(Message):
    """The index thread is reading transcript files (a first build, or many new bytes)."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        """Files read so far."""
        self.total = total
        """Files to read."""

    def can_replace(self, message: Message) -> bool:
        """Only the newest progress matters."""
        return isinstance(message, IndexProgressed)


class IndexWarned(Message):
    """The index had something to say (busy, could not save, moved a damaged file aside)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        """One line, for a notification."""
