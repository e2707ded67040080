"""The fleet: every planned session written up to ``now``, then the live ones kept working.

``write_history()`` lays down the past, deterministic for a seed and a ``now`` (tests and
snapshots use it with a frozen clock); ``start()`` then keeps the live sessions working on
a background thread, appending calls at a realistic pace (a call every few seconds per
agent) until ``stop()``.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from tokdash.demo.claude import ClaudeWriter
from tokdash.demo.codex import CodexWriter
from tokdash.demo.gemini import GeminiWriter
from tokdash.demo.opencode import OpenCodeWriter
from tokdash.demo.plans import PLANS, Plan
from tokdash.demo.qwen import QwenWriter
from tokdash.demo.session import DemoSession, Out

WRITERS = {"claude": ClaudeWriter, "codex": CodexWriter, "gemini": GeminiWriter, "opencode": OpenCodeWriter,
           "qwen": QwenWriter}
"""One transcript writer per agent CLI, each in its real format."""
HOMES = {"claude": "claude", "codex": "codex", "gemini": "gemini", "opencode": "opencode", "qwen": "qwen"}
"""Each agent's home under the fleet's root (what ``--<agent>-dir`` takes)."""


def write(out: Out) -> list[Path]:
    """Apply one moment's writes as the CLIs do (whole lines in one ``write`` per file, a
    database's rows in one transaction); returns the files written."""
    for path, data in out.files.items():
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for path, chunk in out.lines.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fp:
            fp.write(b"".join(chunk))
    for db, statements in out.sql.items():
        db.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # as OpenCode opens it
            conn.execute("BEGIN IMMEDIATE")
            for statement, params in statements:
                conn.execute(statement, params)
            conn.execute("COMMIT")
        finally:
            conn.close()
    return [*out.lines, *out.sql]


class Fleet:
    """Several agents working in parallel, writing transcripts under ``root``.

    ``root/<agent>`` is each agent's home (``root/claude`` a Claude config dir holding
    ``projects/``, ``root/codex`` a Codex home, ``root/gemini`` a Gemini CLI home,
    ``root/opencode`` an OpenCode data dir, ``root/qwen`` a Qwen Code home): see ``dirs``.
    """

    def __init__(self, root: Path | str, *, seed: int = 7, now: float | None = None, pace: float = 1.0,
                 plans: tuple[Plan, ...] = PLANS) -> None:
        self.root = Path(root)
        self.now = time.time() if now is None else now
        """The moment ``write_history`` writes up to; live appends continue from the wall clock."""
        self.pace = pace
        """Speed factor of the live thread: 2.0 makes calls twice as often."""
        self.sessions: list[DemoSession] = []
        self.live: list[DemoSession] = []
        for i, plan in enumerate(plans):
            rng = random.Random(f"{seed}:{i}")
            s = DemoSession(plan, self.root, rng, self.now - plan.start_ago, WRITERS[plan.agent])
            self.sessions.append(s)
            if plan.end_ago is None:
                self.live.append(s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.appended = 0
        """Calls appended by the live thread so far."""

    @property
    def claude_dir(self) -> Path:
        """The Claude config dir to point tokdash at."""
        return self.root / "claude"

    @property
    def codex_dir(self) -> Path:
        """The Codex home to point tokdash at."""
        return self.root / "codex"

    def dirs(self) -> dict[str, Path]:
        """Each agent's home in the fleet, by agent name (what ``--<agent>-dir`` takes)."""
        return {agent: self.root / home for agent, home in HOMES.items()}

    def write_history(self) -> None:
        """Write every session's past, up to ``now`` (deterministic for a seed and ``now``)."""
        (self.root / "claude" / "projects").mkdir(parents=True, exist_ok=True)
        (self.root / "codex" / "sessions").mkdir(parents=True, exist_ok=True)
        mtimes: dict[Path, float] = {}
        for s in self.sessions:
            end = self.now - s.plan.end_ago if s.plan.end_ago is not None else self.now - 2.0
            out = Out()
            last = s.next_at
            while s.next_at < end:
                last = s.next_at
                out.merge(s.step(s.next_at))
            if s.plan.end_ago is not None and s.plan.ends == "turn":
                # It stopped because its turn was over: the agent waits for its human.
                last = max(last + 1.0, end - 3.0)
                out.merge(s.finish(last))
            elif s.plan.end_ago is None and s.turn_left <= 0:
                # A live session caught between two turns: its human has just typed the next
                # prompt, so that every live agent is working at ``now``.
                last = max(last + 1.0, end - 1.0)
                out.merge(s.step(last))
            for path in write(out):
                # Keep each file's mtime at its last write, as a real transcript's would be.
                mtimes[path] = max(mtimes.get(path, 0.0), min(last + 2.0, self.now))
        for path, mtime in mtimes.items():
            os.utime(path, (mtime, mtime))

    def step(self, now: float) -> int:
        """Append every live call due by ``now``; returns how many calls were written."""
        n = 0
        with self._lock:
            for s in self.live:
                if s.next_at < self.now:
                    s.next_at = self.now  # the history ended just before now: resume from there
                if s.next_at <= now:
                    write(s.step(now))
                    # Pace scales the gap the session just chose.
                    s.next_at = now + (s.next_at - now) / self.pace
                    n += 1
        self.appended += n
        return n

    def start(self) -> None:
        """Keep the live sessions working on a background thread until :meth:`stop`."""
        if self._thread is not None:
            return
        self.now = time.time()
        for s in self.live:
            # Resume promptly: a newcomer should see every live agent spend within seconds.
            s.next_at = min(s.next_at, self.now + s.rng.uniform(*s.plan.interval))
        self._thread = threading.Thread(target=self._run, name="tokdash-demo-fleet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            self.step(now)
            due = min((s.next_at for s in self.live), default=now + 1.0)
            self._stop.wait(max(0.05, min(due - time.time(), 1.0)))

    def stop(self) -> None:
        """Stop appending and wait for the thread to finish its current write."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
