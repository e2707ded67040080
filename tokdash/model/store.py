"""The session store: global dedup with replacement, and per-session membership.

Every copy of an API call read from any file is offered to the store. It keeps the
best copy per call (see ``_better``) and can *replace* a copy it already counted,
so the totals do not depend on the order files or chunks were read in, and
re-reading a file is idempotent. Aggregates are derived lazily per session
(``tokdash.model.session.summarize``) from the calls the session owns, so a
replacement can never leave a stale partial sum behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokdash.model.records import Batch, Call, Event, SessionMeta, ToolUse

SessionKey = tuple[str, str]
"""(agent, session_id)."""


@dataclass(slots=True)
class CallSlot:
    """One deduplicated API call: the best copy seen, and the union of its tool uses."""

    primary: tuple
    """The key the call was first stored under (its key in ``Session.slots``)."""
    best: Call
    tools: dict[str, ToolUse]
    """tool_use id -> tool use, merged over every line of the call (one block per line)."""
    open: bool
    """No copy has a stop reason yet."""


@dataclass(slots=True)
class Session:
    """What the store holds for one session: the calls and events it owns, and its files' metas."""

    agent: str
    session_id: str
    slots: dict[tuple, CallSlot] = field(default_factory=dict)
    events: dict[tuple, Event] = field(default_factory=dict)
    metas: dict[str, SessionMeta] = field(default_factory=dict)
    version: int = 0
    """Bumped on every change; summaries are cached per version."""

    @property
    def key(self) -> SessionKey:
        """(agent, session_id)."""
        return (self.agent, self.session_id)


def _better(new: Call, old: Call) -> bool:
    """Is ``new`` a better copy of the same call than ``old``?

    A non-replica (main chain) copy beats a replica; otherwise the larger total wins
    (``output_tokens`` is a streaming snapshot that only grows); on a tie the copy
    with the smaller rank, i.e. where the call first happened, wins.
    """
    if new.replica != old.replica:
        return not new.replica
    nt, ot = new.usage.total, old.usage.total
    if nt != ot:
        return nt > ot
    return new.rank < old.rank


class Store:
    """All sessions of all agents, deduplicated globally."""

    def __init__(self) -> None:
        self.slots: dict[tuple, CallSlot] = {}
        """Every key (and alias key) of a call -> its slot."""
        self._by_msg: dict[object, tuple] = {}
        """msg_id -> the first key seen with it, for the replica rule."""
        self.events: dict[tuple, Event] = {}
        self.sessions: dict[SessionKey, Session] = {}
        self.bad_lines: dict[str, int] = {}
        """Per file: lines that did not decode."""

    # Lookups go through these four methods so a persistent store (the index) can
    # subclass Store and fetch what is not in memory yet, without a second dedup path.

    def _get_slot(self, key: tuple) -> CallSlot | None:
        """The slot stored under ``key`` (or an alias of it), if any."""
        return self.slots.get(key)

    def _get_by_msg(self, msg_id: object) -> tuple | None:
        """The first key seen with ``msg_id``, if any."""
        return self._by_msg.get(msg_id)

    def _get_event(self, key: tuple) -> Event | None:
        """The event stored under ``key``, if any."""
        return self.events.get(key)

    def _session(self, agent: str, sid: str) -> Session:
        """The session (agent, sid), created empty if new."""
        key = (agent, sid)
        s = self.sessions.get(key)
        if s is None:
            s = self.sessions[key] = Session(agent, sid)
        return s

    def add_batch(self, batch: Batch, agent: str) -> set[SessionKey]:
        """Merge one batch of records from ``agent``; returns the sessions that changed."""
        changed: set[SessionKey] = set()
        for meta in batch.metas:
            s = self._session(meta.agent, meta.session_id)
            s.metas[meta.path] = meta
            s.version += 1
            changed.add(s.key)
            if meta.bad_lines:
                self.bad_lines[meta.path] = meta.bad_lines
        for call in batch.calls:
            self._add_call(call, agent, changed)
        for ev in batch.events:
            self._add_event(ev, agent, changed)
        return changed

    def _add_call(self, call: Call, agent: str, changed: set[SessionKey]) -> None:
        slot = self._get_slot(call.key)
        if slot is None and call.msg_id is not None:
            other = self._get_by_msg(call.msg_id)
            if other is not None:
                candidate = self._get_slot(other)
                if candidate is not None and (candidate.best.replica or call.replica):
                    slot = candidate
                    self.slots[call.key] = slot  # alias: later copies under this key find it directly
        if slot is None:
            slot = CallSlot(call.key, call, dict(call.tools), call.open)
            self.slots[call.key] = slot
            if call.msg_id is not None:
                self._by_msg.setdefault(call.msg_id, call.key)
            s = self._session(agent, call.session_id)
            s.slots[slot.primary] = slot
            s.version += 1
            changed.add(s.key)
            return
        old = slot.best
        touched = False
        if call.tools and not call.tools.keys() <= slot.tools.keys():
            slot.tools.update(call.tools)
            touched = True
        if slot.open and not call.open:
            slot.open = False
            touched = True
        if _better(call, old):
            slot.best = call
            touched = True
            if call.session_id != old.session_id:
                # The call changes hands: it belongs where it first happened.
                prev = self._session(agent, old.session_id)
                del prev.slots[slot.primary]
                prev.version += 1
                changed.add(prev.key)
                self._session(agent, call.session_id).slots[slot.primary] = slot
        if touched:
            s = self._session(agent, slot.best.session_id)
            s.version += 1
            changed.add(s.key)

    def _add_event(self, ev: Event, agent: str, changed: set[SessionKey]) -> None:
        old = self._get_event(ev.key)
        if old is not None and not ev.rank < old.rank:
            return
        self.events[ev.key] = ev
        if old is not None and old.session_id != ev.session_id:
            prev = self._session(agent, old.session_id)
            prev.events.pop(ev.key, None)
            prev.version += 1
            changed.add(prev.key)
        s = self._session(agent, ev.session_id)
        s.events[ev.key] = ev
        s.version += 1
        changed.add(s.key)
