"""Colour bands: when a cache hit rate or a context size reads good, middling or bad.

One definition, read by the sessions table, the detail screen, the tips and the
help, so a number never has two colours on two screens. A band is a semantic
name (``ok``, ``warn``, ``bad``, ``none``); the UI maps names to theme colours.
"""

from __future__ import annotations

OK, WARN, BAD, NONE = "ok", "warn", "bad", "none"

CACHE_HIT_GOOD = 0.70
"""A cache hit rate at or above this is good (green)."""
CACHE_HIT_POOR = 0.30
"""Below this it is bad (red); in between, middling (amber)."""

CONTEXT_WARN = 0.60
"""A context at or above this share of the model's window is filling up (amber)..."""
CONTEXT_BAD = 0.80
"""...and at or above this it is near the window (red): the CLI will soon auto-compact,
and every call re-reads it all. The heavy rule and the compact tip use the same share."""


def cache_hit_band(rate: float | None) -> str:
    """``ok`` (>= 70 %), ``warn`` (30-70 %), ``bad`` (< 30 %), ``none`` without input."""
    if rate is None:
        return NONE
    if rate >= CACHE_HIT_GOOD:
        return OK
    if rate >= CACHE_HIT_POOR:
        return WARN
    return BAD


def context_band(share: float | None, bad: float = CONTEXT_BAD) -> str:
    """``ok`` below 60 % of the window, ``warn`` from 60 %, ``bad`` from ``bad`` (80 %)."""
    if share is None:
        return NONE
    if share >= bad:
        return BAD
    if share >= CONTEXT_WARN:
        return WARN
    return OK
