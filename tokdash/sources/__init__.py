"""One module per agent CLI. Adding an agent means adding a module here and to ``SOURCES``."""

from tokdash.sources.claude import ClaudeSource
from tokdash.sources.codex import CodexSource
from tokdash.sources.gemini import GeminiSource
from tokdash.sources.opencode import OpenCodeSource
from tokdash.sources.qwen import QwenSource

SOURCES = {
    "claude": ClaudeSource(),
    "codex": CodexSource(),
    "gemini": GeminiSource(),
    "opencode": OpenCodeSource(),
    "qwen": QwenSource(),
}
"""Every supported agent CLI by name, in the order of flags, help and the empty state."""
