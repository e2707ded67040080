"""A table that renders only the rows in view, with ``DataTable``'s look.

``DataTable`` keeps every row (its cells, its key, its place) and re-sorts, removes
or re-adds them all when the order changes: at thousands of sessions a sort key, a
filter keystroke or the first load cost seconds of Python on the UI thread. A
:class:`VirtualTable` holds no rows at all: it is handed an *order* (anything with
``len``, ``[i]``, ``index`` and ``in``, see :class:`RowOrder`) and asks its subclass
for the cells of the rows it draws (:meth:`VirtualTable.row_cells`), one screen at a
time (the Line API: ``render_line``). The cursor is a position in that order; the
subclass keeps it on its row by key.

It looks exactly like a ``DataTable`` with a row cursor, zebra stripes, no cell
padding and a one-line header: the same component classes and CSS, the same
styles composed in the same order, the same click metadata on the segments (a
click on a row moves the cursor, on the highlighted row selects it, on a header
posts :class:`VirtualTable.HeaderSelected`), the same keys (page up/down, top,
bottom, enter). Rendered cells and lines are cached by what determines them: a
redraw of rows whose cells did not change is a lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size, Spacing, clamp
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.widget import PseudoClasses

from tokdash.ui.widgets.table_render import HEADER, TableRender, render_cell_lines

__all__ = ["HEADER", "RowOrder", "VirtualTable", "render_cell_lines"]


class RowOrder(Protocol):
    """The rows a table shows, in order, by key (a ``list`` of keys is one)."""

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> str: ...
    def __contains__(self, key: object) -> bool: ...
    def index(self, key: str) -> int: ...


class VirtualTable(TableRender, ScrollView, can_focus=True):
    """Rows drawn from an order and a subclass's cells, only those in view (see the module)."""

    ALLOW_SELECT = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
        Binding("home", "scroll_home", "Home", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]

    # DataTable's component classes and CSS, under this class's name: the same look.
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datatable--cursor", "datatable--hover", "datatable--fixed", "datatable--fixed-cursor",
        "datatable--header", "datatable--header-cursor", "datatable--header-hover", "datatable--odd-row",
        "datatable--even-row",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &.datatable--fixed-cursor { background: $block-cursor-blurred-background; }
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header { background-tint: $foreground 5%; }
            & > .datatable--fixed-cursor { color: $block-cursor-foreground; background: $block-cursor-background; }
        }
        &:dark { & > .datatable--even-row { background: $surface-darken-1 40%; } }
        & > .datatable--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .datatable--header { background: ansi_bright_blue; color: ansi_default; }
        & > .datatable--fixed { background: $secondary-muted; color: $foreground; }
        & > .datatable--odd-row { }
        & > .datatable--even-row { background: $surface-lighten-1 50%; }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .datatable--fixed-cursor { background: $block-cursor-blurred-background; color: $foreground; }
        & > .datatable--header-cursor { background: $accent-darken-1; color: $foreground; }
        & > .datatable--header-hover { background: $accent 30%; }
        & > .datatable--hover { background: $block-hover-background; }
    }
    """

    class RowSelected(Message):
        """Enter on a row, or a click on the highlighted one."""

        def __init__(self, table: VirtualTable, cursor_row: int, row_key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key
            """The key of the row selected."""

        @property
        def control(self) -> VirtualTable:
            """The table (what ``@on`` selectors match)."""
            return self.table

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: VirtualTable, column_key: str, column_index: int) -> None:
            super().__init__()
            self.table = table
            self.column_key = column_key
            """The key of the column clicked."""
            self.column_index = column_index

        @property
        def control(self) -> VirtualTable:
            """The table (what ``@on`` selectors match)."""
            return self.table

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._order: RowOrder = []
        self._column_keys: list[str] = []
        self._widths: list[int] = []
        self._labels: list[Text] = []
        self._layout_gen = 0
        self._cursor = 0
        self._hover = 0
        self._show_hover = False
        self._pseudo = PseudoClasses(False, False, False)
        self._init_render()

    # --- what a subclass provides -------------------------------------------------------------

    def row_cells(self, key: str) -> Sequence[Text] | None:
        """The cells of row ``key``, one ``Text`` per column, each exactly its column's width;
        the *same* object for as long as they read the same (it is what the caches check)."""
        raise NotImplementedError

    # --- columns, order, cursor ---------------------------------------------------------------

    def set_columns(self, columns: Sequence[tuple[str, Text, int]]) -> None:
        """Show ``columns``: (key, header label, width in cells) each, left to right."""
        self._column_keys = [c[0] for c in columns]
        self._labels = [c[1] for c in columns]
        self._widths = [c[2] for c in columns]
        self._layout_gen += 1
        self._clear_caches()
        self._resize_virtual()
        self.refresh()

    @property
    def column_keys(self) -> list[str]:
        """Keys of the columns shown, in order."""
        return list(self._column_keys)

    def column_offset(self, key: str) -> int:
        """The x of column ``key``'s first cell (ValueError when it is not shown)."""
        return sum(self._widths[: self._column_keys.index(key)])

    @property
    def row_count(self) -> int:
        """How many rows the table shows."""
        return len(self._order)

    @property
    def cursor_row(self) -> int:
        """The position of the cursor."""
        return self._cursor

    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        order = self._order
        return order[self._cursor] if 0 <= self._cursor < len(order) else None

    def row_keys(self) -> list[str]:
        """Every row's key in order (a list of them all: for tests and small tables)."""
        order = self._order
        return [order[i] for i in range(len(order))]

    def move_to(self, key: str, *, scroll: bool = True) -> bool:
        """Put the cursor on the row ``key``; False when there is no such row."""
        if key not in self._order:
            return False
        self._move_cursor(self._order.index(key), scroll=scroll)
        return True

    def show_order(self, order: RowOrder, *, keep: str | None = None, top: bool = False) -> None:
        """Show the rows ``order`` (kept by reference: the caller calls again after changing it),
        the cursor on ``keep``'s row, or the first row with ``top``, else where it was; redraws the
        lines in view that read differently."""
        self._order = order
        self._resize_virtual()
        n = len(order)
        if keep is not None and keep in order:
            index = order.index(keep)
        else:
            index = 0 if top else self._cursor
        index = clamp(index, 0, max(n - 1, 0))
        if index != self._cursor:
            self._move_cursor(index)
        self._redraw_changed()

    def _move_cursor(self, index: int, *, scroll: bool = True, animate: bool = False) -> None:
        index = clamp(index, 0, max(len(self._order) - 1, 0))
        old, self._cursor = self._cursor, index
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)
        if old != index or scroll:
            self._scroll_cursor_into_view(animate=animate)

    def _resize_virtual(self) -> None:
        size = Size(sum(self._widths), len(self._order) + 1)
        if size != self.virtual_size:
            self.virtual_size = size

    def _scroll_cursor_into_view(self, animate: bool = False) -> None:
        row = Region(int(self.scroll_x), self._cursor + 1, max(self.size.width, sum(self._widths)), 1)
        self.scroll_to_region(row, animate=animate, spacing=Spacing(1, 0, 0, 0), force=True)

    def _in_view(self) -> range:
        top = int(self.scroll_y)
        return range(top, min(top + max(self.size.height - 1, 0), len(self._order)))

    def _refresh_row(self, index: int) -> None:
        y = index + 1 - int(self.scroll_y)
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _redraw_changed(self) -> None:
        """Redraw the lines in view whose row or cells differ from what they showed."""
        order = self._order
        for index in self._in_view():
            key = order[index]
            shown = self._shown.get(index)
            if shown is None or shown[0] != key or shown[1] is not self.row_cells(key):
                self._refresh_row(index)
        for index in range(len(order), len(order) + max(self.size.height - 1, 0)):
            if index in self._shown:  # a row that went: blank its line
                del self._shown[index]
                self._refresh_row(index)

    # --- mouse --------------------------------------------------------------------------------

    def _set_hover(self, active: bool) -> None:
        self._show_hover = active
        self._refresh_row(self._hover)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(True)
        meta = event.style.meta
        if not meta or "row" not in meta:
            self._set_hover(False)
            return
        if meta["row"] != self._hover:
            old, self._hover = self._hover, meta["row"]
            self._refresh_row(old)
            self._refresh_row(self._hover)

    def _on_leave(self, _event: events.Leave) -> None:
        self._set_hover(False)

    async def _on_click(self, event: events.Click) -> None:
        self._set_hover(True)
        meta = event.style.meta
        if "row" not in meta or "column" not in meta:
            return
        index, column = meta["row"], meta["column"]
        if index == HEADER:
            self.post_message(self.HeaderSelected(self, self._column_keys[column], column))
        elif 0 <= index < len(self._order):
            again = index == self._cursor
            self._move_cursor(index, scroll=False)
            if again:
                self.action_select_cursor()
            self._scroll_cursor_into_view(animate=True)
            event.stop()

    # --- keys ---------------------------------------------------------------------------------

    def action_select_cursor(self) -> None:
        """Enter: select the row under the cursor."""
        key = self.cursor_key()
        if key is not None:
            self.post_message(self.RowSelected(self, self._cursor, key))

    def action_cursor_up(self) -> None:
        """The previous row."""
        self._set_hover(False)
        self._move_cursor(self._cursor - 1, scroll=False)

    def action_cursor_down(self) -> None:
        """The next row."""
        self._set_hover(False)
        self._move_cursor(self._cursor + 1, scroll=False)

    def _page(self) -> int:
        return self.scrollable_content_region.height - 1  # the header does not scroll

    def action_page_down(self) -> None:
        """A page down: the view and the cursor move by a screen."""
        self._set_hover(False)
        height = self._page()
        target = self._cursor + min(height + 1, len(self._order) - self._cursor) - 1
        self.scroll_relative(y=height, animate=False, force=True)
        self._move_cursor(target, scroll=False)

    def action_page_up(self) -> None:
        """A page up."""
        self._set_hover(False)
        height = self._page()
        target = self._cursor - min(height + 1, self._cursor + 1) + 1
        self.scroll_relative(y=-height, animate=False)
        self._move_cursor(target, scroll=False)

    def action_scroll_top(self) -> None:
        """The first row."""
        self._set_hover(False)
        self._move_cursor(0, scroll=False)

    def action_scroll_bottom(self) -> None:
        """The last row."""
        self._set_hover(False)
        self._move_cursor(len(self._order) - 1, scroll=False)

    def action_scroll_home(self) -> None:
        """The leftmost column."""
        self._set_hover(False)
        self.scroll_x = 0

    def action_scroll_end(self) -> None:
        """The rightmost column."""
        self._set_hover(False)
        self.scroll_x = self.max_scroll_x
