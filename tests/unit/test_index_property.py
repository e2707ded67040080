"""Property: whatever happens to the files between runs, the index reports what one
never-restarting in-memory reader reports, what a clean rebuild reports, and -- while
no file is deleted -- what ``--no-cache`` reports.

Hypothesis drives random sequences of: new calls (some streamed over several runs),
resumed-session copies, sub-agent calls, Codex token counts, half-written lines,
files rewritten in place, replaced (new inode), shrunk, replaced or rewritten in place
with other content, renamed to another session id, deleted and restored, and report
runs. The rule they follow is ``tokdash.model.store``'s: a file counts what it holds
now; a deleted file keeps what it last held (archived); a renamed file counts under its
new name. At every run:

- the index's sessions equal those of a ``Loader`` that has lived through the whole
  sequence (the TUI's in-memory path; it, too, keeps what deleted files held);
- ``archived`` is exactly the sessions none of whose files exist;
- the sessions equal a clean rebuild of the index (``tokdash index --rebuild`` on a
  copy, which carries over what only the index holds);
- with no file deleted right now, the sessions equal ``--no-cache``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index_fixtures import (
    HAIKU,
    PRICES,
    SONNET,
    CodexWriter,
    claude_call,
    claude_project,
    codex_rollout_path,
    line,
    normalized,
    replace_file,
    roots_for,
    run_index,
    run_memory,
)
from tokdash.ingest.discovery import discover
from tokdash.ingest.index import Index, index_path
from tokdash.ingest.loader import Loader
from tokdash.model.session import summarize

S1 = "eeee0001-0000-4000-8000-000000000001"
S2 = "eeee0002-0000-4000-8000-000000000002"
R1 = "0197a1b2-0000-7000-8000-0000000ee001"
CLAUDE_FILES = ("main1", "main2", "sub1")
FILES = (*CLAUDE_FILES, "rollout")

ops = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.sampled_from(CLAUDE_FILES), st.integers(1, 3), st.integers(0, 2),
                  st.integers(0, 5000)),
        st.tuples(st.just("finish"), st.sampled_from(CLAUDE_FILES)),
        st.tuples(st.just("copy"), st.sampled_from(("main1", "main2")), st.sampled_from(("main1", "main2")),
                  st.integers(0, 20)),
        st.tuples(st.just("codex"), st.integers(1, 3)),
        st.tuples(st.just("half"), st.sampled_from(FILES)),
        st.tuples(st.just("rewrite"), st.sampled_from(FILES)),
        st.tuples(st.just("replace"), st.sampled_from(FILES)),
        st.tuples(st.just("shrink"), st.sampled_from(FILES), st.integers(0, 100)),
        st.tuples(st.just("other"), st.sampled_from(FILES), st.booleans(), st.integers(0, 2)),
        st.tuples(st.just("rename"), st.sampled_from(("main1", "main2", "rollout"))),
        st.tuples(st.just("delete"), st.sampled_from(FILES)),
        st.tuples(st.just("restore"), st.sampled_from(FILES)),
        st.tuples(st.just("run")),
    ),
    min_size=1,
    max_size=14,
)


class World:
    """The files on disk and what they are meant to hold."""

    def __init__(self, root: Path) -> None:
        self.claude = root / "claude"
        self.codex = root / "codex"
        proj = claude_project(self.claude)
        (self.codex / "sessions").mkdir(parents=True)
        self.paths = {
            "main1": proj / f"{S1}.jsonl",
            "main2": proj / f"{S2}.jsonl",
            "sub1": proj / S1 / "subagents" / "agent-a9f3.jsonl",
            "rollout": codex_rollout_path(self.codex, R1),
        }
        self.lines: dict[str, list[bytes]] = {f: [] for f in FILES}
        """Complete lines each file holds (or held, when deleted)."""
        self.calls: dict[str, list[list[bytes]]] = {f: [] for f in FILES}
        self.pending: dict[str, list[bytes]] = {f: [] for f in FILES}
        self.tail: dict[str, bytes] = {f: b"" for f in FILES}
        """The second half of a half-written last line."""
        self.half_line: dict[str, bytes] = {f: b"" for f in FILES}
        self.deleted: set[str] = set()
        self.codex_writer = CodexWriter(R1)
        self.t = 0.0
        self.renames = 0
        self.seen: dict[str, tuple[int, int]] = {}
        """(st_dev, st_ino) of each file at the last run: what the index knows it by."""
        self.ghost = False
        """A file was renamed after being replaced by a new inode the index never saw: to
        the index that is a deletion (the old name keeps its history) and a new file."""

    def ran(self) -> None:
        """A run saw every file as it is now."""
        self.seen = {f: (st.st_dev, st.st_ino) for f, p in self.paths.items() if p.exists() for st in [p.stat()]}

    def _append(self, f: str, data: list[bytes]) -> None:
        if f in self.deleted:
            return
        path = self.paths[f]
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            if self.tail[f]:
                fh.write(self.tail[f])
                self.lines[f].append(self.half_line[f])
                self.tail[f] = b""
            fh.write(b"".join(data))
        self.lines[f].extend(data)

    def apply(self, op: tuple) -> None:
        kind = op[0]
        self.t += 37.0
        if kind == "call":
            _, f, blocks, now, seed = op
            sid = S1 if f in ("main1", "sub1") else S2
            objs = claude_call(sid, t=self.t, blocks=blocks, sidechain=f == "sub1",
                               model=HAIKU if seed % 3 == 0 else SONNET, input=seed % 97, output=10 + seed % 400,
                               cache_write=seed * 3, cache_read=seed * 11, tool=None if seed % 2 else "Edit")
            data = [line(o) for o in objs]
            now = min(now, len(data)) or len(data)
            self._append(f, data[:now])
            self.pending[f].extend(data[now:])
            self.calls[f].append(data)
        elif kind == "finish":
            f = op[1]
            if self.pending[f]:
                data, self.pending[f] = self.pending[f], []
                self._append(f, data)
        elif kind == "copy":
            _, src, dst, pick = op
            if self.calls[src]:
                self._append(dst, self.calls[src][pick % len(self.calls[src])])
        elif kind == "codex":
            if not self.lines["rollout"] and "rollout" not in self.deleted:
                self._append("rollout", [line(o) for o in self.codex_writer.head(self.t)])
            for i in range(op[1]):
                self._append("rollout", [line(o) for o in self.codex_writer.call(t=self.t + i, output=100 + i)])
        elif kind == "half":
            f = op[1]
            if f in self.deleted or self.tail[f] or f == "rollout" and not self.lines[f]:
                return
            if f == "rollout":
                objs = self.codex_writer.call(t=self.t, repeat=False)
            else:
                objs = claude_call(S1 if f != "main2" else S2, t=self.t, blocks=1, sidechain=f == "sub1")
            data = line(objs[0])
            cut = len(data) // 2
            self.paths[f].parent.mkdir(parents=True, exist_ok=True)
            with open(self.paths[f], "ab") as fh:
                fh.write(data[:cut])
            self.tail[f] = data[cut:]
            self.half_line[f] = data
        elif kind in ("rewrite", "replace"):
            f = op[1]
            path = self.paths[f]
            if f in self.deleted or not path.exists():
                return
            content = path.read_bytes()
            if kind == "replace":
                replace_file(path, content)
            else:
                with open(path, "r+b") as fh:
                    fh.truncate(0)
                with open(path, "r+b") as fh:
                    fh.write(content)
        elif kind == "shrink":
            f, pct = op[1], op[2]
            path = self.paths[f]
            if f in self.deleted or not path.exists() or not self.lines[f]:
                return
            keep = len(self.lines[f]) * pct // 100
            if keep == len(self.lines[f]):
                return
            self.lines[f] = self.lines[f][:keep]
            self.tail[f] = b""
            with open(path, "r+b") as fh:
                fh.truncate(sum(len(x) for x in self.lines[f]))
        elif kind == "other":
            # The file now holds something else entirely (a new first line): replaced by a new
            # inode, or rewritten in place (truncated and written, same inode, maybe longer).
            f, new_inode, calls = op[1], op[2], op[3]
            path = self.paths[f]
            if f in self.deleted or not path.exists():
                return
            if f == "rollout":
                self.codex_writer = CodexWriter(R1)
                objs = self.codex_writer.head(self.t)
                for i in range(calls):
                    objs += self.codex_writer.call(t=self.t + i, output=700 + i)
            else:
                sid = S1 if f in ("main1", "sub1") else S2
                objs = [o for i in range(calls + 1)
                        for o in claude_call(sid, t=self.t + i, blocks=2, sidechain=f == "sub1", output=900 + i)]
            data = [line(o) for o in objs]
            self.lines[f], self.tail[f], self.pending[f] = data, b"", []
            self.calls[f] = []
            if new_inode:
                replace_file(path, b"".join(data))
            else:
                with open(path, "r+b") as fh:
                    fh.truncate(0)
                    fh.write(b"".join(data))
        elif kind == "rename":
            # The same file under another name: for a Claude transcript another session id.
            f = op[1]
            path = self.paths[f]
            if f in self.deleted or not path.exists():
                return
            self.renames += 1
            st_ = path.stat()
            if f in self.seen and self.seen[f] != (st_.st_dev, st_.st_ino):
                self.ghost = True
            if f == "rollout":
                new = path.with_name(path.name.replace(".jsonl", f"-r{self.renames}.jsonl"))
            else:
                new = path.with_name(f"eeee00{self.renames:02d}-0000-4000-8000-0000000000f{self.renames % 10}.jsonl")
            os.rename(path, new)
            self.paths[f] = new
        elif kind == "delete":
            f = op[1]
            if f in self.deleted or not self.paths[f].exists():
                return
            self.paths[f].unlink()
            self.deleted.add(f)
            self.tail[f] = b""
        elif kind == "restore":
            f = op[1]
            if f not in self.deleted:
                return
            self.deleted.discard(f)
            replace_file(self.paths[f], b"".join(self.lines[f]))


def _clean_rebuild(roots, data: Path, scratch: Path):
    """``tokdash index --rebuild`` on a copy of the index (carrying over what only it holds)."""
    src = sqlite3.connect(index_path(roots, data))
    scratch.mkdir(exist_ok=True)
    copy_path = scratch / "copy.db"
    if copy_path.exists():
        copy_path.unlink()
    dst = sqlite3.connect(copy_path)
    src.backup(dst)
    src.close()
    dst.close()
    index = Index(copy_path, roots=roots)
    try:
        return index.sync(discover(roots), rebuild=True)
    finally:
        index.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_any_sequence_of_file_changes_matches_a_living_reader_and_a_clean_rebuild(sequence):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        world = World(root)
        roots = roots_for(world.claude, world.codex)
        data = root / "data"
        oracle = Loader(roots)
        for op in [*sequence, ("run",)]:
            if op[0] != "run":
                world.apply(op)
                continue
            result = run_index(roots, data)
            assert result.saved
            oracle.load_all(finalize=True)
            living = [summarize(s, PRICES) for s in oracle.store.sessions.values()]
            assert normalized(result.summaries) == normalized(living)
            gone = {
                s.key for s in oracle.store.sessions.values()
                if s.metas and not any(os.path.exists(p) for p in s.metas)
            }
            assert result.archived == gone
            assert normalized(result.summaries) == normalized(_clean_rebuild(roots, data, root / "scratch").summaries)
            if not world.deleted and not world.ghost:
                assert normalized(result.summaries) == normalized(run_memory(roots))
            world.ran()
