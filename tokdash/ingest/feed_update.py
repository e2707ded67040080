"""What every feed speaks: :class:`FeedUpdate` and the :class:`Feed` protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tokdash.model.activity import CallSeries
from tokdash.model.session import SessionSummary
from tokdash.model.store import Session, SessionKey

if TYPE_CHECKING:  # annotations only: a report does not load the detail's models
    from tokdash.model.detail import SessionDetail
    from tokdash.model.history import Fact

Emit = Callable[["FeedUpdate"], None]
Warn = Callable[[str], None]


@dataclass
class FeedUpdate:
    """What a feed learnt, for the catalog to take in (on the UI thread)."""

    summaries: dict[SessionKey, SessionSummary] = field(default_factory=dict)
    """New or changed sessions (every session when ``complete``)."""
    series: dict[SessionKey, CallSeries] = field(default_factory=dict)
    """Call series of recent sessions whose records changed (the header's windows, burn rates)."""
    removed: set[SessionKey] = field(default_factory=set)
    """Sessions that are no longer there (forgotten by ``tokdash index --forget``, or emptied
    because the file that held them now holds none of their records)."""
    archived: frozenset[SessionKey] | None = None
    """Every archived session (all its files gone); None: not looked at."""
    complete: bool = False
    """``summaries`` lists every session: any other one the catalog holds is gone."""
    progress: tuple[int, int] | None = None
    """(files read, files to read) while the initial load runs."""
    note: str | None = None
    """What the initial load is doing, for the header."""
    loaded: bool = False
    """The initial load finished (the table now holds everything)."""
    seconds: float | None = None
    """How long the initial load took."""
    pending: bool | None = None
    """Records of recent sessions are still being read (True), or all arrived (False)."""
    unreadable: dict[str, str] | None = None
    """Files and folders under the roots that exist but cannot be read, path -> why (no
    permission, not a regular file, a symlinked folder, which is not followed), as of the
    last look; None: not looked at. Their sessions keep their history and are not archived.
    ``len()`` of it is the count a header shows."""

    def then(self, later: FeedUpdate) -> FeedUpdate:
        """This update followed by ``later``, as one (coalescing messages never loses data)."""
        if later.complete:
            summaries, series, removed = dict(later.summaries), dict(later.series), set(later.removed)
        else:
            summaries = {**self.summaries, **later.summaries}
            series = {**self.series, **later.series}
            removed = (self.removed - later.summaries.keys()) | later.removed
            for key in later.removed:
                summaries.pop(key, None)
                series.pop(key, None)
        return FeedUpdate(
            summaries, series, removed,
            later.archived if later.archived is not None else self.archived,
            self.complete or later.complete,
            later.progress if later.progress is not None else self.progress,
            later.note if later.note is not None else self.note,
            self.loaded or later.loaded,
            later.seconds if later.seconds is not None else self.seconds,
            later.pending if later.pending is not None else self.pending,
            later.unreadable if later.unreadable is not None else self.unreadable,
        )


class Feed(Protocol):
    """Where sessions come from. Every method runs on the feed's own thread."""

    def read_once(self, recent_since: float | None = None) -> FeedUpdate:
        """Everything, once, for a one-shot command (a report, the status line); call series of
        the sessions active since ``recent_since``."""

    def start(self, emit: Emit, recent_since: float) -> None:
        """The initial load, emitting updates as it goes; returns when it is done."""

    def refresh(self, files: list[tuple[str, Path]], emit: Emit, recent_since: float) -> None:
        """Read what was appended to ``files`` (the watcher saw them change)."""

    def tick(self, emit: Emit, recent_since: float) -> None:
        """Periodic work (in memory: read unterminated last lines that stopped growing)."""

    def detail(self, key: SessionKey) -> SessionDetail | None:
        """Everything the detail screen shows about ``key``; None when it is unknown."""

    def facts(self, since: float | None, until: float | None) -> list[Fact]:
        """Usage per session, model and quarter hour in ``[since, until)`` (history)."""

    def close(self) -> None:
        """Let go of files and connections."""


def call_series(session: Session, prices) -> CallSeries:
    """The call series of ``session``, priced with ``prices`` (built on the feed's thread)."""
    return CallSeries.of(session, prices)


