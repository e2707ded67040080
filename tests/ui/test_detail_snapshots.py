"""Snapshots of the detail screen at a wide and a narrow (tmux pane) size, with a frozen clock.

The app is seeded synchronously (``snap_compare`` waits for idle, not for workers) and
local time is UTC, so the SVGs are the same on every machine. The wide SVG is also
``screenshots/detail.svg``.
"""

from __future__ import annotations

import pytest

from tests.ui.detail_fixture import fixture_app


@pytest.fixture
def app(tmp_path, utc):
    return fixture_app(tmp_path)


def test_detail_wide(snap_compare, app):
    assert snap_compare(app, terminal_size=(160, 45), press=["enter"])


def test_detail_narrow(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["enter"])


def test_detail_narrow_scrolled_to_tips(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["enter", "end"])
