"""Plan windows: classification, Codex rollout tails, the status line's rate_limits, the snapshot file."""

from __future__ import annotations

import io
import os
import stat
import time

import orjson
import pytest

from tests.unit.builders import CodexRollout, codex_id, codex_rollout_path, stamp
from tokdash.ingest import plan_limits
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.history import Fact
from tokdash.model.limits import (
    ESTIMATE,
    OFFICIAL,
    PlanWindow,
    estimate_block,
    from_raw,
    statusline_windows,
    window_label,
)
from tokdash.model.records import Usage
from tokdash.sources import SOURCES
from tokdash.sources import codex_limits
from tokdash.sources.codex_limits import snapshot_of

CODEX = SOURCES["codex"]
NOW = time.time()


def _limits(primary, secondary=None, **extra) -> dict:
    return {"limit_id": "codex", "limit_name": None, "primary": primary, "secondary": secondary,
            "credits": {"has_credits": False, "unlimited": False, "balance": None}, "plan_type": None, **extra}


def _window(used, minutes, resets=None) -> dict:
    return {"used_percent": used, "window_minutes": minutes, "resets_at": resets}


def _token_count(rollout: CodexRollout, rate_limits, at: str | None = None) -> dict:
    rollout.call()
    line = rollout.lines[-1]
    line["payload"]["rate_limits"] = rate_limits
    if at is not None:
        line["timestamp"] = at
    return line


@pytest.mark.parametrize(("minutes", "label"), [(300, "5h"), (10080, "7d"), (60, "1h"), (43200, "30d"),
                                                (90, "90m"), (None, None), (0, None)])
def test_windows_are_named_by_their_length(minutes, label):
    assert window_label(minutes) == label


def test_a_weekly_only_primary_is_the_weekly_window_not_the_five_hour_one():
    line = {"timestamp": stamp(0), "type": "event_msg",
            "payload": {"type": "token_count", "info": None,
                        "rate_limits": _limits(_window(12.0, 10080, NOW + 86400), None)}}
    seen, raws = snapshot_of(line, NOW)
    windows = [from_raw("codex", r, seen) for r in raws]
    assert [(w.window, w.used_percent) for w in windows if w] == [("7d", 12.0)]


@pytest.mark.parametrize("limits", [None, _limits(None, None),
                                    _limits({"used_percent": 0.0, "window_minutes": 0, "resets_at": 0}, None),
                                    _limits(_window(0, 0), _window(0.0, None)), "garbage"])
def test_null_and_all_zero_snapshots_are_no_reading(limits):
    line = {"timestamp": stamp(0), "type": "event_msg", "payload": {"type": "token_count", "rate_limits": limits}}
    assert snapshot_of(line, NOW) is None


def test_legacy_resets_in_seconds_counts_from_the_line():
    raw = {"used_percent": 30, "window_minutes": 300, "resets_in_seconds": 600}
    w = from_raw("codex", raw, 1000.0)
    assert w.window == "5h" and w.resets_at == 1600.0 and w.source == OFFICIAL


def test_the_newest_real_snapshot_wins_over_later_placeholders_and_older_files(tmp_path):
    home = tmp_path / "codex"
    old = CodexRollout(codex_id(1))
    old.session_meta()
    _token_count(old, _limits(_window(80.0, 300, NOW + 100), _window(50.0, 10080, NOW + 9000)), at=stamp(10))
    old_path = old.write(codex_rollout_path(home, codex_id(1), 0))
    new = CodexRollout(codex_id(2), clock=100)
    new.session_meta()
    _token_count(new, _limits(_window(42.0, 300, NOW + 3600), _window(12.0, 10080, NOW + 86400)), at=stamp(200))
    _token_count(new, _limits(_window(0.0, 0, 0), None), at=stamp(300))  # a placeholder after the real one
    new_path = new.write(codex_rollout_path(home, codex_id(2), 100))
    os.utime(old_path, (NOW - 500, NOW - 500))
    os.utime(new_path, (NOW - 10, NOW - 10))
    got = {w.window: w for w in CODEX.plan_windows([home], NOW)}
    assert (got["5h"].used_percent, got["7d"].used_percent) == (42.0, 12.0)
    assert got["5h"].observed_at == pytest.approx(time_of(stamp(200)))


