"""Claude Code.

Layouts (see ``shared/docs/transcript-formats.md``):

- ``projects/<encoded-cwd>/<sessionId>.jsonl``: the main transcript; the file stem
  is the session id (what ``claude --resume`` takes).
- ``projects/<encoded-cwd>/<sessionId>/subagents/agent-<id>.jsonl`` (2.1.x): a
  sub-agent of the folder's session (``agent-acompact-*`` is auto-compaction).
- ``projects/<encoded-cwd>/agent-<hex>.jsonl`` (2.0.x): a sub-agent whose session is
  the ``sessionId`` written inside its lines.
- ``isSidechain: true`` lines inside a main file (1.0.x): inline sub-agent calls.

``source`` knows the layouts and the byte prefilter; ``lines`` turns a decoded line into
records (calls, prompts, compactions, errors, turn ends).
"""

from tokdash.sources.claude.source import NAME, ClaudeSource, projects_dir

__all__ = ["NAME", "ClaudeSource", "projects_dir"]
