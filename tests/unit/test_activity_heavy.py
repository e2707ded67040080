"""Status, burn rates, windowed totals, heavy thresholds and the demo fleet: pure, no Textual."""

from __future__ import annotations

import time

import pytest

from tokdash.demo import Fleet
from tokdash.format import fmt_age, fmt_duration, next_age_change
from tokdash.model.activity import (
    IDLE_SECONDS,
    OPEN_CALL_GRACE_SECONDS,
    WORKING_SECONDS,
    CallSeries,
    burn,
    next_status_change,
    session_status,
)

NOW = 1_790_000_000.0


@pytest.mark.parametrize(
    ("age", "open_", "status"),
    [
        (0, False, "working"),
        (WORKING_SECONDS - 1, False, "working"),
        (WORKING_SECONDS, False, "idle"),
        (WORKING_SECONDS + 5, True, "working"),  # a long response keeps it working...
        (OPEN_CALL_GRACE_SECONDS, True, "idle"),  # ...but not for ever
        (IDLE_SECONDS - 1, False, "idle"),
        (IDLE_SECONDS, False, "done"),
        (IDLE_SECONDS * 10, True, "done"),  # a transcript cut mid-response is not working
    ],
)
def test_status(age, open_, status):
    assert session_status(NOW - age, open_, NOW) == status


def test_status_without_activity_is_done():
    assert session_status(None, True, NOW) == "done"
    assert next_status_change(None, False, NOW) == float("inf")


def test_next_status_change_is_the_next_threshold():
    last = NOW - 30
    assert next_status_change(last, False, NOW) == last + WORKING_SECONDS
    assert next_status_change(last, True, NOW - 0) == last + WORKING_SECONDS
    assert next_status_change(NOW - 200, True, NOW) == NOW - 200 + OPEN_CALL_GRACE_SECONDS
    assert next_status_change(NOW - IDLE_SECONDS - 1, False, NOW) == float("inf")


@pytest.mark.parametrize(
    ("seconds", "text", "next_change"),
    [(0, "0s ago", 1), (12.25, "12s ago", 0.75), (59, "59s ago", 1), (60, "1m ago", 60), (125, "2m ago", 55),
     (3600, "1h ago", 3600), (86400 * 3 + 5, "3d ago", 86395)],
)
def test_relative_age_and_when_it_changes(seconds, text, next_change):
    assert fmt_age(seconds) == text
    assert next_age_change(seconds) == pytest.approx(next_change)
    assert fmt_age(seconds + next_change) != text
    assert fmt_age(seconds + next_change - 0.01) == text


@pytest.mark.parametrize(("seconds", "text"), [(5, "5s"), (720, "12m"), (3900, "1h05m"), (183600, "2d03h")])
def test_duration(seconds, text):
    assert fmt_duration(seconds) == text


def test_call_series_windows_and_burn():
    s = CallSeries([(NOW - 400, 1000, 1.0), (NOW - 200, 2000, 2.0), (NOW - 10, 3000, 3.0), (0.0, 99, 9.0)])
    assert len(s) == 3  # the undated call cannot fall in any window
    assert s.window(NOW - 300, NOW) == (5000, 5.0)
    assert s.window(NOW - 200, NOW) == (3000, 3.0)  # (start, end]: a call exactly at start is out
    assert s.window(NOW, NOW + 10) == (0, 0.0)
    b = burn(s, NOW)
    assert b.tokens_per_min == pytest.approx(5000 / 5)
    assert b.usd_per_hour == pytest.approx(5.0 * 12)
    assert burn(s, NOW + 3600).usd_per_hour == 0


def test_demo_fleet_appends_live_calls(tmp_path):
    fleet = Fleet(tmp_path, now=NOW)
    fleet.write_history()
    sizes = {s.path: s.path.stat().st_size for s in fleet.live}
    for s in fleet.live:
        s.next_at = 0
    assert fleet.step(NOW + 10) == len(fleet.live)
    assert all(s.path.stat().st_size > sizes[s.path] for s in fleet.live)
    assert all(s.path.read_bytes().endswith(b"\n") for s in fleet.live)
    assert fleet.step(NOW + 10) == 0  # nothing is due again yet


def test_demo_fleet_thread_starts_and_stops(tmp_path):
    fleet = Fleet(tmp_path, pace=50.0)
    fleet.write_history()
    fleet.start()
    try:
        deadline = time.monotonic() + 5
        while fleet.appended == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fleet.appended > 0
    finally:
        fleet.stop()
    n = fleet.appended
    time.sleep(0.1)
    assert fleet.appended == n