def test_only_the_tail_is_read_and_it_grows_when_it_holds_no_snapshot(tmp_path, monkeypatch):
    home = tmp_path / "codex"
    r = CodexRollout(codex_id(3))
    r.session_meta()
    _token_count(r, _limits(_window(7.0, 300, NOW + 3600)), at=stamp(5))
    for _ in range(40):  # ~40 KB of lines without rate_limits after it
        r.tool_output(r.tool(), output="x" * 1000)
    path = r.write(codex_rollout_path(home, codex_id(3), 0))
    monkeypatch.setattr(codex_limits, "TAIL", 4096)
    reads = []
    real = codex_limits.newest_in

    def spy(data, **kw):
        reads.append(len(data))
        return real(data, **kw)

    monkeypatch.setattr(codex_limits, "newest_in", spy)
    codex_limits._memo.clear()
    [w] = CODEX.plan_windows([home], NOW)
    assert w.used_percent == 7.0
    assert reads[0] == 4096 and len(reads) > 1 and reads[-1] <= path.stat().st_size
    reads.clear()
    CODEX.plan_windows([home], NOW)
    assert reads == []  # unchanged file: the answer is remembered


def test_status_line_rate_limits_are_read_leniently():
    raw = {"five_hour": {"used_percentage": "42.5", "resets_at": str(int(NOW) + 60)},
           "seven_day": {"used_percentage": 12},
           "seven_day_opus": {"used_percentage": 3, "resets_at": (NOW + 99) * 1000},  # milliseconds
           "seven_day_weird name": {"used_percentage": 9},
           "five_hour_null": None,
           "bogus": {"used_percentage": True}}
    got = {w.window: w for w in statusline_windows("claude", raw, NOW)}
    assert set(got) == {"5h", "7d", "7d-opus"}
    assert got["5h"].used_percent == 42.5 and got["5h"].resets_at == int(NOW) + 60
    assert got["7d"].resets_at is None and got["7d-opus"].resets_at == pytest.approx(NOW + 99)
    assert statusline_windows("claude", None, NOW) == [] and statusline_windows("claude", {"five_hour": {}}, NOW) == []


def test_snapshots_persist_privately_and_the_newest_per_window_wins(isolated_env):
    first = PlanWindow("claude", "5h", 40.0, NOW + 3600, NOW - 60)
    assert plan_limits.record([first])
    path = plan_limits.snapshot_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    older = PlanWindow("claude", "5h", 10.0, NOW + 3600, NOW - 600)
    assert not plan_limits.record([older])  # seen before the stored one: ignored
    newer = PlanWindow("claude", "5h", 55.0, NOW + 3600, NOW)
    week = PlanWindow("claude", "7d", 5.0, None, NOW)
    assert plan_limits.record([newer, week])
    assert {(w.window, w.used_percent) for w in plan_limits.stored()} == {("5h", 55.0), ("7d", 5.0)}
    path.write_bytes(b"{not json")
    assert plan_limits.stored() == []
    assert plan_limits.record([newer]) and plan_limits.stored() == [newer]


def test_official_merges_sources_and_snapshots_and_drops_windows_that_reset(isolated_env, tmp_path):
    home = tmp_path / "codex"
    r = CodexRollout(codex_id(4))
    r.session_meta()
    _token_count(r, _limits(_window(20.0, 300, NOW - 5), _window(30.0, 10080, NOW + 5000)), at=stamp(1))
    r.write(codex_rollout_path(home, codex_id(4), 0))
    plan_limits.record([PlanWindow("claude", "5h", 61.0, NOW + 100, NOW)])
    roots = resolve_roots(["claude", "codex"], {"claude": [str(tmp_path / "c")], "codex": [str(home)]})
    live = {(w.agent, w.window): w.used_percent for w in plan_limits.official(roots, NOW)}
    assert live == {("claude", "5h"): 61.0, ("codex", "7d"): 30.0}  # codex's 5h window reset 5 s ago
    every = plan_limits.official(roots, NOW, expired=True)
    assert ("codex", "5h") in {(w.agent, w.window) for w in every}
    assert plan_limits.without_official(["claude", "codex", "gemini"], every) == ["gemini"]


