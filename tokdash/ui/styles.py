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


def _parse(text: str) -> Color | None:
    try:
        return Color.parse(text)
    except Exception:  # noqa: BLE001 - any value a theme may hold that is not one colour
        return None


def theme_styles(app: App) -> dict[str, Style]:
    """Semantic style names -> Rich styles taken from the app's current theme."""
    variables = app.get_css_variables()
    background = _parse(variables.get("background", "")) or Color(0, 0, 0)

    def color(name: str, fallback: str) -> str:
        """A theme variable as a Rich colour; ``fallback`` (a Rich colour name) when the theme's value
        is not a colour on its own ("auto 60%", "ansi_default 50%")."""
        c = _parse(variables.get(name, ""))
        if c is None:
            return fallback
        if c.ansi is not None:
            # An ANSI theme: the terminal's own palette (color(4), default), not a guess at its RGB.
            return "default" if c.ansi < 0 else f"color({c.ansi})"
        if c.a < 1:
            c = (background.blend(c.with_alpha(1.0), c.a) if background.ansi is None else c.with_alpha(1.0))
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
