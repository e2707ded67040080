"""The session store: global dedup with replacement, per-session membership, and withdrawal.

Every copy of an API call read from any file is offered to the store. It keeps the
best copy per call (see ``_better``) and can *replace* a copy it already counted,
so the totals do not depend on the order files or chunks were read in, and
re-reading a file is idempotent. Aggregates are derived lazily per session
(``tokdash.model.session.summarize``) from the calls the session owns, so a
replacement can never leave a stale partial sum behind.

What a file contributes (the rule, defined here once, followed by the in-memory
store, the index and ``--no-cache`` alike):

- A file that exists contributes what it holds **now**. A file re-read from zero
  (it shrank, was replaced by other content, or is a document its CLI rewrites in
  place) comes as a :class:`~tokdash.model.records.Batch` with ``replaces_file``:
  everything that file contributed before is withdrawn first (:meth:`Store.withdraw_file`),
  so a call that vanished from it is no longer counted -- unless another file still
  holds a copy of it (a resumed session's copy): the paths of such files are left in
  :attr:`Store.reoffer`, and the caller offers their records again, so the result
  equals a fresh read of the files as they are now.
- A file that is gone keeps contributing what it last held: history outlives the
  transcripts (its sessions are *archived*).
- A file renamed (same file, new name: the ingest layer tells) is withdrawn under
  its old name and read under its new one: its calls go to the session its new
  name says, as a fresh read would put them.
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
    others: tuple[str, ...] = ()
    """Other files that offered a copy of this call (not the best copy's own file). A
    superset: a file whose copy was withdrawn may still be listed, which only costs a
    needless re-offer. Withdrawing the best copy's file re-offers these files' copies."""
    aliases: tuple[tuple, ...] = ()
    """Keys other than ``primary`` the call is known under (the replica rule), as far as
    this store has met them."""


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

    @property
    def empty(self) -> bool:
        """Nothing left: no call, no event, no file fact (a withdrawal can leave a session so)."""
        return not (self.slots or self.events or self.metas)


def event_file(ev: Event) -> str:
    """The file an event was read from: part of its rank ``(native, start, path, offset)``."""
    rank = ev.rank
    if isinstance(rank, tuple) and len(rank) >= 3 and isinstance(rank[2], str):
        return rank[2]
    return ""


def _note(index: dict[str, list], path: str, item: object, *, unique: bool = False) -> None:
    """Add ``item`` to ``index[path]`` (a repeat of the last entry, or any with ``unique``, is skipped)."""
    held = index.get(path)
    if held is None:
        index[path] = [item]
    elif held[-1] != item and not (unique and item in held):
        held.append(item)


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
        self.reoffer: set[str] = set()
        """Files whose records must be offered again after a withdrawal: they hold copies
        of calls or events whose best copy was withdrawn. The caller (who can read files)
        re-reads each from zero, offers its calls and events, and clears this set."""
        self._file_slots: dict[str, list[tuple]] = {}
        """path -> primaries of the calls whose best copy came from it. Lists, not sets (a set
        per file costs 50 MB at 50,000 files): an entry whose best copy has moved to another
        file since stays, and ``withdraw_file`` skips it."""
        self._file_events: dict[str, list[tuple]] = {}
        """path -> keys of the events whose kept copy came from it (stale entries skipped too)."""
        self._event_others: dict[tuple, tuple[str, ...]] = {}
        """event key -> other files that offered a copy of it (only events met in several files)."""
        self._file_metas: dict[str, list[SessionKey]] = {}
        """path -> sessions holding that file's facts."""

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
        """Merge one batch of records from ``agent``; returns the sessions that changed.

        A batch with ``replaces_file`` is the whole content of ``batch.path`` now: what
        that file contributed before is withdrawn first (see :meth:`withdraw_file`; the
        caller then re-offers :attr:`reoffer`). A session a withdrawal emptied is no
        longer in ``sessions`` but is among the changed keys.
        """
        changed: set[SessionKey] = set()
        if batch.replaces_file and batch.path:
            changed |= self.withdraw_file(batch.path, agent)
        for meta in batch.metas:
            s = self._session(meta.agent, meta.session_id)
            s.metas[meta.path] = meta
            _note(self._file_metas, meta.path, s.key, unique=True)
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
                    if call.key != slot.primary and call.key not in slot.aliases:
                        slot.aliases += (call.key,)
        if slot is None:
            slot = CallSlot(call.key, call, dict(call.tools), call.open)
            self.slots[call.key] = slot
            _note(self._file_slots, call.file_path, call.key)
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
            if call.file_path != old.file_path:
                self._move_best_file(slot, old.file_path, call.file_path)
            if call.session_id != old.session_id:
                # The call changes hands: it belongs where it first happened.
                prev = self._session(agent, old.session_id)
                del prev.slots[slot.primary]
                prev.version += 1
                changed.add(prev.key)
                self._session(agent, call.session_id).slots[slot.primary] = slot
        elif call.file_path != old.file_path and call.file_path not in slot.others:
            slot.others += (call.file_path,)
        if touched:
            s = self._session(agent, slot.best.session_id)
            s.version += 1
            changed.add(s.key)

    def _move_best_file(self, slot: CallSlot, old: str, new: str) -> None:
        """The best copy of ``slot`` now comes from ``new`` instead of ``old`` (which still holds one)."""
        _note(self._file_slots, new, slot.primary)  # the entry under ``old`` goes stale
        others = tuple(p for p in slot.others if p != new)
        slot.others = others if old in others else (*others, old)

    def _add_event(self, ev: Event, agent: str, changed: set[SessionKey]) -> None:
        old = self._get_event(ev.key)
        if old is not None and not ev.rank < old.rank:
            path = event_file(ev)
            if path != event_file(old):
                others = self._event_others.get(ev.key, ())
                if path not in others:
                    self._event_others[ev.key] = (*others, path)
            return
        self.events[ev.key] = ev
        path = event_file(ev)
        if old is not None:
            was = event_file(old)
            if was != path:
                others = tuple(p for p in self._event_others.get(ev.key, ()) if p != path)
                self._event_others[ev.key] = others if was in others else (*others, was)
        _note(self._file_events, path, ev.key)
        if old is not None and old.session_id != ev.session_id:
            prev = self._session(agent, old.session_id)
            prev.events.pop(ev.key, None)
            prev.version += 1
            changed.add(prev.key)
        s = self._session(agent, ev.session_id)
        s.events[ev.key] = ev
        s.version += 1
        changed.add(s.key)

    # withdrawal -------------------------------------------------------------------

    def withdraw_file(self, path: str, agent: str) -> set[SessionKey]:
        """Withdraw everything ``path`` contributed: the calls and events whose best copy
        came from it, and its file facts (meta, bad lines). Returns the sessions changed.

        A withdrawn call or event that other files also hold is re-derived from them:
        those files are added to :attr:`reoffer`, and until the caller offers their
        records again the store lacks them. Where ``path`` held only a lesser copy of a
        call, the best copy (every number) stays; the tool uses that lesser copy added
        to the call's union stay too (a lesser copy has no block the best one lacks,
        except under the replica rule). Sessions left empty are removed from
        ``sessions`` (their keys are in the result).
        """
        changed: set[SessionKey] = set()
        for primary in list(self._file_slots.pop(path, ())):
            slot = self.slots.get(primary)
            if slot is None or slot.best.file_path != path:
                continue
            self._drop_slot(slot, agent, changed)
            self.reoffer.update(p for p in slot.others if p != path)
        for key in list(self._file_events.pop(path, ())):
            ev = self.events.get(key)
            if ev is None or event_file(ev) != path:
                continue
            del self.events[key]
            self._dropped_event(key)
            s = self._session(agent, ev.session_id)
            s.events.pop(key, None)
            s.version += 1
            changed.add(s.key)
            self.reoffer.update(p for p in self._event_others.pop(key, ()) if p != path)
        for skey in self._file_metas.pop(path, ()):
            s = self.sessions.get(skey)
            if s is not None and s.metas.pop(path, None) is not None:
                self._dropped_meta(path, s)
                s.version += 1
                changed.add(skey)
        self.bad_lines.pop(path, None)
        for skey in changed:
            s = self.sessions.get(skey)
            if s is not None and s.empty:
                del self.sessions[skey]
        self.reoffer.discard(path)
        return changed

    def _drop_slot(self, slot: CallSlot, agent: str, changed: set[SessionKey]) -> None:
        """Forget one call entirely: its keys, its message id entry, its session's membership."""
        keys = (slot.primary, *slot.aliases)
        for k in keys:
            if self.slots.get(k) is slot:
                del self.slots[k]
        msg = slot.best.msg_id
        if msg is not None and self._by_msg.get(msg) in keys:
            del self._by_msg[msg]
        s = self._session(agent, slot.best.session_id)
        if s.slots.get(slot.primary) is slot:
            del s.slots[slot.primary]
        s.version += 1
        changed.add(s.key)
        self._dropped_slot(slot, keys)

    # Hooks for a persistent store: what was dropped must be deleted where it is stored.

    def _dropped_slot(self, slot: CallSlot, keys: tuple[tuple, ...]) -> None:
        """A call was withdrawn (``keys``: every key it was known under)."""

    def _dropped_event(self, key: tuple) -> None:
        """An event was withdrawn."""

    def _dropped_meta(self, path: str, session: Session) -> None:
        """A file's facts were withdrawn from ``session``."""
