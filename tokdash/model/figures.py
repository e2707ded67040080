"""The figures derived the same way wherever a session's totals are held.

A ``SessionSummary``, the status line's running tally (``TallyView``) and the status line's
copy read back from its state header (``report.statusline.Figures``) each hold ``usage``,
``unpriced_models``, ``context_tokens`` and ``context_window``; these are what follows from
them. No imports: the status line's fast path reads it.
"""

from __future__ import annotations


class SessionFigures:
    """Cost completeness, cache hit rate and context share, from the attributes named above."""

    __slots__ = ()

    @property
    def cost_partial(self) -> bool:
        """Some calls used a model without a known price: the cost is a lower bound."""
        return bool(self.unpriced_models)  # type: ignore[attr-defined]

    @property
    def cache_hit_rate(self) -> float | None:
        """cache_read / (input + cache_write + cache_read); None with no input at all."""
        usage = self.usage  # type: ignore[attr-defined]
        side = usage.input_side
        return usage.cache_read / side if side else None

    @property
    def context_pct(self) -> float | None:
        """Current context size as a share of the window."""
        window = self.context_window  # type: ignore[attr-defined]
        return self.context_tokens / window if window else None  # type: ignore[attr-defined]
