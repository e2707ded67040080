"""One module per agent CLI. Adding an agent means adding a module here and to ``SOURCES``."""

from tokdash.sources.claude import ClaudeSource
from tokdash.sources.codex import CodexSource

SOURCES = {"claude": ClaudeSource(), "codex": CodexSource()}
"""Every supported agent CLI by name."""
