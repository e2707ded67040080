"""Snapshots of the detail screen at a wide and a narrow (tmux pane) size, with a frozen clock.

The app is seeded synchronously (``snap_compare`` waits for idle, not for workers) and
local time is UTC, so the SVGs are the same on every machine. (``screenshots/detail.svg`` is
the demo's looping session: ``test_snapshots.py``.)
"""

from __future__ import annotations

import pytest

from tests.ui.detail_fixture import fixture_app


@pytest.fixture(scope="module")
def session_dir(tmp_path_factory):
    """One copy of the fixture session (and one index) for the tests that only read it."""
    return tmp_path_factory.mktemp("detail")


@pytest.fixture
def app(session_dir, utc):
    return fixture_app(session_dir)


def test_detail_wide(snap_compare, app):
    assert snap_compare(app, terminal_size=(160, 45), press=["enter"])


def test_detail_narrow(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["enter"])


def test_detail_narrow_scrolled_to_tips(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["enter", "end"])


def test_detail_light_theme(snap_compare, app):
    """The timeline's axis, times and legend stay readable on a light background."""

    async def light(pilot):
        pilot.app.theme = "textual-light"
        await pilot.pause()
        await pilot.press("enter")

    assert snap_compare(app, terminal_size=(160, 45), run_before=light)
