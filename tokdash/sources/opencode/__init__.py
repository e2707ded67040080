"""OpenCode: its data folder, ``$XDG_DATA_HOME/opencode`` (``~/.local/share/opencode``).

- ``opencode.db`` (v1.2+; ``opencode-<channel>.db`` for other release channels): the live
  SQLite database, read by ``db``. OpenCode writes it through its ``-wal`` file, which is
  what the watcher sees change.
- ``storage/`` (v1.1 and before, left in place after the migration): one JSON file per
  session, message and part, read by ``storage`` one session at a time.

Neither is appended JSON lines, so this source reads its files itself (the ``read``
hook); ``records`` turns messages into records for both. The data folder also holds
large trees that are no transcripts (``snapshot/``, ``log/``): the watcher follows only
its top level and ``storage/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokdash.model.records import Batch
from tokdash.sources.base import FileContext, SourceDefaults
from tokdash.sources.opencode import db, storage
from tokdash.sources.opencode.records import NAME, resume_command

_DB = re.compile(r"opencode(?:-[A-Za-z0-9._-]+)?\.db")
"""``opencode.db`` or a channel's ``opencode-<channel>.db`` (OpenCode's ``Database.Path``)."""


def _is_db(name: str) -> bool:
    return _DB.fullmatch(name) is not None


def _is_session_file(path: Path) -> bool:
    parents = path.parents
    return (path.suffix == ".json" and len(parents) >= 3 and parents[1].name == "session"
            and parents[2].name == "storage")


class OpenCodeSource(SourceDefaults):
    """OpenCode sessions (the database and the legacy JSON tree)."""

    name = NAME
    label = "OpenCode"
    env_var = None
    """OpenCode has no variable naming its data folder (``OPENCODE_DB`` names a database
    file); the folder follows ``XDG_DATA_HOME``."""
    dir_help = "an OpenCode data dir (holding opencode.db or storage/)"
    default_help = "$XDG_DATA_HOME/opencode, else ~/.local/share/opencode"
    markers: tuple = ()
    """Unused: the ``read`` hook reads the database and the JSON tree."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Unused (see ``read``)."""
        return True

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """Unused (see ``read``)."""

    def read(self, state, finalize: bool) -> Batch | None:
        """What changed in a database, or in one legacy session's files, since the last read."""
        if state.ctx.state.get("kind") == "db":
            return db.read_db(state)
        return storage.read_session(state)

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """``$XDG_DATA_HOME/opencode``, else ``~/.local/share/opencode`` (OpenCode's ``Global.Path.data``)."""
        env = os.environ if env is None else env
        data = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        return [Path(data) / "opencode"]

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """Each data folder that exists (its databases), and its ``storage/`` when there is one."""
        out = []
        for r in roots:
            if r.is_dir():
                out.append(r)
                if (r / "storage" / "session").is_dir():
                    out.append(r / "storage")
        return out

    def watch_recursively(self, scan_root: Path) -> bool:
        """Only ``storage/`` is followed down; the data folder's own level holds the databases."""
        return scan_root.name == "storage"

    def files(self, scan_root: Path) -> Iterator[Path]:
        """The databases directly in a data folder, or every session file of a ``storage/``."""
        if scan_root.name == "storage":
            try:
                projects = list(os.scandir(scan_root / "session"))
            except OSError:
                return
            for p in projects:
                if not p.is_dir(follow_symlinks=False):
                    continue
                try:
                    yield from (Path(e.path) for e in os.scandir(p.path) if e.name.endswith(".json") and e.is_file())
                except OSError:
                    continue
            return
        try:
            entries = list(os.scandir(scan_root))
        except OSError:
            return
        yield from (Path(e.path) for e in entries if _is_db(e.name) and e.is_file())

    def claims(self, path: Path) -> bool:
        """A database file, or a legacy session file ``storage/session/<projectID>/<id>.json``."""
        return _is_db(path.name) or _is_session_file(path)

    def file_for_change(self, path: Path) -> Path | None:
        """A database for itself or its ``-wal`` file (never ``-shm``, which readers touch
        too); a legacy session for its session file, one of its message files, or a part
        of one of its messages."""
        name = path.name
        if name.endswith("-wal") and _is_db(name[:-4]):
            return path.with_name(name[:-4])
        if self.claims(path):
            return path
        parents = path.parents
        if path.suffix != ".json" or len(parents) < 3 or parents[2].name != "storage":
            return None
        top = parents[2]
        if parents[1].name == "message":
            return storage.session_file(top, parents[0].name)
        if parents[1].name == "part":
            part = storage.read_json(path)
            sid = part.get("sessionID") if isinstance(part, dict) else None
            return storage.session_file(top, sid) if isinstance(sid, str) and sid else None
        return None

    def resume_command(self, session_id: str) -> str | None:
        """``opencode --session <id>``."""
        return resume_command(session_id)

    def session_files(self, transcript: Path) -> list[Path]:
        """The file alone (a database holds every session; a child session is its own)."""
        return [transcript]

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """One context per database or legacy session file; sessions are learned inside."""
        if _is_db(path.name):
            kind = "db"
        elif _is_session_file(path):
            kind = "storage"
        else:
            return None
        ctx = FileContext(path=str(path), agent=NAME, session_id=None)
        ctx.state["kind"] = kind
        return ctx
