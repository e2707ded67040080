"""Every theme Textual offers, on every screen: the app keeps running and restyles.

A theme's variables need not be plain colours: the ANSI themes hold ``ansi_default`` and
``ansi_default 50%`` (which is not a colour on its own). Picking one in the palette once
crashed the sessions screen; previewing themes one after another is what a user does.
"""

from __future__ import annotations

import pytest
from rich.style import Style

from tests.ui.conftest import fleet_dirs
from tokdash.demo import Fleet
from tokdash.ingest.discovery import resolve_roots
from tokdash.model.pricing import PriceBook
from tokdash.ui.app import TokdashApp
from tokdash.ui.screens.detail import SessionDetailScreen
from tokdash.ui.screens.help import HelpScreen
from tokdash.ui.screens.history import HistoryScreen
from tokdash.ui.styles import theme_styles

NOW = 1_790_000_000.0


@pytest.fixture(scope="module")
def fleet_root(tmp_path_factory):
    fleet = Fleet(tmp_path_factory.mktemp("themes") / "fleet", now=NOW)
    fleet.write_history()
    return fleet


def make_app(fleet: Fleet) -> TokdashApp:
    roots = resolve_roots(list(fleet.dirs()), fleet_dirs(fleet))
    app = TokdashApp(roots, clock=lambda: NOW, watch=False, background_load=False, prices=PriceBook())
    app.load_sync()
    return app


async def test_every_theme_on_every_screen(fleet_root):
    app = make_app(fleet_root)
    async with app.run_test(size=(120, 36)) as pilot:
        themes = sorted(app.available_themes)
        assert {"ansi-dark", "ansi-light", "textual-light"} <= set(themes)
        for keys, screen_type in (([], None), (["enter"], SessionDetailScreen), (["escape", "h"], HistoryScreen),
                                  (["escape", "question_mark"], HelpScreen)):
            await pilot.press(*keys)
            await pilot.pause()
            if screen_type is not None:
                assert isinstance(app.screen, screen_type)
            for theme in themes:
                app.theme = theme
                await pilot.pause()
                assert app.is_running, theme
                styles = theme_styles(app)
                assert all(isinstance(style, Style) for style in styles.values())
                # a colour the table draws with is one Rich can render (not a parse failure)
                assert styles["ok"].color is not None and styles["badge"].color is not None, theme


async def test_an_ansi_theme_uses_the_terminal_palette(fleet_root):
    app = make_app(fleet_root)
    async with app.run_test(size=(120, 36)) as pilot:
        app.theme = "ansi-dark"
        await pilot.pause()
        styles = theme_styles(app)
        # ansi_green is the terminal's colour 2, whatever RGB the terminal gives it
        assert styles["ok"].color.number is not None
        assert styles["archived"].color is not None  # "ansi_default 50%": the fallback, not a crash
