"""The real corpus: per-session token totals equal ccusage's, exactly; the report's JSON contract.

Skipped cleanly when ``../shared/corpus`` is absent. The corpus is read in place, never copied.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from unittest import mock

import orjson
import pytest

from builders import CORPUS, append_bytes, load, prices
from tokdash import cli
from tokdash.ingest import reader as reader_mod
from tokdash.ingest.discovery import discover, resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.ingest.reader import Reader
from tokdash.model.session import summarize
from tokdash.model.store import Store
from tokdash.report.sessions import TOTAL_FIELDS
from tokdash.sources import SOURCES

if not (CORPUS / "expected").is_dir():
    pytest.skip(f"real transcript corpus not found at {CORPUS}", allow_module_level=True)

CLAUDE_DIR = CORPUS / "claude"
CODEX_DIR = CORPUS / "codex"
SUBAGENT_ONLY = "6c2214d7-b87e-4432-8e41-22ba294ea584"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
CONTRACT = {
    "session_id": str, "agent": str, "project": str, "title": str, "paths": list, "models": list,
    "first_activity": str, "last_activity": str, "input_tokens": int, "output_tokens": int,
    "cache_write_tokens": int, "cache_write_1h_tokens": int, "cache_read_tokens": int, "total_tokens": int,
    "cache_hit_rate": float, "cost_usd": (int, float), "unpriced_models": list, "prompts": int,
    "assistant_turns": int, "api_calls": int, "tool_uses": dict, "subagents": list, "context_tokens": int,
}


def expected(agent: str) -> dict:
    return json.loads((CORPUS / "expected" / f"{agent}-sessions.ccusage.json").read_text())


@pytest.fixture(scope="module")
def corpus_files() -> list[tuple[str, Path]]:
    roots = resolve_roots(["claude", "codex"], {"claude": [str(CLAUDE_DIR)], "codex": [str(CODEX_DIR)]})
    assert not roots.problems
    return discover(roots)


@pytest.fixture(scope="module")
def ours(corpus_files):
    """(agent, session id) -> summary, over the whole corpus."""
    store = load([p for _a, p in corpus_files])
    return {(s.agent, s.session_id): s for s in (summarize(x, prices()) for x in store.sessions.values())}


def codex_uuid(ccusage_session_id: str) -> str:
    """ccusage keys a Codex session by its file path; tokdash by the uuid inside it."""
    return ccusage_session_id[-36:]


# --- token totals ---------------------------------------------------------------------------


def test_claude_sessions_equal_ccusage(ours):
    exp = expected("claude")["sessions"]
    assert {("claude", e["sessionId"]) for e in exp} == {k for k in ours if k[0] == "claude"}
    for e in exp:
        s = ours[("claude", e["sessionId"])]
        u = s.usage
        got = {"inputTokens": u.input, "outputTokens": u.output, "cacheCreationTokens": u.cache_write,
               "cacheReadTokens": u.cache_read, "totalTokens": u.total}
        assert got == {k: e[k] for k in got}, e["sessionId"]
        assert set(s.models) == set(e["modelsUsed"]), e["sessionId"]
        for mb in e["modelBreakdowns"]:
            t = s.by_model[mb["modelName"]].usage
            assert (t.input, t.output, t.cache_write, t.cache_read) == (
                mb["inputTokens"], mb["outputTokens"], mb["cacheCreationTokens"], mb["cacheReadTokens"]
            ), (e["sessionId"], mb["modelName"])


def test_codex_sessions_equal_ccusage(ours):
    exp = expected("codex")["sessions"]
    assert {("codex", codex_uuid(e["sessionId"])) for e in exp} == {k for k in ours if k[0] == "codex"}
    for e in exp:
        s = ours[("codex", codex_uuid(e["sessionId"]))]
        u = s.usage
        got = {"inputTokens": u.input, "outputTokens": u.output, "cacheReadTokens": u.cache_read,
               "cacheCreationTokens": u.cache_write, "reasoningOutputTokens": u.reasoning, "totalTokens": u.total}
        assert got == {k: e[k] for k in got}, e["sessionId"]
        assert set(s.models) == set(e["models"]), e["sessionId"]
        for model, m in e["models"].items():
            t = s.by_model[model].usage
            assert (t.input, t.output, t.cache_read, t.reasoning, t.total) == (
                m["inputTokens"], m["outputTokens"], m["cacheReadTokens"], m["reasoningOutputTokens"],
                m["totalTokens"])


@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_grand_totals_equal_ccusage(ours, agent):
    t = expected(agent)["totals"]
    mine = [s for (a, _sid), s in ours.items() if a == agent]
    assert sum(s.usage.input for s in mine) == t["inputTokens"]
    assert sum(s.usage.output for s in mine) == t["outputTokens"]
    assert sum(s.usage.cache_read for s in mine) == t["cacheReadTokens"]
    assert sum(s.usage.total for s in mine) == t["totalTokens"]
    if agent == "claude":
        assert sum(s.usage.cache_write for s in mine) == t["cacheCreationTokens"]
    else:
        assert sum(s.usage.reasoning for s in mine) == t["reasoningOutputTokens"]


def test_the_subagent_only_session_exists(ours):
    s = ours[("claude", SUBAGENT_ONLY)]
    assert [a.agent_id for a in s.subagents] == ["afc096d"]
    assert s.api_calls > 0 and s.usage.total == 497_543
    assert s.project  # the cwd written in the sub-agent's lines
    assert all("/subagents/" in p for p in s.paths)


def test_2_1_sessions_roll_their_subagents_and_compactions_in(ours):
    spotter = [s for (a, _), s in ours.items() if a == "claude" and "spotter" in s.project]
    assert len(spotter) == 6
    with_compact = [s for s in spotter if any(a.agent_id.startswith("acompact-") for a in s.subagents)]
    assert len(with_compact) == 5
    for s in spotter:
        assert sum(a.usage.total for a in s.subagents) <= s.usage.total


def test_1_0_inline_sidechains_and_summary_titles(ours):
    demo = {sid: s for (a, sid), s in ours.items() if a == "claude" and s.project.startswith("/path/to/Demo")}
    assert len(demo) == 3
    assert any(s.subagents and s.subagents[0].agent_id == "sidechain" for s in demo.values())
    assert demo["fe5e1c67-53e7-4862-81ae-d0e013e3270b"].title == "Empty Repo Setup: CLAUDE.md Foundation Created"


# --- order, chunking, re-reading ----------------------------------------------------------------


def _json(store) -> dict:
    return {(s.agent, s.session_id): summarize(s, prices()).to_json() for s in store.sessions.values()}


def test_file_order_and_chunk_size_do_not_change_anything(corpus_files):
    paths = [p for _a, p in corpus_files]
    reference = _json(load(paths))
    with mock.patch.object(reader_mod, "CHUNK", 4093):
        assert _json(load(list(reversed(paths)))) == reference
    assert _json(load(sorted(paths, key=lambda p: p.name))) == reference


@pytest.mark.parametrize("jobs", [1, 2])
def test_reading_everything_twice_changes_nothing(corpus_files, jobs):
    loader = Loader(resolve_roots(["claude", "codex"], {"claude": [str(CLAUDE_DIR)], "codex": [str(CODEX_DIR)]}))
    first = loader.load_all(jobs=jobs)
    assert first.files_read == len(corpus_files) == 26 and first.changed
    before = _json(loader.store)
    again = loader.load_all()
    assert again.files_read == 0 and not again.changed
    assert _json(loader.store) == before


def test_corpus_files_growing_in_pieces_give_the_same_totals(corpus_files, tmp_path):
    """Each real file copied in three pieces cut mid-line, read after each piece, as a live tail."""
    reference = _json(load([p for _a, p in corpus_files]))
    store, reader = Store(), Reader()
    for agent, src in corpus_files:
        rel = src.relative_to(CLAUDE_DIR if agent == "claude" else CODEX_DIR)
        dst = tmp_path / agent / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(b"")
        data = src.read_bytes()
        cuts = [0, len(data) // 3 + 7, 2 * len(data) // 3 + 13, len(data)]
        for a, b in zip(cuts, cuts[1:]):
            append_bytes(dst, data[a:b])
            batch = reader.read(dst, SOURCES[agent])
            if batch is not None:
                store.add_batch(batch, agent)
        batch = reader.read(dst, SOURCES[agent], finalize=True)
        if batch is not None:
            store.add_batch(batch, agent)
    got = _json(store)
    for j in list(got.values()) + list(reference.values()):
        j.pop("paths")
    assert got == reference


# --- the report's JSON contract, through the real CLI ---------------------------------------------


@pytest.fixture(scope="module")
def report_json(tmp_path_factory):
    """``tokdash report sessions --json`` over the corpus, run through ``cli.main`` in-process."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # no user price config
        for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME"):
            mp.delenv(var, raising=False)
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        mp.setattr(sys, "stdout", out)
        status = cli.main(["report", "sessions", "--json", "--claude-dir", str(CLAUDE_DIR),
                           "--codex-dir", str(CODEX_DIR)])
        out.flush()
        raw = out.buffer.getvalue()
    assert status == 0
    return orjson.loads(raw)


