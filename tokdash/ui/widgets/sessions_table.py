"""The sessions table: a virtual table of the screen's order, with responsive fixed-width columns.

Rows are described as *specs* (plain strings with semantic style names, see
:data:`CellSpec`); the table asks for a row's spec only when it draws the row, and
turns a spec into ``rich.text.Text`` only when it differs from what the row shows,
so a refresh that changes nothing redraws nothing and a fleet of 50,000 sessions
costs what one screen of rows costs. Every column except the flexible title has a
fixed width (the table never measures its rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType

from tokdash.ui.widgets.virtual_table import RowOrder, VirtualTable

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
ROW_CACHE_LIMIT = 5_000
"""Rows whose spec and cells are kept; beyond, only the rows in view are (the rest are made
again when they come into view)."""


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


@dataclass(slots=True)
class _Shown:
    """What one row shows: its spec, and the cells made from it (for one layout and theme)."""

    spec: RowSpec
    cells: list[Text]
    gen: int
    fresh: bool = True
    """False once its data changed: the spec is made again when the row is next drawn."""


class SessionsTable(VirtualTable):
    """One row per session (and per project header when grouped), drawn from the screen's order.

    The table holds no rows: it shows an order (see :class:`VirtualTable`) and asks
    ``spec_source`` for a row's spec when it first draws it. :meth:`sync` says which
    rows' data changed; a row in view is made again at once and redrawn only if it
    reads differently (a cell whose spec did not change keeps its ``Text``, so its
    rendering is reused), a row out of view when it next comes into view.
    """

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

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec_source: Callable[[str], RowSpec | None] = lambda _key: None
        """Row key -> the spec it shows now (None: no such row); set by the screen."""
        self._rows: dict[str, _Shown] = {}
        """Rows drawn (or asked about) lately: what they show."""
        self._columns: list[tuple[Column, int]] = []
        self._gen = 0
        """Bumped on a new layout or theme: every row's cells are made again (their specs stay)."""
        self._written = 0
        """Cells made so far (what :meth:`sync` counts)."""
        self.styles_map: dict[str, Style] = {}
        """Semantic style name -> Rich style; set from the theme by the screen."""

    # --- layout -----------------------------------------------------------------

    def apply_layout(self, width: int) -> bool:
        """Pick the columns for ``width``; True when they changed (the cursor keeps its row)."""
        if width <= 0:
            return False
        layout = columns_for(width)
        if layout == self._columns:
            return False
        self._columns = layout
        self._gen += 1
        labels = []
        for col, w in layout:
            label = Text(col.label, style="bold", no_wrap=True, end="")
            self._fit(label, w, col.right)
            labels.append((col.key, label, w + 1))
        self.set_columns(labels)
        return True

    # --- rows -------------------------------------------------------------------

    def spec(self, key: str) -> RowSpec | None:
        """The spec row ``key`` shows now (None when it is not shown)."""
        if key not in self._order:
            return None
        shown = self._shown_row(key)
        return None if shown is None else shown.spec

    def get_cell(self, key: str, column: str) -> Text:
        """The ``Text`` cell ``column`` of row ``key`` shows (KeyError when either is not shown)."""
        cells = self.row_cells(key) if key in self._order else None
        if cells is None or column not in self._column_keys:
            raise KeyError((key, column))
        return cells[self._column_keys.index(column)]

    def row_cells(self, key: str) -> list[Text] | None:
        """The cells of row ``key`` (made from its spec when they are not current)."""
        shown = self._shown_row(key)
        return None if shown is None else shown.cells

    def _shown_row(self, key: str, spec: RowSpec | None = None) -> _Shown | None:
        shown = self._rows.get(key)
        if spec is None:
            if shown is not None and shown.fresh:
                if shown.gen == self._gen:
                    return shown
                spec = shown.spec  # a new layout or theme: the same spec, new cells
            else:
                spec = self.spec_source(key)
                if spec is None:
                    return None
        if shown is not None and shown.gen == self._gen:
            shown.fresh = True
            if spec == shown.spec:
                return shown  # the same cells: nothing to redraw
            # Cells whose spec did not change keep their Text (and so their rendering).
            old = shown.spec
            cells = []
            for cell, (col, w) in zip(shown.cells, self._columns):
                new = spec.get(col.key, ())
                if new == old.get(col.key, ()):
                    cells.append(cell)
                else:
                    cells.append(self._cell(col, w, new))
                    self._written += 1
        else:
            cells = [self._cell(col, w, spec.get(col.key, ())) for col, w in self._columns]
            self._written += len(cells)
        if key not in self._rows and len(self._rows) >= ROW_CACHE_LIMIT:
            self._forget_rows()
        shown = self._rows[key] = _Shown(spec, cells, self._gen)
        return shown

    def _forget_rows(self) -> None:
        """Keep only the rows in view (scrolling through 50,000 rows must not keep them all)."""
        order = self._order
        keep = {order[i] for i in self._in_view()}
        self._rows = {k: v for k, v in self._rows.items() if k in keep}

    def sync(self, specs: Mapping[str, RowSpec], order: RowOrder, *, stale: Iterable[str] = (),
             keep_cursor: bool = True, restyle: bool = False) -> int:
        """Show the rows ``order`` (kept by reference), in that order.

        ``specs`` holds new specs of rows (any rows); ``stale`` names rows whose data
        changed: their spec is asked again from ``spec_source`` when they are drawn (now,
        for the rows in view). Rows named in neither keep what they show. The cursor stays
        on its row by key (on the top row while ``pinned``). ``restyle`` makes every cell
        again (after a theme change). Returns the number of cells made anew (cells that
        read differently, in rows given or in view).
        """
        cursor = self.cursor_key() if keep_cursor and not self.pinned else None
        written = self._written
        if restyle:
            self._gen += 1
        for key in stale:
            shown = self._rows.get(key)
            if shown is not None:
                shown.fresh = False
        for key, spec in specs.items():
            self._shown_row(key, spec)
        self.show_order(order, keep=cursor, top=self.pinned)
        return self._written - written

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
        # Textual calls every class's handler along the MRO: VirtualTable's moves the cursor next.
        if event.style.meta.get("row", -1) >= 0:  # a row, not the header (which sorts)
            self._unpin()

    # --- cells ------------------------------------------------------------------

    def _cell(self, col: Column, width: int, spec: CellSpec) -> Text:
        text = Text(no_wrap=True, end="")
        styles = self.styles_map
        for s, style in spec:
            text.append(s, styles.get(style))
        self._fit(text, width, col.right)
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
