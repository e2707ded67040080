"""Semantic styles from the app's theme, and which style each colour band takes.

Widgets describe what they show with style *names* (``ok``, ``warn``, ``heavy``...);
this module turns names into Rich styles from the current theme's variables, so no
hex colour is written in code and a theme change restyles everything.
"""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color

from tokdash.model import bands

BAND_STYLE = {bands.OK: "ok", bands.WARN: "warn", bands.BAD: "bad", bands.NONE: "muted"}
"""Colour band (``tokdash.model.bands``) -> semantic style name."""


def hit_style(rate: float | None) -> str:
    """Style name of a cache hit rate: ok (>= 70 %), warn (30-70 %), bad (< 30 %)."""
    return BAND_STYLE[bands.cache_hit_band(rate)]


def context_style(share: float | None, bad: float = bands.CONTEXT_BAD) -> str:
    """Style name of a context share: plain below 60 %, warn from 60 %, bad from ``bad``."""
    band = bands.context_band(share, bad)
    return "" if band == bands.OK else BAND_STYLE[band]


def theme_styles(app: App) -> dict[str, Style]:
    """Semantic style names -> Rich styles taken from the app's current theme."""
    variables = app.get_css_variables()
    background = Color.parse(variables.get("background", "#000000"))

    def color(name: str, fallback: str) -> str:
        try:
            c = Color.parse(variables.get(name, fallback))
        except Exception:  # a theme value like "auto 60%" is not a colour on its own
            c = Color.parse(fallback)
        if c.a < 1:
            c = background.blend(c.with_alpha(1.0), c.a)
        return c.hex6

    ok = color("text-success", "green")
    # (each name below is one look; text cues -- glyphs, words, ▲, ! -- carry the meaning
    # too, so nothing depends on colour alone)
    warn = color("text-warning", "yellow")
    bad = color("text-error", "red")
    error = color("error", "red")
    accent = color("text-primary", "blue")
    return {
        "": Style(),
        "muted": Style(dim=True),
        "bold": Style(bold=True),
        "ok": Style(color=ok),
        "warn": Style(color=warn),
        "bad": Style(color=bad),
        "working": Style(color=ok, bold=True),
        "waiting": Style(color=accent, bold=True),
        "idle": Style(color=warn),
        "done": Style(dim=True),
        "heavy": Style(color=bad, bold=True),
        "badge": Style(color=error, reverse=True, bold=True),
        "group": Style(color=accent, bold=True),
        "archived": Style(color=color("foreground-muted", "grey50"), italic=True),
        "accent": Style(color=accent),
        "bar": Style(color=color("primary", "blue")),
        "today": Style(color=color("success", "green")),
        "selected": Style(color=color("accent", "yellow"), bold=True),
        "selected_blur": Style(color=color("secondary", "cyan")),
    }