def test_cli_json_has_every_contract_field(report_json):
    sessions = report_json["sessions"]
    assert len(sessions) == 15
    for j in sessions:
        for field, typ in CONTRACT.items():
            assert field in j, field
            assert isinstance(j[field], typ), (field, j[field])
        assert ISO_Z.match(j["first_activity"]) and ISO_Z.match(j["last_activity"])
        assert j["first_activity"] <= j["last_activity"]
        assert j["agent"] in ("claude", "codex")
        assert j["total_tokens"] == j["input_tokens"] + j["output_tokens"] + j["cache_write_tokens"] + j[
            "cache_read_tokens"]
        side = j["input_tokens"] + j["cache_write_tokens"] + j["cache_read_tokens"]
        assert j["cache_hit_rate"] == pytest.approx(j["cache_read_tokens"] / side, abs=1e-6)
        assert j["cost_usd"] > 0 and j["unpriced_models"] == []  # every corpus model is priced
        assert j["cache_write_1h_tokens"] <= j["cache_write_tokens"]
        assert j["api_calls"] > 0 and j["api_calls"] >= j["assistant_turns"] >= (j["session_id"] != SUBAGENT_ONLY)
        assert j["models"] and j["paths"]
        for a in j["subagents"]:
            assert {"agent_id", "models", "input_tokens", "output_tokens", "cache_write_tokens",
                    "cache_read_tokens", "total_tokens", "api_calls", "cost_usd"} <= set(a)
    # newest first
    lasts = [j["last_activity"] for j in sessions]
    assert lasts == sorted(lasts, reverse=True)
    assert any(j["session_id"] == SUBAGENT_ONLY for j in sessions)


