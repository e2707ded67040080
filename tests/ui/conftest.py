"""Fixtures and helpers of the UI tests: a steady cursor, and waiting with a deadline."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

DEADLINE = 10.0
"""Seconds a test waits for the app to reach a state before it fails."""


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch):
    """No blinking cursor in any test: a blink toggling mid-screenshot changes the SVG, and a
    blink timer firing between two assertions makes a test depend on timing."""
    monkeypatch.setattr(Input.cursor_blink, "_default", False)


async def wait_for(pilot, predicate, deadline: float = DEADLINE) -> float:
    """Poll ``predicate`` until true; returns the seconds waited. Fails at the deadline."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < deadline, "timed out"
        await pilot.pause(0.01)
    return time.monotonic() - start


def fleet_dirs(fleet) -> dict[str, list[str]]:
    """A demo fleet's homes as ``--<agent>-dir`` values: every agent it writes."""
    return {name: [str(path)] for name, path in fleet.dirs().items()}
