"""Plan windows and budgets in the dashboard: gauges in the header, the session's windows in the
detail, an alert once per crossing, and source notices."""

from __future__ import annotations

import pytest

from tests.ui.conftest import wait_for
from tests.ui.detail_fixture import KEY, NOW, fixture_app, open_detail
from tokdash.ingest import plan_limits
from tokdash.model.limits import OFFICIAL, PlanWindow
from tokdash.sources import notices
from tokdash.ui.widgets.header import HeaderStrip


@pytest.fixture
def windows(tmp_path, monkeypatch):
    """An official Claude 5-hour window at 42 %, resetting in two hours, and a weekly one at 91 %."""
    data = tmp_path / "data"
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(data))
    plan_limits.record([
        PlanWindow("claude", "5h", 42.0, NOW + 7200, NOW - 60, OFFICIAL),
        PlanWindow("claude", "7d", 91.0, NOW + 3 * 86400, NOW - 60, OFFICIAL),
    ])
    return data


async def test_the_header_shows_the_plan_windows_coloured_by_how_full(tmp_path, windows, utc):
    app = fixture_app(tmp_path / "s", now=NOW)
    async with app.run_test(size=(160, 45)) as pilot:
        app._check_limits()
        header = app.screen.query_one(HeaderStrip)
        await wait_for(pilot, lambda: header._text is not None and "5h 42 %" in header._text.plain)
        plain = header._text.plain
        assert "5h 42 % ↻" in plain and "7d 91 %" in plain
        styles = {plain[span.start:span.end]: span.style for span in header._text.spans}
        assert styles["7d 91 %"] == header.styles_map["bad"]  # nearly full: red
        await open_detail(pilot)
        detail = str(app.screen.query_one("#detail-header").content)
        assert "5h 42 %" in detail and "official" in detail


async def test_a_budget_crossing_alerts_once(tmp_path, monkeypatch, utc):
    config = tmp_path / "config" / "tokdash" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[budget]\ndaily_usd = 0.01\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "data"))
    app = fixture_app(tmp_path / "s", now=NOW)
    async with app.run_test(size=(160, 45)) as pilot:
        app._check_limits()
        await wait_for(pilot, lambda: any("budget" in n.message for n in app._notifications))
        first = [n.message for n in app._notifications if "budget" in n.message]
        assert any("over budget" in m for m in first)
        header = app.screen.query_one(HeaderStrip)
        await wait_for(pilot, lambda: header._text is not None and "$0.01" in header._text.plain)
        app._limits_due = 0.0
        app._check_limits()
        await pilot.pause(0.3)
        assert [n.message for n in app._notifications if "budget" in n.message] == first  # once per crossing


async def test_a_source_notice_reaches_the_header(tmp_path, utc):
    app = fixture_app(tmp_path / "s", now=NOW)
    notices.post("/x/opencode.db", "opencode.db is locked by OpenCode; read again on its next change")
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            app._check_limits()
            header = app.screen.query_one(HeaderStrip)
            await wait_for(pilot, lambda: header._text is not None and "opencode.db is locked" in header._text.plain)
    finally:
        notices.clear("/x/opencode.db")
    assert KEY  # the fixture session is there throughout
