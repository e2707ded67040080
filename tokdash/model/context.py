"""Context windows of the models agents route to, for the context-size column.

Transcripts never state the window, so this is a small table by model family.
A session whose observed context exceeds the standard window must be on a
larger-window variant (Claude's 1M-token context), and is shown against that.
"""

from __future__ import annotations

_WINDOWS: tuple[tuple[str, int], ...] = (
    ("claude-", 200_000),
    ("anthropic.claude", 200_000),
    ("gpt-5", 272_000),
    ("gpt-4.1", 1_000_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
)
_LARGE = 1_000_000


def context_window(model: str | None, observed: int = 0) -> int | None:
    """The context window (tokens) of ``model``; None when unknown."""
    if not model:
        return None
    low = model.lower()
    if "[1m]" in low:
        return _LARGE
    for prefix, window in _WINDOWS:
        if low.startswith(prefix) or prefix in low:
            if observed > window and window < _LARGE:
                return _LARGE
            return window
    return None