def test_cli_json_totals_are_the_sums(report_json):
    sessions, totals = report_json["sessions"], report_json["totals"]
    for field in TOTAL_FIELDS:
        assert totals[field] == sum(j[field] for j in sessions), field
    assert totals["sessions"] == len(sessions)
    assert totals["cost_usd"] == pytest.approx(sum(j["cost_usd"] for j in sessions), abs=1e-5)
    side = totals["input_tokens"] + totals["cache_write_tokens"] + totals["cache_read_tokens"]
    assert totals["cache_hit_rate"] == pytest.approx(totals["cache_read_tokens"] / side, abs=1e-6)
    grand = expected("claude")["totals"]["totalTokens"] + expected("codex")["totals"]["totalTokens"]
    assert totals["total_tokens"] == grand


def test_cli_json_matches_ccusage_per_session(report_json):
    by_id = {j["session_id"]: j for j in report_json["sessions"]}
    for e in expected("claude")["sessions"]:
        j = by_id[e["sessionId"]]
        assert (j["input_tokens"], j["output_tokens"], j["cache_write_tokens"], j["cache_read_tokens"],
                j["total_tokens"]) == (e["inputTokens"], e["outputTokens"], e["cacheCreationTokens"],
                                       e["cacheReadTokens"], e["totalTokens"])
    for e in expected("codex")["sessions"]:
        j = by_id[codex_uuid(e["sessionId"])]
        assert (j["input_tokens"], j["output_tokens"], j["cache_read_tokens"], j["reasoning_tokens"],
                j["total_tokens"]) == (e["inputTokens"], e["outputTokens"], e["cacheReadTokens"],
                                       e["reasoningOutputTokens"], e["totalTokens"])


# --- Gemini CLI: the legacy session against ccusage, through the real CLI ----------------------------


def test_gemini_session_equals_ccusage_through_the_cli(tmp_path_factory):
    """ccusage's Gemini ``outputTokens`` leaves thoughts out while its ``totalTokens`` counts
    them (corpus README): input, cache read and the total must equal; output = theirs + thoughts."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("TOKDASH_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        mp.setattr(sys, "stdout", out)
        status = cli.main(["report", "sessions", "--json", "--agent", "gemini", "--gemini-dir",
                           str(CORPUS / "gemini")])
        out.flush()
        got = orjson.loads(out.buffer.getvalue())
    assert status == 0
    exp = expected("gemini")
    by_id = {j["session_id"]: j for j in got["sessions"]}
    assert set(by_id) == {e["sessionId"] for e in exp["sessions"]}
    for e in exp["sessions"]:
        j = by_id[e["sessionId"]]
        assert (j["input_tokens"], j["cache_read_tokens"], j["total_tokens"]) == (
            e["inputTokens"], e["cacheReadTokens"], e["totalTokens"])
        assert j["output_tokens"] - j["reasoning_tokens"] == e["outputTokens"]
        assert j["cache_write_tokens"] == e["cacheCreationTokens"] == 0
        assert j["models"] == e["modelsUsed"] and j["agent"] == "gemini"
        assert j["cost_usd"] > 0 and j["unpriced_models"] == []
    assert got["totals"]["total_tokens"] == exp["totals"]["totalTokens"]
