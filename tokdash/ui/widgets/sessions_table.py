"""The sessions table: a ``DataTable`` upserted by row key, with responsive fixed-width columns.

Rows are described as *specs* (plain strings with semantic style names, see
:data:`CellSpec`); the table turns a spec into ``rich.text.Text`` only when it
differs from what the row shows, so a refresh that changes nothing redraws
nothing. Every column except the flexible title has a fixed width: Textual
re-measures a whole column when shrinking text is written with
``update_width=True``, which is far too slow for a live table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Segment = tuple[str, str]
"""(text, style name): a run of plain text and the semantic style it is shown in."""
CellSpec = tuple[Segment, ...]
"""What one cell shows, as comparable plain data."""
RowSpec = dict[str, CellSpec]
"""Column key -> cell spec, for every column (shown or not)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the sessions table."""

    key: str
    label: str
    width: int
    """Content width in cells; 0 for the flexible column, which takes the rest."""
    right: bool = False
    """Right-justified (numbers)."""
    min_screen: int = 0
    """Shown when the table is at least this wide."""
    max_screen: int = 10_000
    """Shown when the table is narrower than this."""
    grow: int = 0
    """Extra cells the column takes, at most, when the flexible column has more than it needs."""
    text: bool = False
    """Holds text (sorts A to Z first) rather than a number (sorts largest first)."""


NARROW = 110
"""Below this many cells only the essential columns show (a tmux split pane)."""
FULL = 150
"""From this many cells the tokens by kind show."""
WIDE = 170
"""From this many cells every column shows (turns per prompt, tool uses)."""

COLUMNS: tuple[Column, ...] = (
    Column("status", "status", 10),
    Column("agent", "agent", 6, min_screen=120, text=True),
    Column("project", "project", 13, min_screen=NARROW, grow=10, text=True),
    Column("title", "title", 0, min_screen=NARROW, text=True),
    Column("name", "project · title", 0, max_screen=NARROW, text=True),
    Column("models", "models", 10, min_screen=FULL, grow=18, text=True),
    Column("turns", "pr/turns", 8, right=True, min_screen=FULL),
    Column("per_prompt", "t/pr", 4, right=True, min_screen=WIDE),
    Column("tools", "tools", 5, right=True, min_screen=WIDE),
    Column("input", "in", 6, right=True, min_screen=FULL),
    Column("output", "out", 6, right=True, min_screen=FULL),
    Column("cache_write", "c.write", 7, right=True, min_screen=FULL),
    Column("cache_read", "c.read", 6, right=True, min_screen=FULL),
    Column("total", "total", 6, right=True),
    Column("hit", "hit", 4, right=True),
    Column("ctx", "ctx", 4, right=True, min_screen=NARROW),
    Column("cost", "cost", 8, right=True),
    Column("burn", "$/h", 6, right=True, min_screen=130),
    Column("last", "last", 8, right=True),
    Column("duration", "dur", 6, right=True, min_screen=NARROW),
)
"""Every column, in display order; which show depends on the table's width."""

MIN_FLEX = 12
"""The flexible (title) column never gets narrower than this."""
TITLE_ROOM = 40
"""Once the title has this many cells, columns that can grow (models, project) take the rest."""
CELL_CACHE_LIMIT = 20_000
"""Rendered cells kept (a few full screens of every sort order); cleared when exceeded."""


