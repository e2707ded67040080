"""Small transcript writers and runners for the index tests (Claude Code and Codex CLI lines).

Shapes follow ``shared/docs/transcript-formats.md``: Claude Code writes one line per
content block of a response (same ``message.id`` and ``requestId``, a growing output
snapshot); Codex writes cumulative ``token_count`` events after a ``session_meta`` and a
``turn_context`` naming the model.
"""

from __future__ import annotations

import itertools
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import Index, SyncResult
from tokdash.ingest.loader import Loader
from tokdash.model.pricing import PriceBook
from tokdash.model.session import SessionSummary, summarize

T0 = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)
"""A Monday evening, UTC: sessions that run for a while cross midnight."""
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"
CODEX_MODEL = "gpt-5.3-codex"
_ids = itertools.count(1)

PRICES = PriceBook()
"""One book for the whole test run (resolving a model the first time is the slow part)."""


def stamp(seconds: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, ``seconds`` after ``T0``."""
    return (T0 + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(obj: dict) -> bytes:
    """One ``\\n``-terminated JSON line."""
    return orjson.dumps(obj) + b"\n"


def next_id(prefix: str) -> str:
    """A fresh id, unique within the test run."""
    return f"{prefix}{next(_ids):012d}"


# --- Claude Code --------------------------------------------------------------------


def claude_project(root: Path, cwd: str = "/home/dev/acme") -> Path:
    """The ``projects/<encoded cwd>`` folder of a Claude config dir."""
    folder = root / "projects" / "".join(c if c.isalnum() else "-" for c in cwd)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def claude_call(
    sid: str,
    *,
    t: float,
    msg: str | None = None,
    req: str | None = None,
    model: str = SONNET,
    input: int = 12,
    output: int = 40,
    cache_write: int = 500,
    cache_read: int = 9000,
    blocks: int = 2,
    cwd: str = "/home/dev/acme",
    sidechain: bool = False,
    tool: str | None = "Read",
) -> list[dict]:
    """One API response as Claude Code writes it: ``blocks`` lines, the output snapshot growing."""
    msg = msg or next_id("msg_01")
    req = req or next_id("req_011C")
    out = []
    for b in range(blocks):
        last = b == blocks - 1
        content = (
            [{"type": "tool_use", "id": f"toolu_{msg}", "name": tool, "input": {"file_path": "/x.py"}}]
            if (tool and last)
            else [{"type": "text", "text": "working on it"}]
        )
        out.append({
            "parentUuid": None,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": cwd,
            "sessionId": sid,
            "version": "2.1.39",
            "gitBranch": "main",
            "type": "assistant",
            "uuid": next_id("u-"),
            "timestamp": stamp(t + b * 0.5),
            "requestId": req,
            "message": {
                "id": msg,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": ("tool_use" if tool else "end_turn") if last else None,
                "usage": {
                    "input_tokens": input,
                    "cache_creation_input_tokens": cache_write,
                    "cache_read_input_tokens": cache_read,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": cache_write},
                    "output_tokens": max(1, output * (b + 1) // blocks),
                    "service_tier": "standard",
                },
            },
        })
    return out


def claude_prompt(sid: str, text: str, *, t: float, cwd: str = "/home/dev/acme") -> dict:
    """A human prompt line."""
    return {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": cwd,
        "sessionId": sid,
        "version": "2.1.39",
        "gitBranch": "main",
        "type": "user",
        "message": {"role": "user", "content": text},
        "uuid": next_id("u-"),
        "timestamp": stamp(t),
    }


# --- Codex CLI ------------------------------------------------------------------------


def codex_rollout_path(root: Path, sid: str, day: str = "2026/03/02") -> Path:
    """``<codex home>/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``."""
    folder = root / "sessions" / day
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"rollout-2026-03-02T22-30-00-{sid}.jsonl"


class CodexWriter:
    """Lines of one rollout, keeping the cumulative total as Codex does."""

    def __init__(self, sid: str, cwd: str = "/home/dev/codex-proj") -> None:
        self.sid = sid
        self.cwd = cwd
        self.total = [0, 0, 0, 0]

    def head(self, t: float = 0.0) -> list[dict]:
        """``session_meta`` and ``turn_context``."""
        return [
            {"timestamp": stamp(t), "type": "session_meta",
             "payload": {"id": self.sid, "cwd": self.cwd, "cli_version": "0.104.0", "originator": "codex_cli_rs"}},
            {"timestamp": stamp(t), "type": "turn_context", "payload": {"cwd": self.cwd, "model": CODEX_MODEL}},
        ]

    def call(self, *, t: float, input: int = 3000, cached: int = 2000, output: int = 300, repeat: bool = True) -> list[dict]:
        """One request's ``token_count`` (emitted twice, as Codex often does)."""
        self.total = [self.total[0] + input, self.total[1] + cached, self.total[2] + output, self.total[3]]
        last = {"input_tokens": input, "cached_input_tokens": cached, "output_tokens": output,
                "reasoning_output_tokens": 0, "total_tokens": input + output}
        tot = {"input_tokens": self.total[0], "cached_input_tokens": self.total[1], "output_tokens": self.total[2],
               "reasoning_output_tokens": 0, "total_tokens": self.total[0] + self.total[2]}
        ev = {"timestamp": stamp(t), "type": "event_msg",
              "payload": {"type": "token_count", "info": {"total_token_usage": tot, "last_token_usage": last}}}
        return [ev, ev] if repeat else [ev]


# --- files ---------------------------------------------------------------------------------


def write(path: Path, objs: list[dict], *, append: bool = True) -> int:
    """Append (or write) lines; returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(line(o) for o in objs)
    with open(path, "ab" if append else "wb") as f:
        f.write(data)
    return len(data)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and rename it over ``path`` (a new inode, as editors and copies do)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def cli_roots(claude: Path | None = None, codex: Path | None = None) -> Roots:
    """The roots the command line resolves for ``--claude-dir claude --codex-dir codex``: every
    agent of the registry (the others at their defaults), i.e. the roots of the index file the
    CLI uses."""
    import argparse

    from tokdash.cli.common import roots_for as cli_roots_for
    from tokdash.sources import SOURCES

    ns = argparse.Namespace(**{f"{name}_dir": None for name in SOURCES})
    ns.claude_dir = [str(claude)] if claude is not None else None
    ns.codex_dir = [str(codex)] if codex is not None else None
    return cli_roots_for(list(SOURCES), ns)


def roots_for(claude: Path | None = None, codex: Path | None = None) -> Roots:
    """Roots naming exactly these dirs."""
    by = {}
    if claude is not None:
        by["claude"] = [claude]
    if codex is not None:
        by["codex"] = [codex]
    return Roots(by_agent=by)


# --- running -------------------------------------------------------------------------------


def run_index(roots: Roots, data: Path, **kwargs) -> SyncResult:
    """One tokdash run through the index (a fresh process would do exactly this)."""
    index = Index.for_roots(roots, data, **kwargs)
    try:
        return index.sync(discover(roots))
    finally:
        index.close()


def run_memory(roots: Roots) -> list[SessionSummary]:
    """``--no-cache``: every file read afresh into an in-memory store."""
    loader = Loader(roots)
    loader.load_all(finalize=True)
    return [summarize(s, PRICES) for s in loader.store.sessions.values()]


class Near(float):
    """A float equal to any float within 1e-9 (relative): costs are float sums whose last
    bits depend on the order the calls were added in."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and abs(self - other) <= 1e-9 * max(1.0, abs(self))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = float.__hash__


def normalized(summaries: list[SessionSummary], skip: set | frozenset = frozenset()) -> dict:
    """Session key -> its JSON, comparable across runs.

    ``models`` order is decided by token totals only (ties keep arrival order), so it is
    sorted; costs are taken unrounded and compared with a tolerance, because a session's
    cost is a float sum and the JSON rounds it to 6 decimals (a sum in another order can
    land on the other side of a rounding boundary).
    """
    out = {}
    for s in summaries:
        key = (s.agent, s.session_id)
        if key in skip:
            continue
        j = s.to_json()
        j["models"] = sorted(j["models"])
        j["cost_usd"] = Near(s.cost)
        for m, t in s.by_model.items():
            j["by_model"][m]["cost_usd"] = Near(t.cost) if t.priced else None
        for sub, a in zip(j["subagents"], s.subagents, strict=True):
            sub["models"] = sorted(sub["models"])
            sub["cost_usd"] = Near(a.cost)
        out[key] = j
    return out


def totals(summaries: list[SessionSummary], skip: set | frozenset = frozenset()) -> dict:
    """Token totals and cost over sessions."""
    keep = [s for s in summaries if (s.agent, s.session_id) not in skip]
    return {
        "input": sum(s.usage.input for s in keep),
        "output": sum(s.usage.output for s in keep),
        "cache_write": sum(s.usage.cache_write for s in keep),
        "cache_read": sum(s.usage.cache_read for s in keep),
        "calls": sum(s.api_calls for s in keep),
        "cost": Near(math.fsum(s.cost for s in keep)),
        "sessions": len(keep),
    }
