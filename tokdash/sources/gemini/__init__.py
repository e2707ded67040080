"""Gemini CLI: ``~/.gemini/tmp/<project>/chats/``.

Layouts (checked against gemini-cli's ``chatRecordingService.ts``, ``storage.ts`` and
``projectRegistry.ts``; see ``shared/docs/transcript-formats.md`` §3):

- ``chats/session-<YYYY-MM-DDTHH-MM>-<id8>.jsonl`` (v0.39+): appended as the session
  runs; the same message ``id`` is appended again on every update (the last copy wins),
  ``{"$set": {...}}`` updates the metadata, ``{"$rewindTo": id}`` drops that message and
  every later one.
- ``chats/<parentSessionId>/<sessionId>.jsonl``: a sub-agent (``kind: "subagent"``),
  rolled into its parent's session.
- ``chats/session-*.json`` (before v0.39): one pretty-printed document rewritten in
  place, read again whole whenever it changes.

Neither is appended JSON lines in the sense the byte-offset reader assumes (copies that
supersede each other, rewinds, rewrites), so this source reads its files itself (the
``read`` hook; ``chat`` folds the records). ``<project>`` is a slug of the project folder
(v0.29+, mapped in ``~/.gemini/projects.json`` and marked by ``.project_root``) or, before,
the sha256 of the project's path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokdash.model.records import Batch
from tokdash.paths import read_regular
from tokdash.sources.base import (
    FileContext,
    SourceDefaults,
    chat_entries,
    clean_str,
    env_roots,
    load_json,
    shell_command,
)
from tokdash.sources.gemini import chat

NAME = "gemini"
_HASH_CHARS = frozenset("0123456789abcdef")


def _is_chat(name: str) -> bool:
    """A file name Gemini CLI writes a session under (not its ``.tmp-<pid>`` or
    ``.unreadable-<time>`` leftovers, which end otherwise)."""
    return name.endswith(".jsonl") or (name.startswith("session-") and name.endswith(".json"))


class GeminiSource(SourceDefaults):
    """Gemini CLI sessions (JSONL and legacy single documents)."""

    name = NAME
    label = "Gemini CLI"
    env_var = "GEMINI_CLI_HOME"
    dir_help = "a Gemini CLI home (holding tmp/), e.g. ~/.gemini"
    default_help = "$GEMINI_CLI_HOME/.gemini, else ~/.gemini"
    markers: tuple = ()
    """Unused: the ``read`` hook reads every record (a file's copies fold into one message)."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Unused (see ``read``): every record counts."""
        return True

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """Unused (see ``read``): records are folded per file before they become records."""

    def read(self, state, finalize: bool) -> Batch | None:
        """Read one chat file: a legacy document whole when it changed, a JSONL file's new
        records (whole again when they rewind)."""
        if state.ctx.state.get("doc"):
            return chat.read_document(state, self)
        return chat.read_jsonl(state, finalize, self)

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """``$GEMINI_CLI_HOME/.gemini`` (Gemini CLI's own home override) if set, else ``~/.gemini``."""
        homes = env_roots(env, self.env_var)
        if homes:
            return [h / ".gemini" for h in homes]
        return [Path(os.path.expanduser("~")) / ".gemini"]

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """The ``tmp/`` folders of the roots that exist."""
        return [r / "tmp" for r in roots if (r / "tmp").is_dir()]

    def files(self, tmp: Path) -> Iterator[Path]:
        """Every chat file under one ``tmp/``: ``<project>/chats/*`` and sub-agents one level down."""
        for entries in chat_entries(tmp):
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    try:
                        subs = list(os.scandir(e.path))
                    except OSError:
                        continue
                    yield from (Path(s.path) for s in subs if s.name.endswith(".jsonl") and s.is_file())
                elif _is_chat(e.name) and e.is_file():
                    yield Path(e.path)

    def claims(self, path: Path) -> bool:
        """``tmp/<project>/chats/<chat file>`` or ``tmp/<project>/chats/<parent>/<sub-agent>.jsonl``."""
        parents = path.parents
        if len(parents) >= 3 and parents[0].name == "chats" and parents[2].name == "tmp":
            return _is_chat(path.name)
        return (len(parents) >= 4 and parents[1].name == "chats" and parents[3].name == "tmp"
                and path.name.endswith(".jsonl"))

    def resume_command(self, session_id: str) -> str | None:
        """``gemini --resume <id>`` (run in the project's folder: sessions are per project)."""
        return shell_command(("gemini", "--resume"), session_id)

    def session_files(self, transcript: Path) -> list[Path]:
        """The chat file, then its sub-agents' (``chats/<sessionId>/*.jsonl``)."""
        files = [transcript]
        ctx = self.context_for(transcript)
        sid = ctx.state.get("id8") if ctx is not None else None
        if sid:
            for d in sorted(transcript.parent.glob(f"{sid}*")):
                if d.is_dir():
                    files += sorted(p for p in d.iterdir() if p.name.endswith(".jsonl"))
        return files

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """A main chat file learns its session from its metadata; a sub-agent file belongs to
        its folder's session. The project path is resolved once per file."""
        if not self.claims(path):
            return None
        sub = path.parent.name != "chats"
        chats = path.parent.parent if sub else path.parent
        ctx = FileContext(path=str(path), agent=NAME, session_id=clean_str(path.parent.name) if sub else None,
                          agent_id=clean_str(path.stem) if sub else None, is_subagent_file=sub)
        ctx.state["doc"] = path.suffix == ".json"
        ctx.state["project"] = project_path(chats.parent)
        if not sub:
            # session-<time>-<first 8 of the id>: what a sub-agent folder name starts with
            ctx.state["id8"] = clean_str(path.stem.rsplit("-", 1)[-1]) if path.stem.startswith("session-") else None
        return ctx


def project_path(project_dir: Path) -> str:
    """The project folder a ``tmp/<project>`` folder belongs to: its ``.project_root``
    marker, else the path ``projects.json`` maps to the slug, else the path whose sha256
    is the (pre-v0.29) folder name, else the folder name itself."""
    marked = _read_bytes(project_dir / ".project_root", 4096).decode("utf-8", "replace").strip()
    if marked:
        return clean_str(marked)
    slug = project_dir.name
    registry = load_json(_read_bytes(project_dir.parent.parent / "projects.json"))
    known = registry.get("projects") if isinstance(registry, dict) else None
    if isinstance(known, dict):
        paths = [p for p in known if isinstance(p, str)]
        for p in paths:
            if known[p] == slug:
                return p
        if len(slug) == 64 and set(slug) <= _HASH_CHARS:
            for p in paths:
                if hashlib.sha256(p.encode("utf-8", "replace")).hexdigest() == slug:
                    return p
    return clean_str(slug)


def _read_bytes(path: Path, limit: int = 16 << 20) -> bytes:
    """A small file Gemini CLI writes beside its chats; b"" when missing, unreadable or no
    regular file (a FIFO in its place must not hang the read)."""
    try:
        return read_regular(path, limit) or b""
    except OSError:
        return b""
