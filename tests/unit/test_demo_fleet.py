"""The demo fleet: every agent CLI in its real format, deterministic for a seed and ``now``,
and a fleet that looks real (tool uses are not turns, one loops, one waits for its human)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tokdash.demo import PLANS, Fleet
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.model.activity import session_status
from tokdash.model.pricing import PriceBook
from tokdash.model.session import summarize
from tokdash.sources import SOURCES

NOW = 1_790_000_000.0


def _dump(root: Path) -> dict[str, object]:
    """Every file of a fleet: JSONL bytes, database rows (a database file's bytes may differ)."""
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        if p.is_dir() or p.name.endswith(("-wal", "-shm")):
            continue
        rel = str(p.relative_to(root))
        if p.suffix == ".db":
            conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
            out[rel] = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            conn.close()
        else:
            out[rel] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    f = Fleet(tmp_path_factory.mktemp("fleet"), now=NOW)
    f.write_history()
    return f


@pytest.fixture(scope="module")
def read(fleet):
    roots = resolve_roots(list(SOURCES), {a: [str(p)] for a, p in fleet.dirs().items()})
    loader = Loader(roots)
    loader.load_all()
    prices = PriceBook()
    return loader, {s.session_id: summarize(s, prices) for s in loader.store.sessions.values()}


def test_deterministic_for_a_seed_and_now(tmp_path, fleet):
    other = Fleet(tmp_path / "b", now=NOW)
    other.write_history()
    assert _dump(other.root) == _dump(fleet.root)
    third = Fleet(tmp_path / "c", now=NOW, seed=8)
    third.write_history()
    assert _dump(third.root) != _dump(fleet.root)


def test_every_agent_is_there_in_its_own_home(fleet, read):
    loader, summaries = read
    assert set(fleet.dirs()) == set(SOURCES)
    assert {s.plan.agent for s in fleet.sessions} == set(SOURCES)
    assert {agent for agent, _sid in loader.store.sessions} == set(SOURCES)
    roots = resolve_roots(list(SOURCES), {a: [str(p)] for a, p in fleet.dirs().items()})
    assert {agent for agent, _p in discover(roots)} == set(SOURCES)
    assert sum(loader.store.bad_lines.values()) == 0
    assert len(summaries) == len(fleet.sessions)
    for s in fleet.sessions:
        got = summaries[s.sid]
        assert got.title == s.plan.prompt
        assert got.api_calls == s.calls + sum(a.calls for a in got.subagents)
        assert got.agent == s.plan.agent


def test_each_transcript_is_in_its_real_format(fleet):
    by = {s.plan.agent: s for s in fleet.sessions}
    gemini = [json.loads(line) for line in by["gemini"].path.read_bytes().splitlines()]
    assert gemini[0]["sessionId"] == by["gemini"].sid and "projectHash" in gemini[0]
    ids = Counter(r["id"] for r in gemini if r.get("type") == "gemini")
    assert min(ids.values()) >= 2  # every update appended again under the same id
    assert any("$set" in r for r in gemini)
    assert (fleet.dirs()["gemini"] / "projects.json").exists()
    qwen = [json.loads(line) for line in by["qwen"].path.read_bytes().splitlines()]
    assert {r["type"] for r in qwen} >= {"user", "assistant", "tool_result"}
    assert all("promptTokenCount" in r["usageMetadata"] for r in qwen if r["type"] == "assistant")
    conn = sqlite3.connect(f"file:{by['opencode'].path}?mode=ro", uri=True)
    parts = Counter(json.loads(d)["type"] for (d,) in conn.execute("SELECT data FROM part"))
    children = conn.execute("SELECT count(*) FROM session WHERE parent_id IS NOT NULL").fetchone()[0]
    conn.close()
    assert parts["step-finish"] and parts["tool"] and parts["text"] and children == 1


def test_the_fleet_looks_real(read):
    _loader, summaries = read
    rows = list(summaries.values())
    assert all(s.tool_use_count != s.assistant_turns for s in rows)  # never one tool per turn
    statuses = Counter(session_status(s.last_activity, s.open, NOW, waiting_since=s.waiting_since) for s in rows)
    live = sum(1 for p in PLANS if p.end_ago is None)
    assert statuses == {"working": live, "waiting": 1, "idle": 1, "done": len(PLANS) - live - 2}
    waiting = next(s for s in rows if s.waiting_since is not None
                   and session_status(s.last_activity, s.open, NOW, waiting_since=s.waiting_since) == "waiting")
    assert 60 < NOW - waiting.waiting_since < 600 and waiting.agent == "opencode"
    assert waiting.subagents  # its sub-agent's child session, one row of its own
    loop = next(s for s in rows if s.title == next(p.prompt for p in PLANS if p.loop))
    assert loop.prompts == 1 and loop.assistant_turns > 100
    assert loop.repeat is not None and loop.repeat[2] == loop.assistant_turns  # the same read, every turn
    qwen = next(s for s in rows if s.agent == "qwen")
    assert qwen.unpriced_models and qwen.cost_partial  # Qwen's own models are not in the price table


def test_every_live_session_appends_in_its_format(tmp_path):
    fleet = Fleet(tmp_path, now=NOW)
    fleet.write_history()
    sizes = {s.path: s.path.stat().st_size for s in fleet.live}
    for s in fleet.live:
        s.next_at = 0
    assert fleet.step(NOW + 10) == len(fleet.live)
    assert all(s.path.stat().st_size > sizes[s.path] for s in fleet.live)
    assert fleet.step(NOW + 10) == 0
