"""Records: the smallest facts tokdash reads out of a transcript.

A source module turns transcript lines into these records; the store dedups and
aggregates them. Nothing here knows about files, Textual or prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Usage:
    """Token counts of one API call (or a sum of calls).

    Every agent's *input* is stored uncached: Codex reports input including the
    cached part, and its source subtracts it before building a Usage.
    """

    input: int = 0
    """Uncached input tokens."""
    output: int = 0
    """Output tokens, reasoning/thinking included."""
    cache_write_5m: int = 0
    """Tokens written to the 5-minute prompt cache."""
    cache_write_1h: int = 0
    """Tokens written to the 1-hour prompt cache."""
    cache_read: int = 0
    """Tokens served from the prompt cache."""
    reasoning: int = 0
    """Reasoning tokens (already inside ``output``; kept apart for display)."""
    web_search: int = 0
    """Server-side web search requests."""

    @property
    def cache_write(self) -> int:
        """All cache-write tokens, both TTLs."""
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        """input + output + cache write + cache read (reasoning is inside output)."""
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @property
    def input_side(self) -> int:
        """Every token the model read: uncached input, cache writes and cache reads."""
        return self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read

    def add(self, other: Usage, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` subtract) another usage in place."""
        self.input += sign * other.input
        self.output += sign * other.output
        self.cache_write_5m += sign * other.cache_write_5m
        self.cache_write_1h += sign * other.cache_write_1h
        self.cache_read += sign * other.cache_read
        self.reasoning += sign * other.reasoning
        self.web_search += sign * other.web_search

    def copy(self) -> Usage:
        """A new Usage with the same counts."""
        return Usage(
            self.input,
            self.output,
            self.cache_write_5m,
            self.cache_write_1h,
            self.cache_read,
            self.reasoning,
            self.web_search,
        )


READ = "read"
"""Tool kind: puts a file's content into the context (Claude's Read, Codex's read_file)."""
EDIT = "edit"
"""Tool kind: changes a file in place (Edit, MultiEdit, NotebookEdit, Codex's apply_patch)."""
WRITE = "write"
"""Tool kind: writes a whole file (Claude's Write). Kept apart from EDIT because the
Write-vs-Edit tip needs to tell a rewrite from an in-place change."""
SEARCH = "search"
"""Tool kind: looks for files or text (Grep, Glob, Codex's grep_files and list_dir)."""
SUBAGENT = "subagent"
"""Tool kind: starts a sub-agent (Task, Agent, Codex's spawn_agent)."""
OTHER = "other"
"""Tool kind: everything else (shell commands, web search, MCP tools, plans...)."""
TOOL_KINDS = frozenset({READ, EDIT, WRITE, SEARCH, SUBAGENT, OTHER})
"""Every tool kind. Sources map their own tool names to these; the model reads only kinds."""


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One tool_use block: the tool's name, its kind and, for file tools, what it touched."""

    name: str
    target: str | None = None
    """The file path of Read/Edit/Write/NotebookEdit, the pattern of Grep/Glob, else None."""
    whole_file: bool = False
    """A Read without offset/limit: the whole file went into the context."""
    kind: str = OTHER
    """One of ``TOOL_KINDS``, set by the source. Last, with a default, so rows the index
    stored before kinds existed still decode (as ``other``)."""


