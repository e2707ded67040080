"""`tokdash hook`: the guard's output for each event, every way it fails open (real processes,
real stdin), and `hook install` / `uninstall` on a settings file with other hooks."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from tests.unit.builders import T0, ClaudeSession, claude_main_path

REPO = Path(__file__).resolve().parents[2]
SID = "6c2214d7-0000-4000-8000-00000000hook"


@pytest.fixture
def home(tmp_path: Path) -> dict:
    """A private home: Claude's transcripts at its default place, tokdash's config and data dirs."""
    h = tmp_path / "home"
    (h / ".claude" / "projects").mkdir(parents=True)
    (tmp_path / "config" / "tokdash").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "NO_COLOR")}
    env.update(HOME=str(h), XDG_CONFIG_HOME=str(tmp_path / "config"), TOKDASH_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(REPO))
    return {"env": env, "root": tmp_path, "home": h}


def _session(home: dict, usd_calls: int = 1, *, output: int = 200_000) -> Path:
    """A Claude session active now, each call worth about $5 (Opus 4.6 output at $25/Mtok)."""
    s = ClaudeSession(SID, clock=time.time() - T0.timestamp() - 60)
    for _ in range(usd_calls):
        s.prompt("go")
        s.lines += s.response(input=10, output=output, stop_reason="tool_use",
                              blocks=[("tool_use", "Bash", {"command": "ls"})]).lines
    return s.write(claude_main_path(home["home"] / ".claude" / "projects", s.cwd, SID))


def _config(home: dict, text: str) -> None:
    (home["root"] / "config" / "tokdash" / "config.toml").write_text(text, encoding="utf-8")


def _tokdash(home: dict, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokdash", *args], input=stdin, capture_output=True,
                          env=home["env"], timeout=120)


def _index(home: dict) -> None:
    proc = _tokdash(home, "report", "sessions", "--json")
    assert proc.returncode == 0, proc.stderr


def _hook(home: dict, event: str, path: Path | None = None, **extra) -> subprocess.CompletedProcess:
    payload = {"session_id": SID, "transcript_path": str(path) if path else "", "cwd": "/home/dev/acme-api",
               "hook_event_name": event, "permission_mode": "default", **extra}
    return _tokdash(home, "hook", stdin=orjson.dumps(payload))


def _quiet(proc: subprocess.CompletedProcess) -> None:
    """Failed open: exit 0, nothing on stdout, one line on stderr, no traceback."""
    assert proc.returncode == 0
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err and "not blocking" in err, err


def test_over_budget_with_hard_cap_blocks_prompts_and_tool_calls(home):
    path = _session(home, 2)  # ~$10 today
    _config(home, "[budget]\ndaily_usd = 5\nhard_cap = true\n")
    _index(home)
    prompt = _hook(home, "UserPromptSubmit", path, prompt="more")
    assert prompt.returncode == 0 and prompt.stderr == b""
    out = orjson.loads(prompt.stdout)
    assert set(out) == {"decision", "reason"} and out["decision"] == "block"
    assert "daily budget" in out["reason"] and "$5.00" in out["reason"]
    tool = _hook(home, "PreToolUse", path, tool_name="Bash", tool_input={"command": "ls"}, tool_use_id="t1")
    assert tool.returncode == 0
    assert orjson.loads(tool.stdout) == {"hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": out["reason"]}}
    other = _hook(home, "Stop", path)  # never blocks a Stop (that would keep Claude going)
    assert other.returncode == 0 and b"block" not in other.stdout and b"deny" not in other.stdout


def test_under_budget_nothing_blocks_and_a_threshold_says_so_once(home):
    path = _session(home, 2)  # ~$10 of a $12 budget: past 80 %
    _config(home, "[budget]\ndaily_usd = 12\nhard_cap = true\n")
    _index(home)
    first = _hook(home, "UserPromptSubmit", path)
    assert first.returncode == 0
    out = orjson.loads(first.stdout)
    assert set(out) == {"systemMessage"} and "80 %" in out["systemMessage"]
    again = _hook(home, "PreToolUse", path, tool_name="Read")
    assert again.returncode == 0 and again.stdout == b""  # the same crossing is not raised again


def test_without_hard_cap_an_exceeded_budget_only_warns(home):
    path = _session(home, 2)
    _config(home, "[budget]\ndaily_usd = 5\n")
    _index(home)
    out = orjson.loads(_hook(home, "UserPromptSubmit", path).stdout)
    assert set(out) == {"systemMessage"} and "over budget" in out["systemMessage"]
    assert _hook(home, "PreToolUse", path).stdout == b""


def test_no_budget_set_means_nothing_to_guard(home):
    path = _session(home)
    _config(home, "[statusline]\nparts = [\"cost\"]\n")
    proc = _hook(home, "UserPromptSubmit", path)
    assert proc.returncode == 0 and proc.stdout == b"" and proc.stderr == b""


def test_the_session_limit_reads_the_status_lines_fresher_state(home):
    path = _session(home, 1)
    _config(home, "[budget]\nsession_usd = 8\nhard_cap = true\n")
    _index(home)  # the index has seen one call (~$5)
    assert _hook(home, "UserPromptSubmit", path).stdout.startswith(b'{"systemMessage"')  # 50 % crossed
    s = ClaudeSession(SID, clock=time.time() - T0.timestamp() - 30)
    s.lines += s.response(input=10, output=200_000).lines
    with open(path, "ab") as f:
        f.write(s.data())
    line = _tokdash(home, "statusline", stdin=orjson.dumps({"transcript_path": str(path)}))
    assert line.returncode == 0 and b"$10" in line.stdout  # the status line read the new call
    out = orjson.loads(_hook(home, "UserPromptSubmit", path).stdout)  # the index still says $5
    assert out["decision"] == "block" and "session budget" in out["reason"]


@pytest.mark.parametrize("stdin", [b"", b"   \n", b"not json", b"[1, 2]", b'"text"', b'{"session_id": "x"}',
                                   b"\xff\xfe\x00", b'{"hook_event_name": 3}'])
def test_bad_or_empty_stdin_fails_open(home, stdin):
    _config(home, "[budget]\ndaily_usd = 0.01\nhard_cap = true\n")
    _quiet(_tokdash(home, "hook", stdin=stdin))


@pytest.mark.parametrize("config", ["[budget\ndaily_usd = ", "[budget]\ndaily_usd = -1\nhard_cap = true\n",
                                    "[budget]\nhard_cap = \"yes\"\n", "budget = 3\n"])
def test_a_broken_config_fails_open(home, config):
    path = _session(home, 2)
    _index(home)
    _config(home, config)
    _quiet(_hook(home, "UserPromptSubmit", path))


def test_a_missing_index_fails_open(home):
    path = _session(home, 2)
    _config(home, "[budget]\ndaily_usd = 0.01\nhard_cap = true\n")
    proc = _hook(home, "UserPromptSubmit", path)
    _quiet(proc)
    assert b"no index" in proc.stderr


def test_a_locked_index_fails_open(home):
    path = _session(home, 2)
    _config(home, "[budget]\ndaily_usd = 0.01\nhard_cap = true\n")
    _index(home)
    [db] = (home["root"] / "data").glob("index-*.db")
    conn = sqlite3.connect(str(db), isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("DELETE FROM meta WHERE k = 'no such key'")
        proc = _hook(home, "PreToolUse", path)
    finally:
        conn.close()
    _quiet(proc)
    assert b"locked" in proc.stderr


def test_a_damaged_index_fails_open(home):
    path = _session(home, 2)
    _config(home, "[budget]\ndaily_usd = 0.01\nhard_cap = true\n")
    _index(home)
    [db] = (home["root"] / "data").glob("index-*.db")
    for extra in db.parent.glob(db.name + "-*"):
        extra.unlink()
    db.write_bytes(b"garbage, not a database " * 200)
    _quiet(_hook(home, "UserPromptSubmit", path))


def test_recorded_facts_equal_the_index_facts(home):
    """The hook's one grouped query gives what the index's own history facts give."""
    _session(home, 3)
    _index(home)
    code = ("import time\nfrom tokdash.ingest.spend import Recorded, default_roots, index_file\n"
            "from tokdash.ingest.index import Index\n"
            "roots = default_roots()\nrec = Recorded(index_file(roots))\n"
            "mine = sorted((f.ts, f.session_id, f.model, f.calls, f.cost_pico, f.usage.total) for f in rec.facts(0))\n"
            "idx = Index.for_roots(roots)\nfrom tokdash.ingest.discovery import discover\n"
            "res = idx.sync(discover(roots))\n"
            "theirs = sorted((f.ts, f.session_id, f.model, f.calls, f.cost_pico, f.usage.total) "
            "for f in idx.facts(res, 0.0) if f.ts > 0)\nprint(mine == theirs and len(mine) > 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=home["env"], timeout=60)
    assert proc.stdout.strip() == "True", proc.stdout + proc.stderr


# --- install / uninstall --------------------------------------------------------------------

OTHER = {
    "model": "opus",
    "statusLine": {"type": "command", "command": "tokdash statusline"},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/check-bash"}]}],
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo hi", "timeout": 5}]}],
        "PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}],
    },
    "permissions": {"allow": ["Bash(ls:*)"]},
}


def test_install_and_uninstall_touch_only_tokdash_entries(home, tmp_path):
    settings = tmp_path / "settings.json"
    original = json.dumps(OTHER, indent=4).encode()
    settings.write_bytes(original)
    os.chmod(settings, 0o640)
    proc = _tokdash(home, "hook", "install", "--settings", str(settings))
    assert proc.returncode == 0, proc.stderr
    new = orjson.loads(settings.read_bytes())
    assert stat.S_IMODE(settings.stat().st_mode) == 0o640
    for key in ("model", "statusLine", "permissions"):
        assert new[key] == OTHER[key]
    assert new["hooks"]["PostToolUse"] == OTHER["hooks"]["PostToolUse"]
    for event in ("PreToolUse", "UserPromptSubmit"):
        groups = new["hooks"][event]
        assert groups[:-1] == OTHER["hooks"][event]  # the user's own hooks first, unchanged
        ours = groups[-1]["hooks"]
        assert len(ours) == 1 and ours[0]["type"] == "command" and ours[0]["command"].endswith(" hook")
    assert new["hooks"]["PreToolUse"][-1]["matcher"] == "*"
    [backup] = tmp_path.glob("settings.json.tokdash-backup-*")
    assert backup.read_bytes() == original
    again = _tokdash(home, "hook", "install", "--settings", str(settings))
    assert again.returncode == 0 and b"already installed" in again.stdout
    assert len(list(tmp_path.glob("settings.json.tokdash-backup-*"))) == 1  # no change, no second backup
    gone = _tokdash(home, "hook", "uninstall", "--settings", str(settings))
    assert gone.returncode == 0, gone.stderr
    assert orjson.loads(settings.read_bytes()) == OTHER
    assert b"no tokdash hook" in _tokdash(home, "hook", "uninstall", "--settings", str(settings)).stdout


def test_installing_twice_changes_nothing_when_a_users_hook_came_after_ours():
    from tokdash.cli.hook_install import installed

    first = installed(OTHER, "tokdash hook")
    later = {"hooks": [{"type": "command", "command": "added-later"}]}
    moved = {**first, "hooks": {**first["hooks"], "PreToolUse": [*first["hooks"]["PreToolUse"], later]}}
    assert installed(moved, "tokdash hook") == moved  # ours stays where it is: no rewrite, no backup
    other = installed(moved, "/opt/tokdash/bin/tokdash hook")  # a new command path: replaced, at the end
    assert [g for g in other["hooks"]["PreToolUse"] if "tokdash hook" in str(g)] == \
        [other["hooks"]["PreToolUse"][-1]]


def test_install_creates_a_missing_file_and_uninstall_leaves_no_empty_hooks(home, tmp_path):
    settings = tmp_path / "fresh" / "settings.json"
    assert _tokdash(home, "hook", "install", "--settings", str(settings)).returncode == 0
    assert set(orjson.loads(settings.read_bytes())["hooks"]) == {"UserPromptSubmit", "PreToolUse"}
    assert _tokdash(home, "hook", "uninstall", "--settings", str(settings)).returncode == 0
    assert orjson.loads(settings.read_bytes()) == {}


@pytest.mark.parametrize("content", [b"[1, 2, 3]", b'"a string"', b"{not json", b'{"hooks": [1]}',
                                     b'{"hooks": {"PreToolUse": {"matcher": "x"}}}'])
def test_a_settings_file_tokdash_does_not_understand_is_refused(home, tmp_path, content):
    settings = tmp_path / "settings.json"
    settings.write_bytes(content)
    proc = _tokdash(home, "hook", "install", "--settings", str(settings))
    assert proc.returncode == 1
    assert proc.stderr.count(b"\n") == 1 and b"untouched" in proc.stderr and b"Traceback" not in proc.stderr
    assert settings.read_bytes() == content and not list(tmp_path.glob("*backup*"))


def test_a_symlinked_settings_file_is_written_through(home, tmp_path):
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text('{"model": "sonnet"}')
    link = home["home"] / ".claude" / "settings.json"
    link.symlink_to(real)
    proc = _tokdash(home, "hook", "install")  # the default: ~/.claude/settings.json
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and orjson.loads(real.read_bytes())["model"] == "sonnet"
    assert "PreToolUse" in orjson.loads(real.read_bytes())["hooks"]


def test_stamp_is_today_for_the_fixtures():
    """The guard's fixtures are dated now (the daily budget counts today's calls only)."""
    s = ClaudeSession("x", clock=time.time() - T0.timestamp())
    when = datetime.fromisoformat(s.tick(0).replace("Z", "+00:00"))
    assert abs(when.timestamp() - datetime.now(UTC).timestamp()) < 5
