"""Cells of the small tables (History): cut, padded, justified ``Text``."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from tokdash.ui.widgets.sessions_table import justify


def fitted(value: str | Text, width: int, right: bool = False, style: str | Style = "") -> Text:
    """One table cell: cut to ``width`` with an ellipsis, padded (numbers to the right).

    DataTable does not justify a cell's ``Text``; padding it is what aligns the digits."""
    text = value.copy() if isinstance(value, Text) else Text(value, style=style)
    text.no_wrap = True
    text.end = ""
    justify(text, width, right)
    return text