@dataclass(slots=True)
class Call:
    """One billed API call, as read from one copy of it in one file.

    The same call can appear in several lines and files (streaming snapshots,
    resumed sessions, sidechain replays); the store keeps the best copy.
    """

    key: tuple
    """Global dedup key, e.g. ``("claude", message_id, request_id)``."""
    session_id: str
    model: str
    timestamp: float
    """Epoch seconds (UTC) of the line."""
    usage: Usage
    rank: tuple
    """Tie-break for equal copies: the smaller rank is where the call first happened."""
    sidechain: bool = False
    agent_id: str | None = None
    """Sub-agent id when the call was made by a sub-agent, else None."""
    fast: bool = False
    """Billed at the fast-mode multiplier."""
    msg_id: object = None
    """Match id for the replica rule: Claude's ``message.id``; Codex's cumulative total."""
    replica: bool = False
    """This copy may replay a call of another session (a sidechain, a fork, a sub-agent thread).

    A non-replica copy beats a replica, and when either copy is a replica two calls
    with the same ``msg_id`` are one call even if their keys differ (Claude's
    ``/btw`` asides replay parent messages under new request ids)."""
    tools: dict[str, ToolUse] = field(default_factory=dict)
    """tool_use id -> tool use, for the tool_use blocks of this call seen in this line."""
    open: bool = False
    """True when this copy has no stop reason yet (the response may still be streaming)."""
    stop_reason: str | None = None
    file_path: str = ""
    """Which file this copy came from."""
    line_no: int = 0


@dataclass(slots=True)
class Event:
    """A countable, dedupable non-usage fact: a human prompt, a compaction, an API error."""

    key: tuple
    session_id: str
    kind: str
    """One of ``prompt``, ``compaction``, ``rate_limit``, ``api_error``, ``tool`` (a tool
    call recorded apart from any API call, as Codex writes them; ``text`` is its name,
    ``tool_kind`` its kind, the last element of ``key`` its call id), ``tool_output``
    (``text`` is the tool call id, ``value`` the size in bytes of what the model was given),
    ``turn_end`` (the agent finished its turn and waits for its human: Claude Code's
    ``stop_hook_summary`` / ``turn_duration`` system lines or a final ``end_turn``, Codex's
    ``task_complete`` / ``turn_aborted``; ``text`` says which), ``task`` (what a parent agent
    asked of a sub-agent: ``text`` its first words, ``agent_id`` the sub-agent; not activity
    of its own)."""
    timestamp: float
    rank: tuple
    text: str = ""
    agent_id: str | None = None
    value: int = 0
    """Kind-dependent number, e.g. tokens before a compaction."""
    tool_kind: str = ""
    """For a ``tool`` event: one of ``TOOL_KINDS``; empty for every other event (and in
    rows stored before kinds existed, which readers take as ``other``)."""


@dataclass(slots=True)
class SessionMeta:
    """What one file says about its session, apart from counted records."""

    session_id: str
    agent: str
    path: str
    """The file these facts came from."""
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None
    title: str | None = None
    """A custom or AI-given title, or a summary line."""
    title_rank: int = 0
    """Strength of ``title``: 3 custom title, 2 AI title, 1 summary."""
    first_prompt: str | None = None
    first_ts: float | None = None
    last_ts: float | None = None
    is_subagent_file: bool = False
    agent_id: str | None = None
    forked_from: str | None = None
    model_hint: str | None = None
    """Codex: the latest model named by a turn_context line."""
    bad_lines: int = 0
    """Lines that did not decode as JSON."""
    resume_command: str | None = None
    """The shell command that resumes this session in its CLI, from the source; None when
    the CLI has none or the session id is not safe to put on a command line."""


@dataclass(slots=True)
class Batch:
    """What a source made of a run of complete lines of one file."""

    path: str = ""
    """The file the records were read from."""
    replaces_file: bool = False
    """This batch is the whole content of its file now: whatever the file contributed
    before is withdrawn first. Set by the reader when a file shrank or was replaced and is
    re-read from zero, and by sources whose files are documents rewritten in place."""
    calls: list[Call] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    metas: list[SessionMeta] = field(default_factory=list)
    bad_lines: int = 0
    pending: dict = field(default_factory=dict)
    """Calls of this batch by key, so a source can fold the streaming copies of one
    response (one line per content block) into one record before the store sees it."""

    def extend(self, other: Batch) -> None:
        """Append another batch's contents to this one."""
        self.calls.extend(other.calls)
        self.events.extend(other.events)
        self.metas.extend(other.metas)
        self.bad_lines += other.bad_lines
