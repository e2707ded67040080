"""Claude Code: where its transcripts live, which lines are worth decoding, and the
dispatch of a decoded line (its records are built in ``lines``)."""


from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokdash.model.records import Batch, Event
from tokdash.sources.base import (
    FileContext,
    SourceDefaults,
    clean_str,
    env_roots,
    new_meta,
    parse_ts,
    shell_command,
    shorten,
)
from tokdash.sources.claude import lines

NAME = "claude"

_TOOL_USE_ID = re.compile(rb'"tool_use_id":"([^"\\]{1,200})"')
_COUNTED_TYPES = frozenset({"assistant", "user", "system", "summary", "custom-title", "ai-title"})


def projects_dir(root: Path) -> Path:
    """The ``projects/`` folder of a root (a root may be a config dir or ``projects/`` itself)."""
    if root.name == "projects" and not (root / "projects").is_dir():
        return root
    return root / "projects"


class ClaudeSource(SourceDefaults):
    """Claude Code transcripts."""

    name = NAME
    label = "Claude Code"
    env_var = "CLAUDE_CONFIG_DIR"
    has_plan_windows = True  # Pro/Max: 5-hour and weekly windows
    dir_help = "a Claude config dir (holding projects/) or projects/ itself"
    default_help = "$CLAUDE_CONFIG_DIR, else $XDG_CONFIG_HOME/claude (~/.config/claude) and ~/.claude"
    markers = (
        b'"usage"',
        re.compile(rb'"type"\s*:\s*"(?:user|system|summary|custom-title|ai-title)"'),
    )
    """Usage lines, then user lines (prompts, tool results) and the rare system/summary/title
    lines in one regex pass: each marker costs a scan of every byte, so two, not five.

    Neither assumes compact JSON: a line written with spaces after the separators
    (``"usage": {``, Python's ``json.dumps``) decodes to the same records. ``"usage"`` with
    its raw quotes is the key itself: inside a string it would read ``\\"usage\\"``."""
    _USAGE = 1
    _WINDOW = 4096
    """Tool-result lines put ``tool_use_id`` and ``"type":"tool_result"`` first in the block,
    near the start of the line: look there before searching a line of hundreds of KB."""

    def wants(self, line: bytes, hits: int, ctx: FileContext, offset: int, batch: Batch) -> bool:
        """Decide whether a marked line is worth decoding; tool results are measured, not decoded.

        Tool-result user lines are often hundreds of KB. A raw ``"tool_result"`` with
        unescaped quotes can only be JSON structure, never text inside a prompt string,
        so skipping them cannot hide a human prompt. Their size is what the tips need
        (very large tool outputs), and a byte search finds the id without parsing.
        """
        if hits & self._USAGE:
            return True
        if line.find(b'"type":"tool_result"', 0, self._WINDOW) == -1 and b'"type":"tool_result"' not in line:
            return True
        if ctx.session_id is not None:
            m = _TOOL_USE_ID.search(line, 0, self._WINDOW) or _TOOL_USE_ID.search(line)
            if m:
                tid = m.group(1).decode("utf-8", "replace")
                # The model's copy is ``message.content``; Claude Code appends a second copy for
                # its UI as the top-level ``toolUseResult``, which never reaches the model.
                ui_copy = line.find(b'"toolUseResult":', m.end())
                size = (ui_copy if ui_copy != -1 else len(line)) - m.start()
                ts_at = line.rfind(b'"timestamp":"')
                ts = parse_ts(line[ts_at + 13 : ts_at + 43].split(b'"', 1)[0].decode("ascii", "replace")) \
                    if ts_at != -1 else None
                batch.events.append(
                    Event(("claude-tool-output", tid), ctx.session_id, "tool_output", ts or 0.0, ctx.rank(offset),
                          tid, ctx.agent_id, value=max(size, 0))
                )
        return False

    def default_roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """Config dirs to read: ``CLAUDE_CONFIG_DIR`` (comma list) alone if set, else both defaults."""
        env = os.environ if env is None else env
        configured = env_roots(env, self.env_var)
        if configured:
            return configured
        xdg = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return [Path(xdg) / "claude", Path(os.path.expanduser("~")) / ".claude"]

    def scan_roots(self, roots: list[Path]) -> list[Path]:
        """The ``projects/`` dirs of the roots that exist."""
        return [p for p in (projects_dir(r) for r in roots) if p.is_dir()]

    def claims(self, path: Path) -> bool:
        """The layouts ``files`` lists: ``projects/<cwd>/<stem>.jsonl`` (a main transcript or a
        2.0.x sibling ``agent-*``) and ``projects/<cwd>/<sessionId>/subagents/<stem>.jsonl``.

        Anything else under ``projects/`` (``tool-results/``, ``*.meta.json``) holds no usage.
        """
        if path.suffix != ".jsonl":
            return False
        parents = path.parents
        if len(parents) >= 2 and parents[1].name == "projects":
            return True
        return len(parents) >= 4 and parents[0].name == "subagents" and parents[3].name == "projects"

    def resume_command(self, session_id: str) -> str | None:
        """``claude --resume <id>``: the id is the main transcript's file stem."""
        return shell_command(("claude", "--resume"), session_id)

    def session_files(self, transcript: Path) -> list[Path]:
        """The main transcript and its 2.1.x sub-agent files (``<stem>/subagents/*.jsonl``).

        2.0.x sibling ``agent-*.jsonl`` files name their session only inside their lines,
        and 1.0.x sub-agents are inline: neither is found from the path.
        """
        files = [transcript]
        sub = transcript.with_suffix("") / "subagents"
        if sub.is_dir():
            files += sorted(p for p in sub.iterdir() if p.suffix == ".jsonl")
        return files

    def files(self, projects: Path) -> Iterator[Path]:
        """Every transcript file under one ``projects/`` dir."""
        try:
            projects_iter = list(os.scandir(projects))
        except OSError:
            return
        for proj in projects_iter:
            if not proj.is_dir(follow_symlinks=False):
                continue
            try:
                entries = list(os.scandir(proj.path))
            except OSError:
                continue
            for e in entries:
                if e.name.endswith(".jsonl") and e.is_file():
                    yield Path(e.path)
                elif e.is_dir(follow_symlinks=False):
                    sub = os.path.join(e.path, "subagents")
                    if os.path.isdir(sub):
                        try:
                            for s in os.scandir(sub):
                                if s.name.endswith(".jsonl") and s.is_file():
                                    yield Path(s.path)
                        except OSError:
                            continue

    def context_for(self, path: Path, root: Path | None = None) -> FileContext | None:
        """Tell the layout from the path: main, 2.1.x sub-agent folder, or 2.0.x sibling."""
        if path.suffix != ".jsonl":
            return None
        stem = clean_str(path.stem)  # a file name that is not UTF-8 must not reach a record
        if path.parent.name == "subagents":
            agent_id = stem[len("agent-"):] if stem.startswith("agent-") else stem
            return FileContext(
                path=str(path),
                agent=NAME,
                session_id=clean_str(path.parent.parent.name),
                agent_id=agent_id,
                is_subagent_file=True,
            )
        if stem.startswith("agent-"):
            return FileContext(
                path=str(path),
                agent=NAME,
                session_id=None,
                agent_id=stem[len("agent-"):],
                is_subagent_file=True,
                sid_from_lines=True,
            )
        return FileContext(path=str(path), agent=NAME, session_id=stem)

    def parse(self, obj: dict, ctx: FileContext, offset: int, batch: Batch) -> None:
        """One decoded Claude Code line into records."""
        typ = obj.get("type")
        if type(typ) is not str or typ not in _COUNTED_TYPES:
            # progress (its embedded sub-agent usage is a copy, never counted),
            # file-history-snapshot, queue-operation, unknown future types: nothing to count.
            # (The str check first: a corrupt line's "type" may be a list, unhashable.)
            return
        ts = parse_ts(obj.get("timestamp"))
        if ctx.session_id is None:
            sid = obj.get("sessionId")
            if not isinstance(sid, str) or not sid:
                return  # a sibling sub-agent file line without its session: nothing to attach to
            ctx.session_id = sid
        line_sid = obj.get("sessionId")
        ctx.state["native"] = line_sid is None or line_sid == ctx.session_id
        meta = ctx.meta
        if meta is None:
            meta = ctx.meta = new_meta(ctx, ctx.session_id, resume_command=self.resume_command(ctx.session_id))

        if ts is not None:
            ctx.saw(ts)
        cwd = obj.get("cwd")
        if isinstance(cwd, str) and cwd and meta.cwd is None:
            meta.cwd = cwd
        branch = obj.get("gitBranch")
        if isinstance(branch, str) and branch:
            meta.git_branch = branch
        version = obj.get("version")
        if isinstance(version, str) and version:
            meta.version = version

        if typ == "assistant":
            lines.assistant(obj, ctx, offset, ts, batch)
        elif typ == "user":
            lines.user(obj, ctx, offset, ts, batch)
        elif typ == "system":
            lines.system(obj, ctx, offset, ts, batch)
        elif typ == "summary":
            text = obj.get("summary")
            if isinstance(text, str) and text and meta.title_rank <= 1:
                meta.title, meta.title_rank = shorten(text), 1
        elif typ == "custom-title":
            text = obj.get("customTitle") or obj.get("title")
            if isinstance(text, str) and text:
                meta.title, meta.title_rank = shorten(text), 3
        elif typ == "ai-title":
            text = obj.get("aiTitle") or obj.get("title")
            if isinstance(text, str) and text and meta.title_rank <= 2:
                meta.title, meta.title_rank = shorten(text), 2
