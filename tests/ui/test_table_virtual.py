"""The virtual sessions table on its own: only rows in view are made, scrolling, the cursor by key,
clicks on rows and headers, narrowing, stale rows, and its fast cell rendering equal to Rich's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style
from textual.app import App, ComposeResult

from tokdash.ui.widgets.sessions_table import COLUMNS, SessionsTable
from tokdash.ui.widgets.virtual_table import VirtualTable, render_cell_lines

SIZE = (160, 30)
BODY = SIZE[1] - 1  # the header takes a line


class Host(App):
    """A bare app around one sessions table showing ``keys`` (specs made by ``spec_of``)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self.keys = keys
        self.asked: list[str] = []
        self.version: dict[str, int] = {}
        self.selected: list[str] = []
        self.headers: list[str] = []

    def compose(self) -> ComposeResult:
        yield SessionsTable(id="t")

    def on_mount(self) -> None:
        table = self.table
        table.spec_source = self.spec_of
        table.apply_layout(SIZE[0])
        table.sync({}, self.keys)
        table.focus()

    @property
    def table(self) -> SessionsTable:
        return self.query_one(SessionsTable)

    def spec_of(self, key: str):
        self.asked.append(key)
        v = self.version.get(key, 0)
        return {c.key: ((f"{key}/{c.key}/{v}", "bold" if v else ""),) for c in COLUMNS}

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        self.selected.append(event.row_key)

    def on_virtual_table_header_selected(self, event: VirtualTable.HeaderSelected) -> None:
        self.headers.append(event.column_key)


def line(table: SessionsTable, y: int) -> str:
    return table.render_line(y).text


def keys(n: int) -> list[str]:
    return [f"a:r{i:05d}" for i in range(n)]


async def test_only_the_rows_in_view_are_made_however_many_there_are():
    app = Host(keys(20_000))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.table
        assert table.row_count == 20_000
        assert 0 < len(app.asked) <= BODY
        for _ in range(3):
            await pilot.press("pagedown")
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 19_999 and table.cursor_key() == "a:r19999"
        assert len(app.asked) <= 5 * BODY  # a few screens, never the fleet
        assert "a:r19999/title" in line(table, BODY)  # the last line shows the last row
        assert "status" in line(table, 0) and "title" in line(table, 0)  # the header stays put
        assert f"a:r{int(table.scroll_y):05d}/" in line(table, 1)


async def test_scrolling_through_every_row_keeps_only_a_bounded_few_in_memory():
    from tokdash.ui.widgets.sessions_table import ROW_CACHE_LIMIT
    from tokdash.ui.widgets.table_render import LINE_CACHE_LIMIT

    app = Host(keys(12_000))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        for top in range(0, 12_000, BODY):
            table.scroll_to(y=top, animate=False)
            for y in range(SIZE[1]):
                table.render_line(y)
        assert len(app.asked) >= 12_000  # every row was drawn once...
        assert len(table._rows) <= ROW_CACHE_LIMIT  # ...and only so many are kept
        assert len(table._shown) <= LINE_CACHE_LIMIT + 1 and len(table._line_cache) <= LINE_CACHE_LIMIT + 1
        await pilot.pause()


async def test_page_keys_move_a_screen_and_home_goes_back():
    app = Host(keys(500))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.press("pagedown")
        assert table.cursor_row == BODY and table.scroll_y == BODY
        await pilot.press("pagedown", "pageup")
        assert table.cursor_row == BODY
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_y == 0


async def test_the_cursor_follows_its_row_through_a_new_order_and_is_scrolled_into_view():
    order = keys(300)
    app = Host(order)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.press("down", "down", "down")
        assert not table.pinned and table.cursor_key() == "a:r00003"
        table.sync({}, order[::-1])
        await pilot.pause()
        assert table.cursor_key() == "a:r00003" and table.cursor_row == 296
        assert table.scroll_y <= 296 < table.scroll_y + BODY
        assert "a:r00003/" in line(table, 296 - int(table.scroll_y) + 1)


async def test_a_pinned_cursor_stays_on_the_top_row_whatever_sorts_first():
    order = keys(50)
    app = Host(order)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        table.sync({}, ["a:new", *order])
        await pilot.pause()
        assert table.pinned and table.cursor_row == 0 and table.cursor_key() == "a:new"


async def test_a_click_moves_the_cursor_a_second_one_selects_a_header_click_names_its_column():
    app = Host(keys(100))
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.click(SessionsTable, offset=(20, 4))
        assert table.cursor_row == 3 and not table.pinned and app.selected == []
        await pilot.click(SessionsTable, offset=(20, 4))
        await pilot.pause()
        assert app.selected == ["a:r00003"]
        await pilot.click(SessionsTable, offset=(table.column_offset("cost") + 2, 0))
        await pilot.pause()
        assert app.headers == ["cost"] and table.cursor_row == 3  # a header click moves no cursor
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["a:r00003", "a:r00003"]


async def test_narrowing_blanks_the_lines_of_rows_that_went_and_keeps_the_cursor_in_range():
    order = keys(100)
    app = Host(order)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.press("end")
        table.sync({}, order[:3])
        await pilot.pause()
        assert table.row_count == 3 and table.cursor_row == 2 and table.scroll_y == 0
        assert "a:r00002/" in line(table, 3) and line(table, 4).strip() == ""
        table.sync({}, [])
        await pilot.pause()
        assert table.row_count == 0 and table.cursor_key() is None and line(table, 1).strip() == ""


async def test_stale_rows_are_made_again_when_drawn_and_only_then():
    order = keys(200)
    app = Host(order)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        await pilot.pause()
        app.asked.clear()
        app.version.update({"a:r00001": 1, "a:r00150": 1})
        made = table.sync({}, order, stale=["a:r00001", "a:r00150"])
        await pilot.pause()
        assert app.asked == ["a:r00001"]  # the row in view, at once; the other one is not drawn
        assert made == len(table.column_keys)  # every cell of that row reads differently
        assert table.get_cell("a:r00001", "title").plain.strip() == "a:r00001/title/1"
        assert table.sync({}, order, stale=["a:r00002"]) == 0  # made again, the same: nothing written
        table.move_to("a:r00150")
        await pilot.pause()
        assert "a:r00150/title/1" in line(table, 150 - int(table.scroll_y) + 1)


TEXTS = st.lists(st.tuples(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12),
                           st.sampled_from(["", "bold", "muted", "warn"])), max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=6), st.sampled_from([None, "bold", "red on blue", "italic #ff8800"]),
       st.sampled_from([None, "reverse", "green"]))
def test_a_cell_drawn_the_fast_way_is_what_rich_renders(cells, pre_extra, post):
    """The fast path (the Text's segments, styled pre + own + post) gives Rich's very segments."""

    async def run() -> None:
        app = Host(keys(1))
        async with app.run_test(size=SIZE):
            table = app.table
            table.styles_map = {"bold": Style(bold=True), "muted": Style(dim=True), "warn": Style(color="yellow")}
            pre = Style.from_meta({"row": 3, "column": 1}) + (Style.parse(pre_extra) if pre_extra else Style())
            post_style = Style.parse(post) if post else Style.null()
            for spec in cells:
                for column, width in table._columns[:4]:
                    cell = table._cell(column, width, tuple(spec))
                    want = render_cell_lines(app.console, app.console_options, cell, pre, post_style, width + 1)[0]
                    assert table._styled(cell, pre, post_style) == want

    import asyncio

    asyncio.run(run())