def _fact(ts: float, tokens: int, pico: int, agent: str = "claude") -> Fact:
    return Fact(ts, agent, "s", "m", Usage(input=tokens), 1, pico, 0)


def test_the_five_hour_estimate_starts_at_the_hour_after_a_quiet_spell():
    base = 1_800_000_000 - 1_800_000_000 % 3600  # a top of the hour
    facts = [_fact(base - 8 * 3600, 5, 1), _fact(base + 1200, 100, 2 * 10**12), _fact(base + 7000, 50, 10**12),
             _fact(base + 7200, 999, 1, agent="codex")]
    w = estimate_block("claude", facts, base + 9000)
    assert w.source == ESTIMATE and w.used_percent is None  # never a share: the plan's limit is unknown
    assert w.resets_at == base + 5 * 3600 and w.tokens == 150 and w.cost_usd == pytest.approx(3.0)
    assert estimate_block("claude", facts, base + 5 * 3600 + 1) is None  # the block is over
    assert w.to_json()["source"] == "estimate"


def test_report_limits_json_contract(isolated_env, tmp_path, capsys, monkeypatch):
    from tokdash.cli import main

    home = tmp_path / "codex"
    r = CodexRollout(codex_id(5))
    r.session_meta()
    _token_count(r, _limits(_window(42.0, 300, NOW + 3600), _window(12.0, 10080, NOW + 86400)), at=stamp(1))
    r.write(codex_rollout_path(home, codex_id(5), 0))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["report", "limits", "--json", "--agent", "codex", "--codex-dir", str(home), "--no-cache"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert [(x["window"], x["used_percent"], x["source"]) for x in out["limits"]] == [
        ("5h", 42.0, "official"), ("7d", 12.0, "official")]
    assert set(out["limits"][0]) >= {"agent", "window", "used_percent", "resets_at", "observed_at", "source"}
    assert out["no_official"] == []
    assert main(["report", "limits", "--agent", "codex", "--codex-dir", str(tmp_path / "none"), "--no-cache"]) == 0
    assert "No plan windows known" in capsys.readouterr().out


def test_codex_corpus_gives_its_newest_real_snapshot(corpus):
    """Against a full scan of every rollout of the real corpus."""
    best = None
    for path in (corpus / "codex").rglob("rollout-*.jsonl"):
        for line in path.read_bytes().splitlines():
            if b"rate_limits" in line:
                snap = snapshot_of(orjson.loads(line), float("inf"))
                if snap is not None and (best is None or snap[0] > best[0]):
                    best = snap
    codex_limits._memo.clear()
    got = CODEX.plan_windows([corpus / "codex"], float("inf"))
    assert best is not None and {w.observed_at for w in got} == {best[0]}
    assert {w.window for w in got} == {"5h", "7d"}


def time_of(text: str) -> float:
    from tokdash.sources.base import parse_ts

    return parse_ts(text)


def test_report_limits_leaves_out_agents_without_plan_windows(isolated_env, tmp_path, capsys, monkeypatch):
    """Gemini CLI bills per token: no window to report, none to estimate, nothing "missing"."""
    from tests.unit.agent_builders import GeminiChat, gemini_chat_path, gemini_id
    from tokdash.cli import main

    home = tmp_path / "gemini"
    chat = GeminiChat(gemini_id(3))
    chat.user("go")
    chat.respond()
    chat.write(gemini_chat_path(home, "proj", chat.session_id))
    assert not SOURCES["gemini"].has_plan_windows
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert main(["report", "limits", "--json", "--agent", "gemini", "--gemini-dir", str(home), "--no-cache"]) == 0
    assert orjson.loads(capsys.readouterr().out) == {"limits": [], "no_official": []}
