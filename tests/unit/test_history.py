"""History grouping: each call on its own local day, ISO weeks, months, projects, models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index_fixtures import CodexWriter, claude_call, claude_project, codex_rollout_path, write
from tokdash.cli import main
from tokdash.model.history import (
    PICO,
    Fact,
    SessionInfo,
    bucket_of,
    filter_facts,
    group,
    history_json,
    period_of,
    to_pico,
)
from tokdash.model.records import Usage

PARIS = ZoneInfo("Europe/Paris")
KATHMANDU = ZoneInfo("Asia/Kathmandu")  # UTC+5:45: quarter-hour offsets exist
NEW_YORK = ZoneInfo("America/New_York")
INFO = {
    ("claude", "s1"): SessionInfo("/home/dev/acme", "acme"),
    ("claude", "s2"): SessionInfo("/home/dev/[red]beta", "[red]beta"),
    ("codex", "r1"): SessionInfo("/srv/api", "api"),
}


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def fact(when: str, agent="claude", sid="s1", model="claude-sonnet-4-5", tokens=100, cost=0.5, unpriced=0) -> Fact:
    return Fact(ts(when), agent, sid, model, Usage(input=tokens, output=tokens // 2), 1, to_pico(cost), unpriced)


def test_periods_follow_the_time_zone_and_iso_weeks():
    sunday_late = ts("2026-03-01T23:30:00+00:00")  # Monday 00:30 in Paris
    assert period_of(sunday_late, "daily", UTC) == ("2026-03-01", date(2026, 3, 1))
    assert period_of(sunday_late, "daily", PARIS) == ("2026-03-02", date(2026, 3, 2))
    assert period_of(sunday_late, "weekly", UTC) == ("2026-W09", date(2026, 2, 23))
    assert period_of(sunday_late, "weekly", PARIS) == ("2026-W10", date(2026, 3, 2))
    # ISO week 1 of 2026 starts on Monday 2025-12-29.
    assert period_of(ts("2025-12-30T12:00:00+00:00"), "weekly", UTC) == ("2026-W01", date(2025, 12, 29))
    assert period_of(ts("2026-02-28T23:59:59+00:00"), "monthly", UTC) == ("2026-02", date(2026, 2, 1))
    assert period_of(ts("2026-02-28T23:59:59+00:00"), "monthly", PARIS) == ("2026-03", date(2026, 3, 1))
    assert period_of(0.0, "daily", UTC) == ("unknown", None)


def test_a_session_over_midnight_splits_across_days():
    facts = [fact("2026-03-02T23:50:00+00:00"), fact("2026-03-03T00:10:00+00:00"),
             fact("2026-03-03T09:00:00+00:00", sid="s2", cost=2.0)]
    rows = group(facts, "daily", INFO, UTC)
    assert [(r.key, r.calls, r.sessions, r.cost) for r in rows] == [
        ("2026-03-02", 1, 1, 0.5),
        ("2026-03-03", 2, 2, 2.5),
    ]
    assert rows[1].session_keys == {("claude", "s1"), ("claude", "s2")}  # what a bar drills down to


def test_projects_and_models_costliest_first_with_unpriced_marked():
    facts = [
        fact("2026-03-02T10:00:00+00:00", sid="s1", cost=1.0),
        fact("2026-03-02T11:00:00+00:00", sid="s2", cost=3.0),
        fact("2026-03-02T12:00:00+00:00", agent="codex", sid="r1", model="mystery-model", cost=0, unpriced=1),
    ]
    projects = group(facts, "projects", INFO, UTC)
    assert [(r.key, r.label) for r in projects] == [
        ("/home/dev/[red]beta", "[red]beta"), ("/home/dev/acme", "acme"), ("/srv/api", "api")]
    models = group(facts, "models", INFO, UTC)
    assert [r.key for r in models] == ["claude-sonnet-4-5", "mystery-model"]
    out = history_json(models, "models")
    assert out["rows"][1]["unpriced_models"] == ["mystery-model"] and out["rows"][1]["cost_partial"] is True
    assert out["totals"]["unpriced_models"] == ["mystery-model"] and out["totals"]["sessions"] == 3


def test_json_names_are_stable():
    out = history_json(group([fact("2026-03-02T10:00:00+00:00")], "weekly", INFO, UTC), "weekly")
    row = out["rows"][0]
    assert list(row) == [
        "period", "start", "input_tokens", "output_tokens", "reasoning_tokens", "cache_write_tokens",
        "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "total_tokens", "web_searches", "api_calls", "cost_usd",
        "cost_partial", "unpriced_models", "sessions", "models",
    ]
    assert row["period"] == "2026-W10" and row["start"] == "2026-03-02"
    assert set(out["totals"]) >= {"input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens",
                                  "total_tokens", "cost_usd", "sessions", "models", "unpriced_models"}
    proj = history_json(group([fact("2026-03-02T10:00:00+00:00")], "projects", INFO, UTC), "projects")
    assert proj["rows"][0]["key"] == "/home/dev/acme" and proj["rows"][0]["project_name"] == "acme"


def test_filters():
    facts = [fact("2026-03-02T10:00:00+00:00"), fact("2026-03-05T10:00:00+00:00", sid="s2"),
             fact("2026-03-05T11:00:00+00:00", agent="codex", sid="r1"), Fact(0.0, "claude", "s1", "m", Usage(1))]
    keep = list(filter_facts(facts, INFO, since=ts("2026-03-03T00:00:00+00:00")))
    assert [f.session_id for f in keep] == ["s2", "r1"]
    assert [f.session_id for f in filter_facts(facts, INFO, agent="codex")] == ["r1"]
    assert [f.session_id for f in filter_facts(facts, INFO, project="BETA")] == ["s2"]
    assert len(list(filter_facts(facts, INFO))) == 4  # no range: calls without a timestamp stay


def test_costs_add_up_in_any_order():
    costs = [0.1, 0.2, 0.3, 1e-7, 12.345678901]
    a = group([fact("2026-03-02T10:00:00+00:00", cost=c) for c in costs], "daily", INFO, UTC)
    b = group([fact("2026-03-02T10:00:00+00:00", cost=c) for c in reversed(costs)], "daily", INFO, UTC)
    assert a[0].cost_pico == b[0].cost_pico == sum(to_pico(c) for c in costs)
    assert abs(a[0].cost - sum(costs)) < 1e-9 and PICO == 10**12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1.7e9, max_value=1.8e9), min_size=1, max_size=30),
       st.sampled_from([UTC, PARIS, KATHMANDU, NEW_YORK, ZoneInfo("Australia/Lord_Howe")]),
       st.sampled_from(["daily", "weekly", "monthly"]))
def test_quarter_hour_buckets_group_like_single_calls(moments, tz, grouping):
    """The index sums calls per UTC quarter hour before grouping; every zone in use is a
    whole number of quarter hours from UTC, so that never moves a call to another day."""
    raw = [Fact(t, "claude", "s1", "m", Usage(input=1), 1, 7) for t in moments]
    buckets: dict[float, Fact] = {}
    for f in raw:
        b = bucket_of(f.ts)
        into = buckets.setdefault(b, Fact(b, "claude", "s1", "m", Usage(), 0, 0))
        into.usage.add(f.usage)
        into.calls += 1
        into.cost_pico += f.cost_pico
    one = history_json(group(raw, grouping, INFO, tz), grouping)
    two = history_json(group(list(buckets.values()), grouping, INFO, tz), grouping)
    assert one == two


# --- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def transcripts(tmp_path, monkeypatch):
    claude, codex = tmp_path / "claude", tmp_path / "codex"
    proj = claude_project(claude)
    sid = "ffff0001-0000-4000-8000-000000000001"
    # 22:30 UTC on Monday 2 March, calls every 20 minutes: the session crosses midnight UTC.
    lines = []
    for i in range(6):
        lines += claude_call(sid, t=i * 1200)
    write(proj / f"{sid}.jsonl", lines)
    cw = CodexWriter("0197a1b2-0000-7000-8000-0000000ff001")
    write(codex_rollout_path(codex, cw.sid), cw.head() + cw.call(t=0) + cw.call(t=4000))
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    return ["--claude-dir", str(claude), "--codex-dir", str(codex)]


def _json(capsys, *args) -> dict:
    assert main(list(args)) == 0
    return orjson.loads(capsys.readouterr().out)


def test_daily_report_splits_by_local_day_and_matches_no_cache(transcripts, capsys):
    utc = _json(capsys, "report", "daily", "--json", "--tz", "UTC", *transcripts)
    assert [(r["period"], r["api_calls"]) for r in utc["rows"]] == [("2026-03-02", 7), ("2026-03-03", 1)]
    tokyo = _json(capsys, "report", "daily", "--json", "--tz", "Asia/Tokyo", *transcripts)
    assert [r["period"] for r in tokyo["rows"]] == ["2026-03-03"]
    assert tokyo["totals"] == utc["totals"]
    assert _json(capsys, "report", "daily", "--json", "--tz", "UTC", "--no-cache", *transcripts) == utc
    # --since / --until are days in the chosen zone; --until includes its whole day.
    only = _json(capsys, "report", "daily", "--json", "--tz", "UTC", "--since", "2026-03-03", *transcripts)
    assert [r["period"] for r in only["rows"]] == ["2026-03-03"]
    first = _json(capsys, "report", "daily", "--json", "--tz", "UTC", "--until", "2026-03-02", *transcripts)
    assert [r["period"] for r in first["rows"]] == ["2026-03-02"]
    codex_only = _json(capsys, "report", "models", "--json", "--agent", "codex", *transcripts)
    assert [r["key"] for r in codex_only["rows"]] == ["gpt-5.3-codex"]
    proj = _json(capsys, "report", "projects", "--json", "--project", "acme", *transcripts)
    assert [r["project_name"] for r in proj["rows"]] == ["acme"]


def test_table_output_and_bad_zone(transcripts, capsys):
    assert main(["report", "weekly", "--tz", "UTC", *transcripts]) == 0
    out = capsys.readouterr().out
    assert "2026-W10" in out and "TOTAL" in out
    assert main(["report", "monthly", "--tz", "Mars/Olympus", *transcripts]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown time zone" in err