def columns_for(width: int) -> list[tuple[Column, int]]:
    """The columns to show in a table ``width`` cells wide, each with its content width."""
    shown = [c for c in COLUMNS if c.min_screen <= width < c.max_screen]
    # Each column is followed by a one-cell gutter; one more cell for the scrollbar.
    fixed = sum(c.width + 1 for c in shown if c.width) + 1
    flex_count = sum(1 for c in shown if not c.width) or 1
    flex = max(MIN_FLEX, (width - fixed) // flex_count - 1)
    widths = {c.key: c.width for c in shown}
    spare = flex - TITLE_ROOM  # a wide terminal: models and project names need not be cut
    for c in shown:
        if c.grow and spare > 0:
            extra = min(c.grow, spare)
            widths[c.key] += extra
            spare -= extra
            flex -= extra
    return [(c, widths[c.key] or flex) for c in shown]


class RowText(Text):
    """A row's first cell, carrying its row key.

    ``DataTable.sort`` hands its key function only cell values; the key lets the
    table be put in *our* order (computed from session data, not from cell text).
    """

    row_key: str = ""


class SessionsTable(DataTable):
    """One row per session (and per project header when grouped), upserted by key."""

    DEFAULT_CSS = """
    SessionsTable { scrollbar-size-vertical: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "Top", show=False, id="sessions.top", tooltip="The first session (also g g)"),
        Binding("end,G", "scroll_bottom", "Bottom", show=False, id="sessions.bottom",
                tooltip="The last session (also G)"),
    ]

    pinned = True
    """The cursor sits on the top row, whatever session sorts first, until the user moves it
    (keys, a click, the palette); from then on it follows its session through re-sorts."""

    _rows_only = False
    """While True, a whole-table refresh (as ``update_cell`` requests) is left out: ``sync``
    repaints just the rows it rewrote. (A class default: ``refresh`` runs during ``__init__``.)"""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", cell_padding=0, zebra_stripes=True, **kwargs)
        self._specs: dict[str, RowSpec] = {}
        """Row key -> the spec its cells show now (every row in the table)."""
        self._columns: list[tuple[Column, int]] = []
        self._layout_width = -1
        self.styles_map: dict[str, Style] = {}
        """Semantic style name -> Rich style; set from the theme by the screen."""
        self._cell_cache: dict[tuple, tuple[object, list]] = {}
        """Cell place and look -> (the value rendered, its lines); see ``_render_cell``."""

    # --- layout -----------------------------------------------------------------

    @property
    def column_keys(self) -> list[str]:
        """Keys of the columns shown now, in order."""
        return [c.key for c, _w in self._columns]

    def apply_layout(self, width: int) -> bool:
        """Pick the columns for ``width``; rebuilds the columns only when they change.

        A resize is the one time the table is rebuilt (columns cannot be hidden in a
        DataTable); the cursor is put back on its row by key.
        """
        if width <= 0:
            return False
        layout = columns_for(width)
        if layout == self._columns:
            self._layout_width = width
            return False
        keep = self.cursor_key()
        order = self.row_keys()
        self._columns = layout
        self._layout_width = width
        self.clear(columns=True)
        for col, w in layout:
            label = Text(col.label, style="bold", no_wrap=True, end="")
            self._fit(label, w, col.right)
            self.add_column(label, width=w + 1, key=col.key)
        for key in order:
            self.add_row(*self._cells(key, self._specs[key]), key=key)
        if keep is not None:
            self.move_to(keep)
        return True

    # --- rows -------------------------------------------------------------------

    def row_keys(self) -> list[str]:
        """Row keys in display order."""
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]

    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can briefly point past the last row after a removal
            return None

    def move_to(self, key: str, *, scroll: bool = True) -> bool:
        """Put the cursor on the row ``key``; False when there is no such row."""
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        if index != self.cursor_row:
            self.move_cursor(row=index, scroll=scroll)
        return True

    def spec(self, key: str) -> RowSpec | None:
        """The spec row ``key`` shows now."""
        return self._specs.get(key)

    def sync(self, specs: Mapping[str, RowSpec], order: Sequence[str], *, keep_cursor: bool = True,
             restyle: bool = False) -> int:
        """Make the table show exactly the rows ``order``, in that order.

        ``specs`` holds the new spec of every row that may have changed; rows not in
        it keep what they show. Only cells whose spec differs are written
        (``update_cell``), new rows are added by key, rows no longer wanted are
        removed, and the cursor stays on its row by key (``sort`` keeps the cursor's
        *index*, so another row would end up under it). ``restyle`` rewrites every
        cell (after a theme change). Returns the number of cells written.
        """
        cursor = self.cursor_key() if keep_cursor and not self.pinned else None
        wanted = set(order)
        written = 0
        with self.app.batch_update():
            gone = [k for k in self._specs if k not in wanted]
            if gone and len(gone) > len(self._specs) // 2:
                # remove_row is O(rows) each: when most rows go, clear and re-add the rest
                # (from their current spec unless a new one is given).
                kept = {k: v for k, v in self._specs.items() if k in wanted}
                self.clear()
                self._specs = {}
                specs = {**kept, **specs}
            else:
                for k in gone:
                    self.remove_row(k)
                    del self._specs[k]
            touched: list[str] = []
            added = False
            self._rows_only = True
            try:
                for key in order:
                    new = specs.get(key)
                    old = self._specs.get(key)
                    if old is None:
                        if new is None:
                            continue
                        self.add_row(*self._cells(key, new), key=key)
                        self._specs[key] = new
                        written += len(self._columns)
                        added = True
                        continue
                    if new is None or (new == old and not restyle):
                        continue
                    for col, w in self._columns:
                        cell = new.get(col.key, ())
                        if restyle or cell != old.get(col.key, ()):
                            self.update_cell(key, col.key, self._cell(col, w, cell, key))
                            written += 1
                            if not touched or touched[-1] != key:
                                touched.append(key)
                    self._specs[key] = new
            finally:
                self._rows_only = False
            if added or gone:
                self.refresh()
            else:
                for key in touched:
                    self.refresh_row(self.get_row_index(key))
            if self.row_keys() != list(order):
                index = {k: i for i, k in enumerate(order)}
                first = self._columns[0][0].key
                self.sort(first, key=lambda cell: index.get(getattr(cell, "row_key", ""), len(index)))
            if cursor is not None:
                self.move_to(cursor)
            elif self.pinned and self.row_count and self.cursor_row != 0:
                self.move_cursor(row=0)
        return written

    # --- the user moves the cursor: it follows its session from then on ------------

    def _unpin(self) -> None:
        self.pinned = False

    def action_cursor_up(self) -> None:
        """Previous row (↑); the cursor now follows its session."""
        self._unpin()
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        """Next row (↓)."""
        self._unpin()
        super().action_cursor_down()

    def action_page_up(self) -> None:
        """A page up."""
        self._unpin()
        super().action_page_up()

    def action_page_down(self) -> None:
        """A page down."""
        self._unpin()
        super().action_page_down()

    def action_scroll_top(self) -> None:
        """The first row."""
        self._unpin()
        super().action_scroll_top()

    def action_scroll_bottom(self) -> None:
        """The last row."""
        self._unpin()
        super().action_scroll_bottom()

    def _on_click(self, event) -> None:
        # Textual calls every class's handler along the MRO: DataTable's moves the cursor next.
        if event.style.meta.get("row", -1) >= 0:  # a row, not the header (which sorts)
            self._unpin()

    # --- rendering ----------------------------------------------------------------

    def refresh(self, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
        """Refresh, except the whole-table repaint each ``update_cell`` asks for inside ``sync``.

        ``sync`` repaints only the rows it rewrote (``refresh_row``): a tick that updates
        a few "12s ago" cells then costs a few lines of rendering, not a full screen.
        Row additions, removals and sorts still repaint everything.
        """
        if self._rows_only and not regions and not layout and not recompose:
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _render_cell(self, row_index: int, column_index: int, base_style, width: int, cursor: bool = False,
                     hover: bool = False):
        """Render one cell, re-using its previous rendering while its value object is unchanged.

        DataTable (8.2.8) keys its cell cache by a table-wide update counter, so one
        ``update_cell`` re-renders *every* visible cell: a tick that rewrites six
        "12s ago" cells cost ~50 ms of Rich rendering for a full screen. Here a body
        cell is cached by what determines its look: its value (by identity: a write
        stores a new ``Text``), its place (row/column index: the segments carry them
        as click metadata), the row style, cursor/hover state, focus and theme.
        """
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        value = self._data[row_key][column_key]
        key = (row_key, column_key, row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self.show_cursor, self._pseudo_class_state, self.app.theme)
        hit = self._cell_cache.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if len(self._cell_cache) > CELL_CACHE_LIMIT:
            self._cell_cache.clear()
        self._cell_cache[key] = (value, lines)
        return lines

    # --- cells ------------------------------------------------------------------

    def _cells(self, key: str, spec: RowSpec) -> list[Text]:
        return [self._cell(col, w, spec.get(col.key, ()), key) for col, w in self._columns]

    def _cell(self, col: Column, width: int, spec: CellSpec, key: str) -> Text:
        text = RowText(no_wrap=True, end="") if col is self._columns[0][0] else Text(no_wrap=True, end="")
        styles = self.styles_map
        for s, style in spec:
            text.append(s, styles.get(style))
        self._fit(text, width, col.right)
        if isinstance(text, RowText):
            text.row_key = key
        return text

    @staticmethod
    def _fit(text: Text, width: int, right: bool) -> None:
        """Crop to ``width`` with an ellipsis, justify, and add the one-cell gutter."""
        justify(text, width, right)
        text.append(" ")


def justify(text: Text, width: int, right: bool) -> None:
    """Crop ``text`` in place to ``width`` cells with an ellipsis and pad it to exactly that
    width (numbers to the right): DataTable does not justify a cell's ``Text`` itself."""
    if text.cell_len > width:
        text.truncate(width, overflow="ellipsis")
    pad = width - text.cell_len
    if pad > 0:
        if right:
            text.pad_left(pad)
        else:
            text.pad_right(pad)
