"""How a :class:`~tokdash.ui.widgets.virtual_table.VirtualTable` draws its lines: ``DataTable``'s look.

The same styles composed in the same order as ``DataTable`` with a row cursor, zebra
stripes, no cell padding and a one-line header (its component classes, its
``Styled(Padding(cell))`` sandwich, the click metadata ``{"row", "column"}`` on every
segment, the extension of a row past its last column), so a screenshot is the same
to the byte. Cells and lines are cached by what determines them, and a cell exactly
its column's width is styled from its ``Text``'s own segments without Rich's layout
pass (equal to it: a test holds them so): a screen of re-sorted rows costs ~10 ms.
"""

from __future__ import annotations

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.strip import Strip

CACHE_LIMIT = 20_000
"""Rendered cells kept (a few screens of every sort order); cleared when exceeded."""
LINE_CACHE_LIMIT = 2_000
"""Rendered lines, and the rows last drawn, kept (a few dozen screens); cleared when exceeded:
scrolling through 50,000 rows must not keep them all."""
HEADER = -1
"""The row index of the header (as ``DataTable`` numbers it in its click metadata)."""


def render_cell_lines(console, options, cell: Text, pre: Style, post: Style, width: int) -> list:
    """A cell's lines exactly as ``DataTable`` renders them (Rich's whole pipeline)."""
    options = options.update_dimensions(width, 1).update(no_wrap=True)
    return console.render_lines(Styled(Padding(cell, (0, 0)), pre_style=pre, post_style=post), options)


class TableRender:
    """The drawing half of a virtual table (a mixin: the table holds the order, the columns,
    the cursor and the hover state it reads)."""

    def _init_render(self) -> None:
        self._line_cache: dict[tuple, tuple[object, Strip]] = {}
        self._cell_cache: dict[tuple, tuple[Text, list]] = {}
        self._style_cache: dict[tuple, object] = {}
        """Composed styles, and the widget's and rows' own, until the next style update."""
        self._text_cache: dict[int, tuple[Text, list[Segment]]] = {}
        self._shown: dict[int, tuple[str, object]] = {}
        """Row index -> (key, cells) as last drawn: what a change must redraw."""

    def notify_style_update(self) -> None:
        """The theme or a pseudo-class changed: rendered styles are stale."""
        super().notify_style_update()
        self._clear_caches()
        self.refresh()

    def _clear_caches(self) -> None:
        self._line_cache.clear()
        self._cell_cache.clear()
        self._style_cache.clear()
        self._shown.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        """Note the pseudo-classes (focus, hover) first: they are part of every cache key."""
        self._pseudo = self.get_pseudo_class_state()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header, or the row scrolled there."""
        scroll_x, scroll_y = self.scroll_offset
        if y >= 1:
            y += scroll_y
        base = self._style_cache.get(("base", self._pseudo))
        if base is None:  # (the widget's style moves only with its pseudo-classes and the theme)
            base = self._style_cache[("base", self._pseudo)] = self.rich_style
        return self._render_line(y, scroll_x, scroll_x + self.size.width, base)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        width = self.size.width
        index = y - 1
        if index == HEADER:
            key, cells = "", self._labels
        elif index < len(self._order):
            key = self._order[index]
            cells = self.row_cells(key)
            if cells is None:
                return Strip.blank(width, base_style)
            if len(self._shown) > LINE_CACHE_LIMIT:
                self._shown.clear()  # (only means a few lines are redrawn once more)
            self._shown[index] = (key, cells)
        else:
            return Strip.blank(width, base_style)
        cursor, hover = index == self._cursor, index == self._hover
        cache_key = (index, key, x1, x2, width, cursor, hover, self._show_hover, base_style, self._pseudo,
                     self._layout_gen)
        hit = self._line_cache.get(cache_key)
        if hit is not None and hit[0] is cells:
            return hit[1]
        row_style = self._row_style(index)
        segments: list[Segment] = []
        for column, (cell, cell_width) in enumerate(zip(cells, self._widths)):
            segments.extend(self._render_cell(index, column, key, cell, row_style, cell_width, cursor, hover)[0])
        # The rest of the line, past the last column, in the row's look (DataTable's extension).
        extend, _post = self._styles(index == HEADER, hover, cursor, False)
        extend = row_style + extend + Style.from_meta({"row": index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * max(0, width - sum(self._widths)), extend))
        strip = Strip(line_crop(segments, x1, x2, width)).adjust_cell_length(width, base_style).simplify()
        if len(self._line_cache) > LINE_CACHE_LIMIT:
            self._line_cache.clear()
        self._line_cache[cache_key] = (cells, strip)
        return strip

    def _row_style(self, index: int) -> Style:
        name = "datatable--header" if index == HEADER else "datatable--odd-row" if index % 2 else "datatable--even-row"
        style = self._style_cache.get((name, self._pseudo))
        if style is None:
            style = self._style_cache[(name, self._pseudo)] = self.get_component_styles(name).rich_style
        return style

    def _render_cell(self, index: int, column: int, key: str, cell: Text, row_style: Style, width: int,
                     cursor: bool, hover: bool) -> list:
        cache_key = (key, column, index, row_style, width, cursor, hover, self._show_hover, self._pseudo)
        hit = self._cell_cache.get(cache_key)
        if hit is not None and hit[0] is cell:
            return hit[1]
        base = row_style + Style.from_meta({"row": index, "column": column})
        component, post = self._styles(index == HEADER, hover, cursor, True)
        if cell.cell_len == width and "\n" not in cell.plain and "\t" not in cell.plain:
            lines = [self._styled(cell, base + component, post)]
        else:
            lines = render_cell_lines(self.app.console, self.app.console_options, cell, base + component, post, width)
        if len(self._cell_cache) > CACHE_LIMIT:
            self._cell_cache.clear()
        self._cell_cache[cache_key] = (cell, lines)
        return lines

    def _styled(self, cell: Text, pre: Style, post: Style) -> list[Segment]:
        """What ``render_cell_lines`` gives for a one-line cell exactly its column's width,
        without Rich's layout pass: the text's own segments (rendered once per ``Text``), each
        styled ``pre + its style + post`` (``Styled``'s sandwich; a test holds them equal)."""
        hit = self._text_cache.get(id(cell))
        if hit is None or hit[0] is not cell:
            if len(self._text_cache) > CACHE_LIMIT:
                self._text_cache.clear()
            hit = self._text_cache[id(cell)] = (cell, list(cell.render(self.app.console, end="")))
        add = pre.__add__
        if post:
            return [Segment(text, add(style) + post) for text, style, _control in hit[1]]
        return [Segment(text, add(style)) for text, style, _control in hit[1]]

    def _styles(self, header: bool, hover: bool, cursor: bool, css_foreground: bool) -> tuple[Style, Style]:
        """(component style, post style) of a cell, as DataTable composes them (its cursor's
        foreground has CSS priority, its background the renderable's)."""
        cache_key = (header, hover, cursor, css_foreground, self._show_hover)
        hit = self._style_cache.get(cache_key)
        if hit is not None:
            return hit
        get = self.get_component_rich_style
        style = Style()
        if hover and self._show_hover:
            style += get("datatable--hover")
            if header:
                style += get("datatable--header-hover")
        if cursor:
            style += get("datatable--cursor")
            if header:
                style += get("datatable--header-cursor")
        post = Style.from_color(color=style.color) if css_foreground else Style.null()
        self._style_cache[cache_key] = (style, post + Style.null())
        return style, post + Style.null()

