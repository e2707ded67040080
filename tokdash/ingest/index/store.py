"""The index's ``Store``: the in-memory store of ``model/store.py``, backed by SQLite.

A sync merges new records through an :class:`IndexStore`, which loads from the
index only the sessions the new records touch, and afterwards says which of its
records are new, changed or withdrawn, so only those are written back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from tokdash.ingest.index import codec, rows
from tokdash.ingest.index.db import _Corrupt
from tokdash.model.records import Event, SessionMeta
from tokdash.model.store import CallSlot, Session, SessionKey, Store, _note, event_file

enc_path, dec_path = codec.enc_path, codec.dec_path


class _Tracked(dict):
    """A dict that lists the keys given a value since it was last :meth:`taken` (in order):
    the keys a store must write, without looking at every key it holds."""

    __slots__ = ("fresh",)

    def __init__(self) -> None:
        super().__init__()
        self.fresh: list = []

    def __setitem__(self, key, value) -> None:
        self.fresh.append(key)
        super().__setitem__(key, value)

    def setdefault(self, key, value=None):  # noqa: D102 - dict's
        if key not in self:
            self.fresh.append(key)
        return super().setdefault(key, value)

    def taken(self) -> list:
        """The keys given a value since the last call, each once, in order; forgotten here."""
        out = list(dict.fromkeys(self.fresh))
        self.fresh.clear()
        return out


class IndexStore(Store):
    """A ``Store`` whose lookups fall back to the index, loading a session's records on first touch.

    Dedup goes through the base class unchanged: a key, message id or event that is
    not in memory is looked up in SQLite; a hit loads the whole session that owns it
    (the base class may move a call between sessions, which needs both loaded), and
    every session a batch touches is loaded before it changes, so its summary can be
    recomputed from complete records. Withdrawing a file (``Store.withdraw_file``)
    first loads every session holding that file's records. What was loaded is
    remembered, so only what changed (or was withdrawn) is written back.
    """

    def __init__(self, conn: sqlite3.Connection | None, *, empty: bool, reader: codec.Reader | None = None) -> None:
        super().__init__()
        self.slots = _Tracked()
        self._by_msg = _Tracked()
        self._db = conn
        self._reader = reader or codec.Reader()
        self._empty = empty or conn is None
        """Nothing is stored yet (a cold build): skip every SQLite lookup."""
        self._by_pk: dict[tuple, CallSlot] = {}
        self._clean_slots: dict[tuple, tuple] = {}
        """pk -> (best, number of tools, open, session, number of other files) as loaded: a slot
        differing is written."""
        self._clean_keys: set = set()
        self._clean_msgs: set = set()
        self._clean_events: dict[tuple, tuple[Event, tuple[str, ...]]] = {}
        self._clean_metas: dict[tuple[str, str, str], SessionMeta] = {}
        self._dropped_pks: set[tuple] = set()
        """Calls withdrawn this run: their stored rows are deleted (a call offered again is new)."""
        self._dropped_keys: set = set()
        self._dropped_msgs: set[tuple] = set()
        """(msg_id, key) rows to delete."""
        self._dropped_events: set[tuple] = set()
        self._dropped_metas: set[tuple[str, str, str]] = set()
        self.paths = rows.Paths(conn)
        """File paths by id (the rows name their file by id)."""
        self.encoded: rows.Encoded | None = None
        """Rows of the records forked workers read, encoded there (a build's writer takes them)."""
        self._touched: set[SessionKey] = set()
        """Sessions with records changed, adopted or met again since the last write: the only
        ones whose rows can differ from what is stored (a kept store holds many more)."""
        self._agent = ""
        """The agent of the batch being merged (whose sessions its lookups hit)."""

    # merging ----------------------------------------------------------------------

    def add_batch(self, batch, agent: str) -> set[SessionKey]:
        """See ``Store.add_batch``; the sessions it changes are remembered for the write."""
        self._agent = agent
        changed = super().add_batch(batch, agent)
        self._touched |= changed
        return changed

    # lookups ---------------------------------------------------------------------

    def _get_slot(self, key: tuple) -> CallSlot | None:
        slot = self.slots.get(key)
        if slot is not None:
            # Met again: another copy may add a file to its list (no change the base reports).
            self._touched.add((self._agent, slot.best.session_id))
            return slot
        if self._empty or key in self._dropped_keys:
            return None
        k = codec.enc_key(key)
        # A call's own key is its row's primary key; the keys table holds only its other keys.
        row = self._db.execute("SELECT pk, agent, session_id FROM slots WHERE pk = ?", (k,)).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT k.pk, s.agent, s.session_id FROM keys k JOIN slots s ON s.pk = k.pk WHERE k.key = ?", (k,)
            ).fetchone()
        if row is None:
            return None
        self._session(row[1], row[2])
        slot = self._by_pk.get(codec.dec_key(row[0]))  # type: ignore[arg-type]
        if slot is not None:
            self.slots[key] = slot
            self._clean_keys.add(key)
            if key != slot.primary and key not in slot.aliases:
                slot.aliases += (key,)
            self._touched.add((self._agent, slot.best.session_id))
        return slot

    def _get_by_msg(self, msg_id: object) -> tuple | None:
        key = self._by_msg.get(msg_id)
        if key is not None or self._empty:
            return key
        row = self._db.execute("SELECT key FROM msgs WHERE msg = ?", (codec.enc_key(msg_id),)).fetchone()
        if row is None:
            return None
        key = codec.dec_key(row[0])  # type: ignore[assignment]
        if key in self._dropped_keys:
            return None
        self._by_msg[msg_id] = key
        self._clean_msgs.add(msg_id)
        return key

    def _get_event(self, key: tuple) -> Event | None:
        ev = self.events.get(key)
        if ev is not None:
            self._touched.add((self._agent, ev.session_id))
            return ev
        if self._empty:
            return None
        row = self._db.execute("SELECT agent, session_id FROM events WHERE key = ?", (codec.enc_key(key),)).fetchone()
        if row is None:
            return None
        self._session(row[0], row[1])
        ev = self.events.get(key)
        if ev is not None:
            self._touched.add((row[0], ev.session_id))
        return ev

    def _session(self, agent: str, sid: str) -> Session:
        key = (agent, sid)
        s = self.sessions.get(key)
        if s is None:
            s = self.sessions[key] = Session(agent, sid)
            if not self._empty:
                self._load(s)
        return s

    def load_session(self, agent: str, sid: str) -> Session | None:
        """The session with all its records (for a detail view), or None if the index has none."""
        s = self._session(agent, sid)
        if s.empty:
            del self.sessions[(agent, sid)]
            return None
        return s

    def _load(self, s: Session) -> None:
        db = self._db
        reader = self._reader
        loads = reader.loads
        path_of = self.paths.path
        args = (s.agent, s.session_id)
        for (pk_b, data, is_open, tools, others, ts, *usage, usd, pico, fid, ck) in db.execute(
            "SELECT pk, data, open, tools, others, ts, input, output, cw5, cw1h, cr, reasoning, web, cost_usd, "
            "cost_pico, file, ck FROM slots WHERE agent = ? AND session_id = ? ORDER BY rowid", args
        ):
            pk = codec.dec_key(pk_b)
            if pk in self._by_pk or pk in self._dropped_pks:
                continue  # already in memory (it moved this run), or withdrawn: memory is newer
            if type(fid) is not int or type(ts) is not float or ck != rows.slot_ck(*usage, usd, pico, ts, is_open, fid):
                raise _Corrupt("a stored call fails its checksum")
            slot = rows.load_slot(reader, pk, data, is_open, tools, others, ts, usage, path_of(fid))  # type: ignore
            self._by_pk[pk] = slot  # type: ignore[index]
            self.slots.setdefault(pk, slot)  # type: ignore[arg-type]
            s.slots[pk] = slot  # type: ignore[index]
            _note(self._file_slots, slot.best.file_path, pk)
            self._clean_slots[pk] = (slot.best, len(slot.tools), slot.open, s.key, len(slot.others))  # type: ignore
            self._clean_keys.add(pk)
        for key_b, data, others_b, fid in db.execute(
            "SELECT key, data, others, file FROM events WHERE agent = ? AND session_id = ? ORDER BY rowid", args
        ):
            key = codec.dec_key(key_b)
            if key in self.events or key in self._dropped_events:
                continue
            ev = rows.load_event(reader, key, data, path_of(fid))  # type: ignore[arg-type]
            others = tuple(loads(others_b)) if others_b is not None else ()  # type: ignore[arg-type]
            self._take_event(s, ev, others)
            self._clean_events[key] = (ev, others)  # type: ignore[index]
        for path_t, data in db.execute("SELECT path, data FROM metas WHERE agent = ? AND session_id = ?", args):
            path = dec_path(path_t)
            if (path, s.agent, s.session_id) in self._dropped_metas or path in s.metas:
                continue
            meta = loads(data)
            s.metas[path] = meta  # type: ignore[assignment]
            _note(self._file_metas, path, s.key, unique=True)
            self._clean_metas[(path, s.agent, s.session_id)] = meta  # type: ignore[assignment]

    def _take_event(self, s: Session, ev: Event, others: tuple[str, ...]) -> None:
        self.events[ev.key] = ev
        s.events[ev.key] = ev
        _note(self._file_events, event_file(ev), ev.key)
        if others:
            self._event_others[ev.key] = others

    # withdrawal ------------------------------------------------------------------

    def withdraw_file(self, path: str, agent: str) -> set[SessionKey]:
        """See ``Store.withdraw_file``; the sessions holding ``path``'s stored records are loaded first."""
        if not self._empty:
            fid = self.paths.find(path)
            for a, sid in self._db.execute(
                "SELECT agent, session_id FROM slots WHERE file = ? UNION SELECT agent, session_id FROM events "
                "WHERE file = ? UNION SELECT agent, session_id FROM metas WHERE path = ?", (fid, fid, enc_path(path))
            ).fetchall():
                self._session(a, sid)
        changed = super().withdraw_file(path, agent)
        self._touched |= changed
        return changed

    def _dropped_slot(self, slot: CallSlot, keys: tuple[tuple, ...]) -> None:
        self._dropped_pks.add(slot.primary)
        self._dropped_keys.update(keys)
        self._by_pk.pop(slot.primary, None)
        self._clean_slots.pop(slot.primary, None)
        self._clean_keys.difference_update(keys)
        msg = slot.best.msg_id
        if msg is not None:
            self._clean_msgs.discard(msg)
            self._dropped_msgs.update((msg, k) for k in keys)

    def _dropped_event(self, key: tuple) -> None:
        self._dropped_events.add(key)
        self._clean_events.pop(key, None)

    def _dropped_meta(self, path: str, session: Session) -> None:
        k = (path, session.agent, session.session_id)
        self._dropped_metas.add(k)
        self._clean_metas.pop(k, None)

    # carrying records over a rebuild ---------------------------------------------

    def adopt_slot(self, agent: str, slot: CallSlot, keys: Iterable[tuple]) -> None:
        """Take a call (with every key it is known under) over from a previous index."""
        self._by_pk[slot.primary] = slot
        for k in keys:
            self.slots[k] = slot
            if k != slot.primary and k not in slot.aliases:
                slot.aliases += (k,)
        self.slots.setdefault(slot.primary, slot)
        _note(self._file_slots, slot.best.file_path, slot.primary)
        self._session(agent, slot.best.session_id).slots[slot.primary] = slot
        self._touched.add((agent, slot.best.session_id))

    def adopt_event(self, agent: str, ev: Event, others: tuple[str, ...] = ()) -> None:
        """Take an event over from a previous index."""
        self._take_event(self._session(agent, ev.session_id), ev, others)
        self._touched.add((agent, ev.session_id))

    def adopt_meta(self, agent: str, meta: SessionMeta) -> None:
        """Take a file's facts over from a previous index."""
        s = self._session(agent, meta.session_id)
        s.metas[meta.path] = meta
        _note(self._file_metas, meta.path, s.key, unique=True)
        self._touched.add(s.key)

    # what to write back -----------------------------------------------------------

    def _dirty_sessions(self) -> Iterable[Session]:
        touched = self._touched
        return [s for s in self.sessions.values() if s.key in touched]

    def dirty_slots(self) -> Iterable[tuple[Session, CallSlot]]:
        """Slots new or changed since they were loaded, with the session that owns them now."""
        clean = self._clean_slots
        for s in self._dirty_sessions():
            for pk, slot in s.slots.items():
                c = clean.get(pk)
                if (c is None or c[0] is not slot.best or c[1] != len(slot.tools) or c[2] != slot.open
                        or c[3] != s.key or c[4] != len(slot.others)):
                    yield s, slot

    def new_keys(self) -> Iterable[tuple[tuple, tuple]]:
        """(key, primary key) of every key not stored yet."""
        clean, slots = self._clean_keys, self.slots
        return [(k, slots[k].primary) for k in dict.fromkeys(slots.fresh)  # type: ignore[attr-defined]
                if k not in clean and k in slots]

    def new_msgs(self) -> Iterable[tuple[object, tuple]]:
        """(msg_id, key) not stored yet (the first key seen with a message id wins)."""
        clean, by_msg = self._clean_msgs, self._by_msg
        return [(m, by_msg[m]) for m in dict.fromkeys(by_msg.fresh) if m not in clean and m in by_msg]  # type: ignore

    def dirty_events(self) -> Iterable[tuple[Session, Event, tuple[str, ...]]]:
        """Events new, moved or met in another file since they were loaded, with their other files."""
        clean = self._clean_events
        for s in self._dirty_sessions():
            for key, ev in s.events.items():
                others = self._event_others.get(key, ())
                c = clean.get(key)
                if c is None or c[0] is not ev or c[1] != others:
                    yield s, ev, others

    def dirty_metas(self) -> Iterable[tuple[Session, SessionMeta]]:
        """File facts new or changed since they were loaded."""
        clean = self._clean_metas
        for s in self._dirty_sessions():
            for path, meta in s.metas.items():
                if clean.get((path, s.agent, s.session_id)) is not meta:
                    yield s, meta

    def withdrawn(self) -> tuple[set[tuple], set[tuple], set[tuple], set[tuple[str, str, str]]]:
        """What was withdrawn and must be deleted from the index: (call pks, (msg_id, key)
        pairs, event keys, (path, agent, session) of file facts). Rows offered again this run
        are written after the deletions."""
        return self._dropped_pks, self._dropped_msgs, self._dropped_events, self._dropped_metas

    def force_dirty(self, models: set[str]) -> None:
        """Rewrite the loaded calls of ``models`` (their price changed)."""
        for s in self.sessions.values():
            for pk, slot in s.slots.items():
                if slot.best.model in models:
                    self._clean_slots.pop(pk, None)
                    self._touched.add(s.key)

    def settled(self, conn: sqlite3.Connection) -> None:
        """What this store holds was just committed (on ``conn``): it is all stored now, so the
        next sync over this store writes only what changes from here (a dashboard's store)."""
        self._db, self.paths.conn = conn, conn
        self._empty = False
        self.encoded = None
        # Withdrawn rows were deleted before this write's rows went in: forget them first.
        for pk in self._dropped_pks:
            self._clean_slots.pop(pk, None)
            self._by_pk.pop(pk, None)
        self._clean_keys.difference_update(self._dropped_keys)
        for k in self._dropped_events:
            self._clean_events.pop(k, None)
        for k in self._dropped_metas:
            self._clean_metas.pop(k, None)
        for s in self._dirty_sessions():
            key = s.key
            for pk, slot in s.slots.items():
                self._clean_slots[pk] = (slot.best, len(slot.tools), slot.open, key, len(slot.others))
                self._by_pk[pk] = slot
            for k, ev in s.events.items():
                self._clean_events[k] = (ev, self._event_others.get(k, ()))
            for path, meta in s.metas.items():
                self._clean_metas[(path, s.agent, s.session_id)] = meta
        self._clean_keys.update(k for k in self.slots.taken() if k in self.slots)  # type: ignore[attr-defined]
        self._clean_msgs.update(m for m in self._by_msg.taken() if m in self._by_msg)  # type: ignore[attr-defined]
        for dropped in (self._dropped_pks, self._dropped_keys, self._dropped_msgs, self._dropped_events,
                        self._dropped_metas, self._touched):
            dropped.clear()
