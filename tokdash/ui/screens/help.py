"""The help screen: renders the sections it is given (keys, formulas, rules, tips, honesty).

It knows no other screen: whoever opens it (the app) passes the sections, the key
tables built from each screen's own ``BINDINGS`` (bindings are data, so the help
cannot drift from what the keys do) and the rules from ``tokdash.ui.texts``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static


@dataclass(frozen=True, slots=True)
class HelpSection:
    """One heading of the help and its rows: (name, text), or (where, keys, what they do)."""

    title: str
    id: str
    """Names the section's widget (``#help-<id>``)."""
    rows: tuple[tuple[str, ...], ...] = ()
    text: tuple[str, ...] = ()
    """Paragraphs after the rows (the last one dimmed when there are several)."""


def key_rows(bindings: Iterable[BindingType], key_display) -> list[tuple[str, str]]:
    """(keys, what they do) of documented bindings; keys of one action and text grouped.

    ``key_display`` turns a binding into how its key reads (``App.get_key_display``).
    """
    grouped: dict[tuple[str, str], list[str]] = {}
    for b in Binding.make_bindings(bindings):
        text = b.tooltip or b.description
        if not text:
            continue
        grouped.setdefault((b.action, text), []).append(key_display(b))
    return [(" ".join(dict.fromkeys(keys)), text) for (_action, text), keys in grouped.items()]


class HelpScreen(Screen):
    """Every key and every formula: the sections it was given."""

    BINDINGS = [
        Binding("escape,backspace,question_mark", "close", "Close", tooltip="Back to where you were", id="help.close"),
        Binding("j", "scroll('down')", "Down", show=False, tooltip="Scroll down (also ↓, pgdn, end)", id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, tooltip="Scroll up (also ↑, pgup, home)", id="help.up"),
    ]

    DEFAULT_CSS = """
    HelpScreen #help-scroll { padding: 0 1; }
    HelpScreen .help-heading { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self, sections: list[HelpSection]) -> None:
        super().__init__()
        self.sections = sections
        """What the screen shows, in order."""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll"):
            yield Static(Text("tokdash help — Esc closes", style="bold"), markup=False)
            for section in self.sections:
                yield Static(section.title, classes="help-heading", markup=False)
                yield Static(self._body(section), id=f"help-{section.id}", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        """Back to the screen below."""
        self.dismiss()

    def action_scroll(self, direction: str) -> None:
        """j/k scroll like the arrows."""
        scroll = self.query_one("#help-scroll", VerticalScroll)
        if direction == "down":
            scroll.scroll_down()
        else:
            scroll.scroll_up()

    @staticmethod
    def _body(section: HelpSection) -> RenderableType:
        parts: list[RenderableType] = []
        if section.rows:
            width = max(len(r) for r in section.rows)
            t = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), show_header=False, show_edge=False)
            for i in range(width):
                last = i == width - 1
                t.add_column(style="bold" if i == 0 else None, no_wrap=not last, ratio=1 if last else None)
            for row in section.rows:
                t.add_row(*(Text(cell) for cell in row))
            parts.append(t)
        for i, para in enumerate(section.text):
            parts.append(Text(para, style="dim" if i and i == len(section.text) - 1 else ""))
        return parts[0] if len(parts) == 1 else Group(*parts)
