"""The index never loses history or gives a second answer, whatever happened to it.

Classes: an index written by another schema (a real schema-1 index built by the old
code from git; random schema versions); damage inside the database (random byte flips
in random pages: every report either answers as before or says in one line that it
rebuilt, never a traceback, never another number); costs that would overflow 64-bit
integers; ``--forget`` of what cannot be meant, and ``--unforget``; dates at the ends of
the calendar.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index_fixtures import (
    SONNET,
    CodexWriter,
    claude_call,
    claude_project,
    claude_prompt,
    cli_roots,
    codex_rollout_path,
    normalized,
    roots_for,
    run_index,
    run_memory,
    write,
)
from tokdash.cli import main
from tokdash.cli.common import LAST_MOMENT, parse_day
from tokdash.ingest.index import Index, IndexUnavailable, index_path
from tokdash.ingest.index.identity import SCHEMA_VERSION
from tokdash.model.config import PriceConfigError, load_config_prices

REPO = Path(__file__).resolve().parents[2]
SID = "cccc0001-0000-4000-8000-000000000001"
SID2 = "cccc0002-0000-4000-8000-000000000002"
RID = "0197a1b2-0000-7000-8000-0000000cc001"


@pytest.fixture
def env(tmp_path, monkeypatch):
    claude, codex, data = tmp_path / "claude", tmp_path / "codex", tmp_path / "data"
    proj = claude_project(claude)
    main_file = proj / f"{SID}.jsonl"
    write(main_file, [claude_prompt(SID, "add a cache", t=0)] + [o for i in range(4) for o in claude_call(SID, t=10 + 40 * i)])
    write(proj / f"{SID2}.jsonl", claude_call(SID2, t=3000) + claude_call(SID2, t=90_000))
    cw = CodexWriter(RID)
    rollout = codex_rollout_path(codex, RID)
    write(rollout, cw.head() + cw.call(t=5) + cw.call(t=50))
    (codex / "sessions").mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(data))
    return claude, codex, data, main_file, rollout


def _flags(claude: Path, codex: Path) -> list[str]:
    return ["--claude-dir", str(claude), "--codex-dir", str(codex)]


def _out(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# --- another schema -------------------------------------------------------------------------


def _schema1_code(tmp: Path) -> Path | None:
    """The tokdash package as it was with schema 1, from this repository's history."""
    try:
        revs = subprocess.run(["git", "log", "--format=%H", "-n", "60", "--", "tokdash/ingest/index/identity.py"],
                              cwd=REPO, capture_output=True, text=True, timeout=30).stdout.split()
        for rev in revs:
            text = subprocess.run(["git", "show", f"{rev}:tokdash/ingest/index/identity.py"], cwd=REPO,
                                  capture_output=True, text=True, timeout=30).stdout
            if "\nSCHEMA_VERSION = 1\n" in text:
                out = tmp / "old"
                out.mkdir()
                archive = subprocess.run(["git", "archive", rev, "tokdash"], cwd=REPO, capture_output=True, timeout=60)
                subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True, timeout=60)
                return out
    except (OSError, subprocess.SubprocessError):
        return None
    return None


