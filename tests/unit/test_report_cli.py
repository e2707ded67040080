"""``tokdash report sessions``: filters, exit statuses, one-line errors, plain-text output."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from builders import (
    T0,
    ClaudeSession,
    CodexRollout,
    claude_main_path,
    codex_id,
    codex_rollout_path,
    sid,
    usage_dict,
)
from tokdash import cli
from tokdash.format import fmt_cost, fmt_rate, fmt_tokens
from tokdash.report.sessions import filter_rows, judge, sessions_json, sessions_table

pytestmark = pytest.mark.usefixtures("isolated_env")


def at(*args) -> float:
    """Builder clock (seconds after T0) of a UTC wall time."""
    return (datetime(*args, tzinfo=UTC) - T0).total_seconds()


J, M, F = sid(0x11), sid(0x22), codex_id(0x33)
"""January Claude session (acme-api), March Claude session (blog), February Codex session (shop)."""


@pytest.fixture
def tree(tmp_path: Path) -> dict:
    claude_dir, codex_dir = tmp_path / "claude", tmp_path / "codex"
    jan = ClaudeSession(J, cwd="/home/dev/acme-api", clock=at(2026, 1, 10, 12, 0))
    jan.prompt("set up CI")
    jan.response(input=3, output=200, cache_write_1h=5000, cache_read=40_000)
    jan.response(input=2, output=90, cache_read=45_000)
    jan.write(claude_main_path(claude_dir / "projects", jan.cwd, J))
    mar = ClaudeSession(M, cwd="/home/dev/blog", clock=at(2026, 3, 2, 9, 0))
    mar.prompt("write the post")
    mar.custom_title("\x1b[31mred alert\x1b[0m [bold]not markup[/bold]\x07")
    mar.response(input=10, output=1000, cache_write_5m=3000, cache_read=9000)
    mar.write(claude_main_path(claude_dir / "projects", mar.cwd, M))
    feb = CodexRollout(F, cwd="/srv/shop", clock=at(2026, 2, 10, 22, 59, 0))
    feb.session_meta()
    feb.turn_context()
    feb.user("fix checkout")
    feb.call(input=20_000, cached=15_000, output=700, reasoning=300)
    feb.write(codex_rollout_path(codex_dir, F, feb.clock))
    return {"claude": claude_dir, "codex": codex_dir, J: jan.expected, M: mar.expected, F: feb.expected}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def report(capsys, tree, *flags: str) -> dict:
    status, out, err = run(capsys, "report", "sessions", "--json", "--claude-dir", str(tree["claude"]),
                           "--codex-dir", str(tree["codex"]), *flags)
    assert status == 0 and err == ""
    return orjson.loads(out)


def _tokens(j: dict) -> dict:
    return {"input": j["input_tokens"], "output": j["output_tokens"], "cache_write_5m": j["cache_write_5m_tokens"],
            "cache_write_1h": j["cache_write_1h_tokens"], "cache_read": j["cache_read_tokens"],
            "reasoning": j["reasoning_tokens"], "web_search": j["web_searches"], "total": j["total_tokens"]}


def test_json_report_over_written_fixtures(capsys, tree):
    data = report(capsys, tree)
    by_id = {j["session_id"]: j for j in data["sessions"]}
    assert [j["session_id"] for j in data["sessions"]] == [M, F, J]  # newest first
    for key in (J, M, F):
        assert _tokens(by_id[key]) == usage_dict(tree[key])
    assert by_id[F]["agent"] == "codex" and by_id[F]["project"] == "/srv/shop"
    assert by_id[M]["title"] == "\x1b[31mred alert\x1b[0m [bold]not markup[/bold]\x07"  # JSON keeps it verbatim
    assert data["totals"]["sessions"] == 3
    assert data["totals"]["total_tokens"] == sum(tree[k].total for k in (J, M, F))
    for field in ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens"):  # every token field sums
        assert data["totals"][field] == sum(j[field] for j in data["sessions"])


def test_table_report_is_plain_text(capsys, tree):
    status, out, err = run(capsys, "report", "sessions", "--claude-dir", str(tree["claude"]),
                           "--codex-dir", str(tree["codex"]))
    assert status == 0 and err == ""
    assert "\x1b" not in out and "\x07" not in out  # terminal escapes from a transcript never reach the terminal
    assert "[bold]not markup" in out  # shown as the text it is
    for name in ("acme-api", "blog", "shop", "TOTAL", "3 sessions"):
        assert name in out
    assert out.count("\n") >= 7


@pytest.mark.parametrize(
    "flags,expected",
    [
        ([], {J, M, F}),
        (["--since", "2026-02-11"], {M}),
        (["--since", "2026-02-10"], {F, M}),
        (["--since", "20260301"], {M}),
        (["--since", "2026-02-10T23:30:00"], {M}),
        (["--until", "2026-02-10"], {J, F}),  # a bare date includes that whole day
        (["--until", "2026-02-09"], {J}),
        (["--since", "2026-02-01", "--until", "2026-02-28"], {F}),
        (["--since", "2026-04-01"], set()),
        (["--project", "BLOG"], {M}),
        (["--project", "acme"], {J}),
        (["--project", "/srv/"], {F}),
        (["--agent", "codex"], {F}),
        (["--agent", "claude"], {J, M}),
        (["--agent", "claude", "--project", "shop"], set()),
        (["--agent", "claude", "--since", "2026-02-01"], {M}),
    ],
)
def test_filters(capsys, tree, utc, flags, expected):
    data = report(capsys, tree, *flags)
    assert {j["session_id"] for j in data["sessions"]} == expected
    assert data["totals"]["sessions"] == len(expected)
    assert data["totals"]["total_tokens"] == sum(tree[k].total for k in expected)


def test_agent_flag_reads_only_that_agents_roots(capsys, tree, tmp_path):
    not_a_dir = tmp_path / "claude-file"
    not_a_dir.write_text("x")
    status, out, _err = run(capsys, "report", "sessions", "--json", "--agent", "codex",
                            "--claude-dir", str(not_a_dir), "--codex-dir", str(tree["codex"]))
    assert status == 0 and [j["session_id"] for j in orjson.loads(out)["sessions"]] == [F]


def test_default_roots_come_from_the_environment(capsys, tree, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tree["claude"]))
    monkeypatch.setenv("CODEX_HOME", str(tree["codex"]))
    status, out, _err = run(capsys, "report", "sessions", "--json")
    assert status == 0
    assert {j["session_id"] for j in orjson.loads(out)["sessions"]} == {J, M, F}


def test_defaults_find_dot_claude_and_dot_codex_in_home(capsys, tree, isolated_env):
    os.rename(tree["claude"], isolated_env / ".claude")
    os.rename(tree["codex"], isolated_env / ".codex")
    status, out, _err = run(capsys, "report", "sessions", "--json")
    assert status == 0
    assert {j["session_id"] for j in orjson.loads(out)["sessions"]} == {J, M, F}


def test_source_flags_given_before_the_subcommand_are_honoured(capsys, tree):
    status, out, _err = run(capsys, "--agent", "codex", "--claude-dir", str(tree["claude"]),
                            "--codex-dir", str(tree["codex"]), "report", "sessions", "--json")
    assert status == 0
    assert [j["session_id"] for j in orjson.loads(out)["sessions"]] == [F]


# --- errors: one line, right status, no traceback -----------------------------------------------


def _one_line_error(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("tokdash")


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "sessions", "--bogus"],
        ["--bogus"],
        ["report"],
        ["report", "nope"],
        ["report", "sessions", "--agent", "no-such-agent"],
        ["report", "sessions", "--since"],
    ],
)
def test_a_bad_flag_exits_2_with_one_line(capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    _one_line_error(err)


@pytest.mark.parametrize("flag,value", [("--since", "2026-13-45"), ("--until", "yesterday"), ("--since", "2026-02-30")])
def test_a_bad_date_exits_2(capsys, tree, flag, value):
    status, out, err = run(capsys, "report", "sessions", "--claude-dir", str(tree["claude"]), flag, value)
    assert status == 2 and out == ""
    _one_line_error(err)
    assert repr(value) in err


def test_an_unreadable_root_exits_1_naming_it(capsys, tmp_path):
    locked = tmp_path / "locked-claude"
    (locked / "projects").mkdir(parents=True)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK | os.X_OK):
            pytest.skip("running as a user (root) who can read a chmod 000 folder")
        status, out, err = run(capsys, "report", "sessions", "--claude-dir", str(locked),
                               "--codex-dir", str(tmp_path / "none"))
    finally:
        locked.chmod(0o755)
    assert status == 1 and out == ""
    _one_line_error(err)
    assert str(locked) in err


def test_a_root_that_is_a_file_exits_1_naming_it(capsys, tmp_path):
    not_a_dir = tmp_path / "codex-home"
    not_a_dir.write_text("oops")
    status, out, err = run(capsys, "report", "sessions", "--codex-dir", str(not_a_dir),
                           "--claude-dir", str(tmp_path / "none"))
    assert status == 1 and out == ""
    _one_line_error(err)
    assert str(not_a_dir) in err


def test_missing_roots_say_where_they_looked(capsys, tmp_path):
    a, b = tmp_path / "no-claude", tmp_path / "no-codex"
    status, out, err = run(capsys, "report", "sessions", "--claude-dir", str(a), "--codex-dir", str(b))
    assert status == 0 and err == ""
    assert out.startswith("No sessions found")
    assert str(a) in out and str(b) in out


def test_missing_roots_with_json_is_an_empty_report(capsys, tmp_path):
    status, out, err = run(capsys, "report", "sessions", "--json", "--claude-dir", str(tmp_path / "a"),
                           "--codex-dir", str(tmp_path / "b"))
    assert status == 0 and err == ""
    data = orjson.loads(out)
    assert data["sessions"] == [] and data["totals"]["sessions"] == 0 and data["totals"]["total_tokens"] == 0
    assert data["totals"]["cache_hit_rate"] is None


def test_missing_default_roots_name_the_defaults(capsys, isolated_env):
    status, out, _err = run(capsys, "report", "sessions")
    assert status == 0 and "No sessions found" in out
    assert str(isolated_env / ".claude") in out and str(isolated_env / ".codex") in out


# --- report helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,text",
    [(0, "0"), (950, "950"), (1000, "1.00k"), (12_345, "12.3k"), (4_560_000, "4.56M"),
     (123_400_000, "123.4M"), (1_200_000_000, "1.20B")],
)
def test_fmt_tokens(n, text):
    assert fmt_tokens(n) == text


def test_fmt_cost_and_rate():
    assert fmt_cost(0) == "$0.00"
    assert fmt_cost(0.0123) == "$0.012"
    assert fmt_cost(12.5) == "$12.50"
    assert fmt_cost(1234.5, partial=True) == "$1,234.50+"
    assert fmt_cost(0, partial=True) == "unpriced"  # nothing priced: not "$0.00+"
    assert fmt_rate(None) == "—" and fmt_rate(0.954) == "95%"


def test_an_unpriced_model_makes_the_cost_a_lower_bound(tmp_path):
    from builders import load, summaries

    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response(model="claude-opus-4-6", input=1000, output=1000)
    s.response(model="acme-secret-model-9", input=1000, output=1000)
    got = summaries(load([s.write(claude_main_path(tmp_path, s.cwd, s.session_id))]))[sid(1)]
    assert got.unpriced_models == ["acme-secret-model-9"] and got.cost > 0
    assert got.to_json()["by_model"]["acme-secret-model-9"]["cost_usd"] is None
    data = sessions_json(judge([got]))
    assert data["totals"]["cost_partial"] is True and data["totals"]["unpriced_models"] == ["acme-secret-model-9"]
    table = sessions_table(judge([got]), width=200)
    assert "+" in table and "lower bound" in table and "acme-secret-model-9" in table


def test_filter_rows_sorts_newest_first_and_treats_undated_sessions_as_outside_ranges(tmp_path):
    from builders import load, summaries

    paths = []
    for n, clock in ((1, 100.0), (2, 5000.0), (3, 50.0)):
        s = ClaudeSession(sid(n), clock=clock)
        s.prompt("x")
        s.response()
        paths.append(s.write(claude_main_path(tmp_path, s.cwd, s.session_id)))
    undated = ClaudeSession(sid(9))
    undated.custom_title("no dates at all")
    paths.append(undated.write(claude_main_path(tmp_path, undated.cwd, undated.session_id)))
    rows = judge(list(summaries(load(paths)).values()))

    def ids(**kw):
        return [r.summary.session_id for r in filter_rows(rows, **kw).rows]

    assert ids()[:3] == [sid(2), sid(1), sid(3)]
    assert sid(9) not in ids(since=0.0)
    assert sid(9) not in ids(until=T0.timestamp() + 10**6)
    assert ids(sort="cost", limit=2) == [r.summary.session_id for r in
                                         sorted(rows, key=lambda r: (r.summary.cost, r.summary.last_activity or 0,
                                                                     r.key), reverse=True)][:2]


def test_a_filter_that_empties_the_result_is_named(tmp_path, capsys):
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response()
    s.write(claude_main_path(tmp_path / "projects", "/home/dev/acme-api", s.session_id))
    status, out, _err = run(capsys, "report", "sessions", "--claude-dir", str(tmp_path), "--project", "zzz",
                            "--codex-dir", str(tmp_path / "none"), "--no-cache")
    assert status == 0 and out.strip() == "No sessions match --project zzz (1 before that filter)."


def test_the_table_fits_80_columns_and_keeps_wide_characters_aligned(tmp_path, capsys):
    for n, title in ((1, "請求書の丸め誤差を直す"), (2, "Fix the rounding bug")):
        s = ClaudeSession(sid(n), clock=n * 100.0)
        s.custom_title(title)
        s.prompt("x")
        s.response(input=1000 * n, output=200)
        s.write(claude_main_path(tmp_path / "projects", "/home/dev/acme-api", s.session_id))
    from builders import load, summaries
    from rich.cells import cell_len

    rows = judge(list(summaries(load(sorted((tmp_path / "projects").rglob("*.jsonl")))).values()))
    for width in (80, 120, 200):
        lines = sessions_table(rows, width=width).splitlines()
        table = lines[: lines.index("")]
        assert max(cell_len(line) for line in table) <= width
        # Each column starts at the same cell on every row, whatever the script of the title.
        cost_at = {cell_len(line[: line.rindex("$")]) for line in table if "$" in line}
        assert len(cost_at) == 1, (width, table)
    narrow = sessions_table(rows, width=80)
    assert "cache w" not in narrow and "cost" in narrow and "total" in narrow


def test_an_unreadable_root_exits_1_naming_it_even_as_root(capsys, tmp_path, monkeypatch):
    """The same path as above with the permission check answered "no" (root reads chmod 000 folders)."""
    from tokdash.ingest import discovery

    locked = tmp_path / "locked-codex"
    (locked / "sessions").mkdir(parents=True)
    real_access = os.access
    monkeypatch.setattr(discovery.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    status, out, err = run(capsys, "report", "sessions", "--codex-dir", str(locked),
                           "--claude-dir", str(tmp_path / "none"))
    assert status == 1 and out == ""
    _one_line_error(err)
    assert str(locked) in err and "permission" in err


@pytest.mark.parametrize("cache", [True, False], ids=["index", "no-cache"])
def test_json_with_a_file_name_that_is_not_utf8(tmp_path, capsys, monkeypatch, cache):
    """The name's bytes are kept exactly by the index; the JSON shows them as U+FFFD."""
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    s = ClaudeSession(sid(1))
    s.prompt("x")
    s.response()
    folder = os.fsdecode(os.fsencode(str(tmp_path / "projects")) + b"/caf\xe9-\xff")
    path = s.write(Path(folder) / f"{sid(1)}.jsonl")
    argv = ["report", "sessions", "--json", "--claude-dir", str(tmp_path), "--codex-dir", str(tmp_path / "none")]
    status, out, err = run(capsys, *argv, *([] if cache else ["--no-cache"]))
    assert status == 0, err
    (got,) = json.loads(out)["sessions"]
    assert got["paths"] == [str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")]
    assert "\ufffd" in got["paths"][0]
