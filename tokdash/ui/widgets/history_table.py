"""The History screen's per-project and per-model tables."""

from __future__ import annotations

from typing import ClassVar

from textual.widgets import DataTable

from tokdash.format import fmt_cost, fmt_tokens
from tokdash.model.history import HistoryRow
from tokdash.ui.widgets.cells import fitted

WIDE = 120
"""From this width the tables show every column."""


class HistoryTable(DataTable):
    """Projects or models over the window: a name column that takes the rest, fixed-width numbers.

    Refreshed in place: cells are rewritten only where they changed; rows are rebuilt
    only when the set or order of rows changes, and the cursor then goes back to its
    row by key. (A few dozen rows at most, recomputed every few seconds at most.)
    """

    DEFAULT_CSS = """
    HistoryTable { height: 1fr; }
    """

    NUMBERS: ClassVar[tuple[tuple[str, str, int], ...]] = (
        ("sessions", "sess", 4), ("calls", "calls", 6), ("tokens", "tokens", 7), ("cost", "cost", 9),
    )

    def __init__(self, name_label: str, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, cell_padding=1, **kwargs)
        self.name_label = name_label
        self._shown: list[tuple[str, dict[str, str]]] = []
        self._layout: tuple[tuple[str, str, int], ...] = ()

    def columns_for(self, width: int) -> tuple[tuple[str, str, int], ...]:
        """(key, label, width) of the columns shown in a table ``width`` cells wide."""
        numbers = [c for c in self.NUMBERS if width >= WIDE // 2 or c[0] in ("tokens", "cost")]
        fixed = sum(w + 2 for _k, _l, w in numbers) + 3  # cell padding, and the scrollbar
        return (("name", self.name_label, max(8, width - fixed - 2)), *numbers)

    def fill(self, rows: list[tuple[str, str, HistoryRow]]) -> None:
        """Show ``rows`` as (row key, name shown, figures)."""
        data = [(key, {"name": name, "sessions": str(r.sessions), "calls": str(r.calls),
                       "tokens": fmt_tokens(r.usage.total), "cost": fmt_cost(r.cost, bool(r.unpriced))})
                for key, name, r in rows]
        self._show(data)

    def on_resize(self) -> None:
        """A new width may show more or fewer columns."""
        if self._shown:
            self._show(self._shown)

    def _show(self, data: list[tuple[str, dict[str, str]]]) -> None:
        layout = self.columns_for(self.size.width or 40)
        if layout == self._layout and [k for k, _v in data] == [k for k, _v in self._shown]:
            for (key, new), (_k, old) in zip(data, self._shown, strict=True):
                for col, _label, width in layout:
                    if new[col] != old[col]:
                        self.update_cell(key, col, fitted(new[col], width, col != "name"))
            self._shown = data
            return
        keep = None
        if self.row_count:
            try:
                keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
            except Exception:  # noqa: BLE001 - the cursor past the last row
                keep = None
        if layout != self._layout:
            self.clear(columns=True)
            for key, label, width in layout:
                self.add_column(fitted(label, width, key != "name", style="bold"), width=width, key=key)
            self._layout = layout
        else:
            self.clear()
        for key, values in data:
            self.add_row(*(fitted(values[c], w, c != "name") for c, _l, w in layout), key=key)
        self._shown = data
        if keep is not None and keep in {k for k, _v in data}:
            self.move_cursor(row=self.get_row_index(keep))