_OLD_RUN = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from tokdash.ingest.discovery import Roots, discover
from tokdash.ingest.index import Index
roots = Roots(by_agent={"claude": [Path(sys.argv[2])], "codex": [Path(sys.argv[3])]})
index = Index.for_roots(roots, Path(sys.argv[4]))
index.sync(discover(roots), forget=sys.argv[5:])
index.close()
"""


def test_a_real_schema_1_index_keeps_its_history_and_its_forgotten_list(env, tmp_path, capsys):
    claude, codex, data, main_file, rollout = env
    old = _schema1_code(tmp_path)
    if old is None:
        pytest.skip("no git history with a schema-1 index here")
    roots = roots_for(claude, codex)
    expected = normalized(run_memory(roots))

    def old_run(*forget: str) -> None:
        done = subprocess.run([sys.executable, "-c", _OLD_RUN, str(old), str(claude), str(codex), str(data), *forget],
                              capture_output=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 0, done.stderr.decode()

    old_run()
    rollout.unlink()  # the Codex session now lives in the old index only
    old_run()
    sid2 = claude_project(claude) / f"{SID2}.jsonl"
    old_run(str(sid2))  # forgotten for good by the old tokdash
    db = index_path(roots, data)
    kept_bytes = db.read_bytes()
    capsys.readouterr()
    result = run_index(roots, data)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "older tokdash (schema 1)" in err
    got = normalized(result.summaries)
    assert got[("codex", RID)] == expected[("codex", RID)]  # carried over: its transcript is gone
    assert result.archived == {("codex", RID)}
    assert ("claude", SID2) not in got and got[("claude", SID)] == expected[("claude", SID)]
    index = Index.for_roots(roots, data)
    try:
        assert index.status()["forgotten"] == [str(sid2)]
    finally:
        index.close()
    aside = [p for p in data.iterdir() if ".schema-1-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and aside[0].read_bytes() == kept_bytes
    assert not run_index(roots, data).rebuilt and capsys.readouterr().err == ""


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(version=st.one_of(st.integers(-3, SCHEMA_VERSION + 5).map(str), st.text(max_size=6)))
def test_any_schema_version_is_carried_over_or_left_alone_never_dropped(env, tmp_path_factory, capsys, version):
    claude, codex, _data, _main, _rollout = env
    data = tmp_path_factory.mktemp("data")
    roots = roots_for(claude, codex)
    before = normalized(run_index(roots, data).summaries)
    db = index_path(roots, data)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET v = ? WHERE k = 'schema'", (version,))
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stamp = db.read_bytes()
    capsys.readouterr()
    newer = version.strip().lstrip("+-").isdigit() and int(version) > SCHEMA_VERSION
    if newer:
        with pytest.raises(IndexUnavailable, match="newer tokdash"):
            run_index(roots, data)
        assert db.read_bytes() == stamp  # not touched
        return
    result = run_index(roots, data)
    assert normalized(result.summaries) == before
    if version != str(SCHEMA_VERSION):
        assert "older tokdash" in capsys.readouterr().err
        assert any(p.read_bytes() == stamp for p in data.iterdir() if ".schema-" in p.name and p.suffix != ".db-wal")


def test_a_newer_schema_is_left_alone_and_the_report_reads_without_it(env, capsys):
    claude, codex, data, _main, _rollout = env
    flags = _flags(claude, codex)
    code, first, _ = _out(["report", "sessions", "--json", *flags], capsys)
    db = index_path(cli_roots(claude, codex), data)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET v = ? WHERE k = 'schema'", (str(SCHEMA_VERSION + 1),))
    stamp = db.read_bytes()
    code, out, err = _out(["report", "sessions", "--json", *flags], capsys)
    assert code == 0 and err.count("\n") == 1 and "newer tokdash" in err
    _c, nocache, _e = _out(["report", "sessions", "--json", "--no-cache", *flags], capsys)
    assert out == nocache and db.read_bytes() == stamp


# --- damage inside the database ----------------------------------------------------------------


def _flip(db: Path, rng: random.Random) -> None:
    raw = bytearray(db.read_bytes())
    page = int.from_bytes(raw[16:18], "big") or 65536
    pages = len(raw) // page
    p = rng.randrange(1, pages) if pages > 1 else 0
    for _ in range(rng.randint(1, 8)):
        i = p * page + rng.randrange(page)
        raw[i] ^= 1 << rng.randrange(8)
    db.write_bytes(bytes(raw))


def test_random_page_damage_never_gives_another_number(env, tmp_path, capsys):
    """100 random flips in random pages: each report answers as an intact index does, or says in
    one line that the index was damaged (and was rebuilt); never a traceback, never another total."""
    claude, codex, data, _main, _rollout = env
    flags = _flags(claude, codex)
    reports = [["report", "sessions", "--json"], ["report", "daily", "--json", "--tz", "UTC"],
               ["report", "models", "--json"], ["report", "daily", "--json", "--tz", "UTC", "--since", "2026-03-03"]]
    truth = {}
    for r in reports:
        code, out, _err = _out([*r, *flags, "--no-cache"], capsys)
        truth[tuple(r)] = orjson.loads(out)
    for r in reports:  # the index as built answers the same (archived: false everywhere)
        _out([*r, *flags], capsys)
    db = index_path(cli_roots(claude, codex), data)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    good = tmp_path / "good.db"
    shutil.copy(db, good)
    rng = random.Random(int(os.environ.get("FLIP_SEED", "11")))
    said = 0
    for _round in range(100):
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        shutil.copy(good, db)
        _flip(db, rng)
        for r in reports:
            code, out, err = _out([*r, *flags], capsys)
            assert code == 0 and "Traceback" not in err, err
            got = orjson.loads(out)
            if "sessions" in got:
                for s in got["sessions"]:
                    s.pop("archived", None)
                got["totals"].pop("archived_sessions", None)
                want = orjson.loads(orjson.dumps(truth[tuple(r)]))
                for s in want["sessions"]:
                    s.pop("archived", None)
                want["totals"].pop("archived_sessions", None)
            else:
                want = truth[tuple(r)]
            assert got == want, (r, err)
            assert err.count("\n") <= 1, err
            said += "damaged" in err
    assert said > 0  # some flips were found (the others hit nothing that is read)


def test_a_flipped_token_count_is_found_by_its_checksum(env, capsys):
    claude, codex, data, _main, _rollout = env
    flags = _flags(claude, codex)
    _code, truth, _ = _out(["report", "daily", "--json", "--no-cache", *flags], capsys)
    _out(["report", "daily", "--json", *flags], capsys)
    db = index_path(cli_roots(claude, codex), data)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE slots SET output = output + 1 WHERE rowid = (SELECT MIN(rowid) FROM slots)")
    code, out, err = _out(["report", "daily", "--json", *flags], capsys)
    assert code == 0 and out == truth and "damaged" in err and err.count("\n") == 1


# --- costs past 64-bit integers ------------------------------------------------------------------


def test_costs_past_64_bit_integers_are_summed_not_overflowed(env, capsys):
    claude, codex, data, main_file, _rollout = env
    # 999,999,999,999 output tokens: ~$15M each at Sonnet's price, past int64 pico-dollars in total
    for i in range(3):
        write(main_file, claude_call(SID, t=5000 + i, model=SONNET, output=999_999_999_999, blocks=1))
    flags = _flags(claude, codex)
    outs = []
    for extra in (["--no-cache"], [], []):
        for r in (["report", "sessions", "--json"], ["report", "daily", "--json", "--tz", "UTC"]):
            code, out, err = _out([*r, *flags, *extra], capsys)
            assert code == 0 and "Traceback" not in err, err
            outs.append(orjson.loads(out)["totals"])
    assert outs[0]["cost_usd"] > 9.3e6 and outs[0]["output_tokens"] > 2.9e12
    assert outs[0] == outs[2] == outs[4] and outs[1] == outs[3] == outs[5]


@pytest.mark.parametrize("value", ["1e308", "inf", "nan", "-1", "1e7", "true"])
def test_an_absurd_config_price_is_one_line(tmp_path, value):
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[prices."my-model"]\ninput = {value}\noutput = 1.0\n')
    with pytest.raises(PriceConfigError) as exc:
        load_config_prices(cfg)
    assert "\n" not in str(exc.value) and "input" in str(exc.value)


# --- forgetting ----------------------------------------------------------------------------------


def test_forget_refuses_what_cannot_be_meant_and_asks_before_many_sessions(env, capsys, monkeypatch):
    claude, codex, data, main_file, _rollout = env
    flags = _flags(claude, codex)
    _code, before, _ = _out(["report", "sessions", "--json", *flags], capsys)
    monkeypatch.chdir(claude_project(claude))
    for bad in ("", "   ", "/", str(claude), str(claude.parent)):
        code, out, err = _out(["index", "--forget", bad, *flags], capsys)
        assert code == 2 and err.count("\n") == 1 and "refusing" in err, (bad, err)
    code, _out_, err = _out(["index", "--forget", ".", *flags], capsys)  # two sessions: not without --yes
    assert code == 2 and "--yes" in err
    _code, after, _ = _out(["report", "sessions", "--json", *flags], capsys)
    assert after == before  # nothing was forgotten
    code, out, _err = _out(["index", "--forget", str(main_file), *flags], capsys)  # one session: no question
    assert code == 0 and "--unforget" in out
    code, _o, _e = _out(["index", "--forget", ".", "--yes", *flags], capsys)
    assert code == 0
    _code, gone, _ = _out(["report", "sessions", "--json", *flags], capsys)
    assert {s["session_id"] for s in orjson.loads(gone)["sessions"]} == {RID}
    code, out, _err = _out(["index", "--unforget", str(claude_project(claude)), *flags], capsys)
    assert code == 0 and "2 files" in out
    _code, back, _ = _out(["report", "sessions", "--json", *flags], capsys)
    assert back == before
    code, _o, err = _out(["index", "--unforget", str(main_file), *flags], capsys)
    assert code == 1 and "not forgotten" in err


# --- dates at the ends of the calendar ------------------------------------------------------------


@pytest.mark.parametrize("flag,value", [("--until", "9999-12-31"), ("--since", "0001-01-01"), ("--until", "99991231"),
                                        ("--since", "0001-01-01T00:00:00+14:00"), ("--until", "9999-12-31T23:59-12:00")])
@pytest.mark.parametrize("tz", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_dates_at_the_ends_of_the_calendar_mean_everything(env, capsys, flag, value, tz):
    claude, codex, _data, _main, _rollout = env
    flags = _flags(claude, codex)
    for report in ("daily", "monthly"):
        _c, every, _e = _out(["report", report, "--json", "--tz", tz, *flags], capsys)
        code, out, err = _out(["report", report, "--json", "--tz", tz, flag, value, *flags], capsys)
        assert code == 0 and "Traceback" not in err
        assert orjson.loads(out)["totals"] == orjson.loads(every)["totals"]
    assert 0.0 <= parse_day(value, end=flag == "--until") <= LAST_MOMENT


# --- the rule for a file that shrinks, is replaced, or is renamed --------------------------------


def _three_answers(roots, data: Path, tmp: Path):
    """(the index, --no-cache, a rebuild of a copy of the index): they must agree."""
    index = normalized(run_index(roots, data).summaries)
    copy = tmp / "copy" / "data"
    if copy.parent.exists():
        shutil.rmtree(copy.parent)
    shutil.copytree(data, copy)
    rebuilt = Index.for_roots(roots, copy)
    try:
        from tokdash.ingest.discovery import discover

        again = normalized(rebuilt.sync(discover(roots), rebuild=True).summaries)
    finally:
        rebuilt.close()
    return index, normalized(run_memory(roots)), again


def test_a_file_counts_what_it_holds_now_and_a_renamed_one_counts_under_its_new_name(env, tmp_path):
    claude, codex, data, main_file, _rollout = env
    roots = roots_for(claude, codex)
    proj = claude_project(claude)
    resumed = proj / "cccc0003-0000-4000-8000-000000000003.jsonl"
    first_call = main_file.read_bytes().splitlines(keepends=True)[1:3]  # one response, both its lines
    resumed.write_bytes(b"".join(first_call))  # a resumed session's copy of S1's first call
    run_index(roots, data)
    # S1 loses everything but its prompt: its first call now belongs to the copy that is left
    main_file.write_bytes(main_file.read_bytes().splitlines(keepends=True)[0])
    index, memory, rebuilt = _three_answers(roots, data, tmp_path)
    assert index == memory == rebuilt
    assert index[("claude", "cccc0003-0000-4000-8000-000000000003")]["api_calls"] == 1
    assert index[("claude", SID)]["api_calls"] == 0
    # replaced by other content (a new inode)
    tmp = main_file.with_suffix(".tmp")
    write(tmp, claude_call(SID, t=7000, output=4321), append=False)
    os.replace(tmp, main_file)
    index, memory, rebuilt = _three_answers(roots, data, tmp_path)
    assert index == memory == rebuilt and index[("claude", SID)]["output_tokens"] == 4321
    # renamed to another session id: its calls go where its name says; the old id is gone, not archived
    renamed = proj / "cccc0009-0000-4000-8000-000000000009.jsonl"
    os.rename(main_file, renamed)
    index, memory, rebuilt = _three_answers(roots, data, tmp_path)
    assert index == memory == rebuilt
    assert ("claude", SID) not in index and index[("claude", renamed.stem)]["output_tokens"] == 4321
    assert run_index(roots, data).archived == set()
