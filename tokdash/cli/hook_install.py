"""``tokdash hook install`` / ``uninstall``: tokdash's entries in Claude Code's ``settings.json``.

The only command that writes into an agent's folder, and only because the user ran it.
It touches nothing but tokdash's own entries: one ``UserPromptSubmit`` and one
``PreToolUse`` (every tool) hook running ``tokdash hook``::

    {"hooks": {
      "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "tokdash hook", "timeout": 10}]}],
      "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "tokdash hook", "timeout": 10}]}]
    }}

Every other key and hook is kept as it is. An entry is tokdash's when its command runs
a ``tokdash`` executable with the ``hook`` argument. Installing twice changes nothing;
before any change the file is copied to ``settings.json.tokdash-backup-<time>``; the new
file replaces the old in one rename (through a symlink, the file it points to). A file
that is not a JSON object is refused, never overwritten.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

from tokdash.cli.common import CliError
from tokdash.cli.hook import BLOCKING_EVENTS

TIMEOUT = 10
"""Seconds Claude Code waits for the hook (it answers in milliseconds; a stuck one fails open)."""


def default_settings() -> Path:
    """The user's Claude Code settings: ``$CLAUDE_CONFIG_DIR/settings.json``, else ``~/.claude/settings.json``."""
    home = os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[0].strip()
    base = Path(os.path.expanduser(home)) if home else Path(os.path.expanduser("~")) / ".claude"
    return base / "settings.json"


def hook_command() -> str:
    """The command to register: this ``tokdash`` by its absolute path when it is a script on
    disk (Claude Code's PATH may not hold a virtualenv), else plain ``tokdash``."""
    exe = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if exe is not None and exe.name in ("tokdash", "tokdash.exe") and exe.is_file():
        return f"{shlex.quote(str(exe.resolve()))} hook"
    return "tokdash hook"


def is_ours(entry: object) -> bool:
    """Is ``entry`` (one item of a hook group's ``hooks``) a ``tokdash hook`` command?"""
    if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
        return False
    try:
        words = shlex.split(entry["command"])
    except ValueError:
        return False
    return len(words) >= 2 and os.path.basename(words[0]) in ("tokdash", "tokdash.exe") and words[1] == "hook"


def _group(event: str, command: str) -> dict:
    entry = {"type": "command", "command": command, "timeout": TIMEOUT}
    return {"matcher": "*", "hooks": [entry]} if event == "PreToolUse" else {"hooks": [entry]}


def _without_ours(groups: list) -> list:
    """The groups with tokdash's entries taken out (a group left empty by that goes too)."""
    out = []
    for g in groups:
        if isinstance(g, dict) and isinstance(g.get("hooks"), list) and any(is_ours(h) for h in g["hooks"]):
            kept = [h for h in g["hooks"] if not is_ours(h)]
            if kept:
                out.append({**g, "hooks": kept})
            continue
        out.append(g)
    return out


def installed(settings: dict, command: str | None = None) -> dict:
    """``settings`` with tokdash's entries (re)placed, everything else as it was."""
    command = command or hook_command()
    out = dict(settings)
    hooks = dict(out.get("hooks") or {})
    for event in BLOCKING_EVENTS:
        groups, want = list(hooks.get(event) or []), _group(event, command)
        if groups.count(want) == 1 and _without_ours(groups) == [g for g in groups if g != want]:
            continue  # installed as it would be, wherever it sits: installing twice changes nothing
        hooks[event] = [*_without_ours(groups), want]
    out["hooks"] = hooks
    return out


def uninstalled(settings: dict) -> dict:
    """``settings`` without tokdash's entries (an event, or ``hooks``, left empty by that goes too)."""
    out = dict(settings)
    hooks = out.get("hooks")
    if not isinstance(hooks, dict):
        return out
    new = {}
    for event, groups in hooks.items():
        if isinstance(groups, list):
            kept = _without_ours(groups)
            if kept or not groups:
                new[event] = kept
        else:
            new[event] = groups
    if new or not hooks:
        out["hooks"] = new
    else:
        del out["hooks"]
    return out


def _read(path: Path) -> dict:
    from tokdash.paths import read_regular

    try:
        data = read_regular(path)  # never blocks on a FIFO, refuses what is not a file
    except OSError as exc:
        raise CliError(f"tokdash: cannot read {path}: {exc.strerror or exc}; left it untouched") from None
    if data is None:
        return {}
    if not data.strip():
        return {}
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise CliError(f"tokdash: {path} is not valid JSON; left it untouched") from None
    if not isinstance(obj, dict):
        raise CliError(f"tokdash: {path} is not a JSON object; left it untouched")
    hooks = obj.get("hooks")
    if hooks is not None and (not isinstance(hooks, dict) or not all(
            isinstance(v, list) for k, v in hooks.items() if k in BLOCKING_EVENTS)):
        raise CliError(f"tokdash: {path} has a \"hooks\" entry tokdash does not understand; left it untouched")
    return obj


def _write(path: Path, settings: dict) -> Path | None:
    """Back the file up, then replace it atomically keeping its mode; returns the backup."""
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.tokdash-backup-{time.strftime('%Y%m%dT%H%M%S')}")
        n = 1
        while backup.exists():
            n += 1
            backup = path.with_name(f"{path.name}.tokdash-backup-{time.strftime('%Y%m%dT%H%M%S')}-{n}")
        shutil.copy2(path, backup)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(settings, option=orjson.OPT_INDENT_2) + b"\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return backup


def run_install(args, *, remove: bool = False) -> int:
    """``tokdash hook install|uninstall [--settings PATH]``."""
    given = Path(os.path.expanduser(args.settings)) if args.settings else default_settings()
    path = Path(os.path.realpath(given))  # a symlinked settings.json (dotfiles): write the real file
    settings = _read(path)
    new = uninstalled(settings) if remove else installed(settings)
    if new == settings:
        print(f"tokdash: nothing to change in {given} ({'no tokdash hook in it' if remove else 'already installed'})")
        return 0
    try:
        backup = _write(path, new)
    except OSError as exc:
        raise CliError(f"tokdash: cannot write {given}: {exc.strerror or exc}") from None
    saved = f" (backup: {backup})" if backup else ""
    if remove:
        print(f"tokdash: removed the tokdash hooks from {given}{saved}")
    else:
        print(f"tokdash: installed the budget guard in {given}{saved}: UserPromptSubmit and PreToolUse run "
              f"`{hook_command()}`")
        _note_cap()
    return 0


def _note_cap() -> None:
    from tokdash.model.budget import BudgetConfigError, load_budget
    from tokdash.model.config import default_config_path

    path = default_config_path()
    try:
        config = load_budget(path)
    except BudgetConfigError as exc:
        print(f"tokdash: note: {exc}", file=sys.stderr)
        return
    if not config.active:
        print(f"tokdash: note: no budget is set yet: add a [budget] table to {path}", file=sys.stderr)
    elif not config.hard_cap:
        print(f"tokdash: note: hard_cap is off in {path}: the hook alerts but does not block", file=sys.stderr)
