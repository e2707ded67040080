"""Plan-window and budget gauges in ``tokdash serve``: what the dashboard's header shows, as metrics."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

from support import Served, wait_for

from tokdash.model.budget import BudgetStatus
from tokdash.model.limits import ESTIMATE, OFFICIAL, PlanWindow
from tokdash.serve.gauges import collect
from tokdash.serve.limits import budgets, plan_windows


def test_official_windows_and_period_budgets_become_ratios():
    now = time.time()
    catalog = SimpleNamespace(
        windows=[PlanWindow("claude", "5h", 42.0, now + 3600, now, OFFICIAL),
                 PlanWindow("codex", "5h", None, now + 3600, now, ESTIMATE, tokens=10, cost_usd=1.0)],
        budgets=[BudgetStatus("daily_usd", 20.0, 5.0, "2026-12-01"),
                 BudgetStatus("daily_usd", 5.0, 4.0, "2026-12-01", "/home/me/client"),
                 BudgetStatus("session_usd", 10.0, 12.0, "claude:abc")])
    samples = collect([plan_windows, budgets], catalog, now, warn=lambda m: None)
    got = {(s.name, s.labels): s.value for s in samples}
    assert got == {
        ("tokdash_plan_window_used_ratio", (("agent", "claude"), ("window", "5h"))): 0.42,
        ("tokdash_budget_used_ratio", (("budget", "daily_usd"),)): 0.25,
    }  # no estimate (no limit to be a share of), no project path, no session id as a label


def test_serve_exports_the_windows_the_status_line_recorded(fleet, env):
    from tokdash.ingest import plan_limits

    data = env["TOKDASH_DATA_DIR"]
    now = time.time()
    old = os.environ.get("TOKDASH_DATA_DIR")
    os.environ["TOKDASH_DATA_DIR"] = data
    try:
        plan_limits.record([PlanWindow("claude", "5h", 37.0, now + 7200, now - 30, OFFICIAL)])
    finally:
        if old is None:
            os.environ.pop("TOKDASH_DATA_DIR", None)
        else:
            os.environ["TOKDASH_DATA_DIR"] = old
    served = Served(["--metrics", "127.0.0.1:0", *fleet.flags()], env)
    try:
        got = wait_for("the plan-window gauge", lambda: served.scrape().get("tokdash_plan_window_used_ratio"))
        labels, value = got[0]
        assert labels["agent"] == "claude" and labels["window"] == "5h" and value == 0.37
    finally:
        assert served.stop() == 0
