"""OpenCode v1.2 sessions, in its SQLite database as OpenCode writes it.

``<root>/opencode/opencode.db`` (WAL) with the tables of ``session/session.sql.ts``: a
``session`` row (``parent_id`` for a sub-agent's child session), a ``message`` row per user
prompt and per assistant response (one API call, its ``tokens`` in ``data``, ``cost`` 0 as
on a subscription), and ``part`` rows (the prompt's text, ``step-start``, one ``tool`` part
per tool call, ``step-finish`` repeating the tokens). The turn ends with ``finish: "stop"``.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from tokdash.demo.session import DemoSession, Out, Spec

VERSION = "1.2.10"
WINDOW = 200_000
SUBAGENT_MODEL = "claude-haiku-4-5"
_TOOLS = {"read": "read", "edit": "edit", "write": "write", "shell": "bash", "search": "grep", "glob": "glob"}
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS project (id text PRIMARY KEY, worktree text NOT NULL, vcs text, name text, "
    "time_created integer NOT NULL, time_updated integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS session (id text PRIMARY KEY, project_id text NOT NULL, workspace_id text, "
    "parent_id text, slug text NOT NULL, directory text NOT NULL, path text, title text NOT NULL, "
    "version text NOT NULL, share_url text, cost real NOT NULL DEFAULT 0, time_created integer NOT NULL, "
    "time_updated integer NOT NULL, time_compacting integer, time_archived integer)",
    "CREATE TABLE IF NOT EXISTS message (id text PRIMARY KEY, session_id text NOT NULL, "
    "time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS message_session_time_created_id_idx ON message (session_id, time_created, id)",
    "CREATE TABLE IF NOT EXISTS part (id text PRIMARY KEY, message_id text NOT NULL, session_id text NOT NULL, "
    "time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL)",
    "CREATE INDEX IF NOT EXISTS part_message_id_id_idx ON part (message_id, id)",
)


def _ms(ts: float) -> int:
    return int(ts * 1000)


def _json(obj: dict) -> str:
    return orjson.dumps(obj).decode()


class OpenCodeWriter:
    """Writes one OpenCode session (and its sub-agents' child sessions) into the fleet's database."""

    window = WINDOW

    def __init__(self, s: DemoSession, root: Path, start: float) -> None:
        self.s = s
        self.session_id = "ses_" + s.b62(26)
        self.db = root / "opencode" / "opencode.db"
        self.path = self.db
        self.sub_path = self.db  # child sessions live in the same database
        self.child: str | None = None
        self.user_msg = ""

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{self.s.b62(26)}"

    def _session(self, out: Out, sid: str, ts: float, title: str, parent: str | None) -> None:
        cwd = self.s.plan.cwd
        for statement in SCHEMA:
            out.execute(self.db, statement)
        out.execute(self.db, "INSERT OR IGNORE INTO project VALUES (?, ?, 'git', ?, ?, ?)",
                    ("prj_" + cwd.strip("/").replace("/", "_"), cwd, Path(cwd).name, _ms(ts), _ms(ts)))
        out.execute(self.db, "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, "
                             "time_created, time_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, "prj_" + cwd.strip("/").replace("/", "_"), parent, "brave-otter", cwd, title, VERSION,
                     _ms(ts), _ms(ts)))

    def _message(self, out: Out, sid: str, mid: str, ts: float, updated: float, data: dict) -> None:
        out.execute(self.db, "INSERT INTO message VALUES (?, ?, ?, ?, ?)", (mid, sid, _ms(ts), _ms(updated),
                                                                             _json(data)))
        out.execute(self.db, "UPDATE session SET time_updated = ? WHERE id = ?", (_ms(updated), sid))

    def _part(self, out: Out, sid: str, mid: str, ts: float, data: dict) -> None:
        out.execute(self.db, "INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                    (self._id("prt"), mid, sid, _ms(ts), _ms(ts), _json(data)))

    def prompt(self, ts: float, text: str, first: bool, out: Out) -> None:
        """The session row first (OpenCode titles it from the first prompt), then the prompt."""
        if first:
            self._session(out, self.session_id, ts, self.s.plan.prompt, None)
        self.user_msg = mid = self._id("msg")
        self._message(out, self.session_id, mid, ts, ts, {
            "role": "user", "time": {"created": _ms(ts)}, "agent": "build",
            "model": {"providerID": "anthropic", "modelID": self.s.plan.model}})
        self._part(out, self.session_id, mid, ts, {"type": "text", "text": text})

    def _assistant(self, out: Out, sid: str, ts: float, tokens: dict, tools: list[tuple[str, dict]], finish: str,
                   model: str, agent: str) -> None:
        mid = self._id("msg")
        done = ts + 2.0
        self._part(out, sid, mid, ts, {"type": "step-start"})
        for i, (name, args) in enumerate(tools):
            self._part(out, sid, mid, ts + 0.1 * i, {
                "type": "tool", "callID": "toolu_01" + self.s.b62(22), "tool": name,
                "state": {"status": "completed", "input": args, "output": "ok", "title": name, "metadata": {},
                          "time": {"start": _ms(ts), "end": _ms(ts + 0.5)}}})
        self._part(out, sid, mid, done, {"type": "step-finish", "reason": finish, "cost": 0, "tokens": tokens})
        cwd = self.s.plan.cwd
        self._message(out, sid, mid, ts, done, {
            "role": "assistant", "time": {"created": _ms(ts), "completed": _ms(done)}, "parentID": self.user_msg,
            "modelID": model, "providerID": "anthropic", "mode": agent, "agent": agent,
            "path": {"cwd": cwd, "root": cwd}, "cost": 0, "tokens": tokens, "finish": finish})

    def _args(self, kind: str, target: str) -> dict:
        cwd = self.s.plan.cwd
        if kind == "shell":
            return {"command": target, "description": "Run " + target.split()[0]}
        if kind in ("search", "glob"):
            return {"pattern": target, "path": cwd}
        if kind == "edit":
            return {"filePath": f"{cwd}/{target}", "oldString": "jwt.decode(", "newString": "jwt.verify("}
        return {"filePath": f"{cwd}/{target}"}

    def call(self, spec: Spec, out: Out) -> None:
        """One assistant message: the call's tokens, its tool parts, a step-finish repeating them."""
        s = self.s
        inp = s.rng.randint(1, 6)  # Anthropic's input_tokens: the uncached part only
        tokens = {"total": inp + spec.output + spec.context + spec.new, "input": inp, "output": spec.output,
                  "reasoning": 0, "cache": {"read": spec.context, "write": spec.new}}
        tools = [(_TOOLS[kind], self._args(kind, target)) for kind, target in spec.tools]
        self._assistant(out, self.session_id, spec.ts, tokens, tools, "stop" if spec.final else "tool-calls",
                        s.plan.model, "build")

    def turn_end(self, ts: float, out: Out) -> None:
        """Nothing more: the last message finished with ``stop``."""

    def compaction(self, ts: float, pre: int, out: Out) -> None:
        """Not simulated (OpenCode's compaction is a summary call of its own)."""

    def subagent(self, ts: float, out: Out) -> None:
        """A ``task`` sub-agent: a child session of its own, one Haiku call."""
        s = self.s
        if self.child is None:
            self.child = "ses_" + s.b62(26)
            self._session(out, self.child, ts, "Trace where the session token is logged (@explore subagent)",
                          self.session_id)
            mid = self._id("msg")
            self._message(out, self.child, mid, ts, ts, {"role": "user", "time": {"created": _ms(ts)},
                                                         "agent": "explore", "model": {"providerID": "anthropic",
                                                                                       "modelID": SUBAGENT_MODEL}})
            self._part(out, self.child, mid, ts, {"type": "text", "text": "Find every place the token is logged."})
        read = s.rng.randint(10_000, 18_000)
        write = s.rng.randint(800, 4000)
        output = s.rng.randint(40, 400)
        tokens = {"total": 3 + output + read + write, "input": 3, "output": output, "reasoning": 0,
                  "cache": {"read": read, "write": write}}
        self._assistant(out, self.child, ts + 0.2, tokens, [("grep", {"pattern": "token", "path": s.plan.cwd})],
                        "tool-calls", SUBAGENT_MODEL, "explore")
