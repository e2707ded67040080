"""Budgets: the config table, spend per local day / ISO week / month, alerts once per crossing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tokdash.ingest.spend import alerts_path, load_tracker, save_tracker
from tokdash.model.alerts import AlertTracker, gauges, osc9, osc777
from tokdash.model.budget import (
    BudgetConfigError,
    SessionSpend,
    earliest_start,
    evaluate,
    load_budget,
    over_limit,
    parse_budget,
    periods,
)
from tokdash.model.history import PICO, Fact
from tokdash.model.limits import ESTIMATE, PlanWindow
from tokdash.model.records import Usage

PARIS = ZoneInfo("Europe/Paris")
TOKYO = ZoneInfo("Asia/Tokyo")


def at(text: str, tz=PARIS) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


def fact(ts: float, usd: float, session: str = "s1", agent: str = "claude", unpriced: int = 0) -> Fact:
    return Fact(ts, agent, session, "m", Usage(input=1), 1, round(usd * PICO), unpriced)


def by_key(statuses):
    return {(s.limit_key, s.project): s for s in statuses}


def test_the_table_is_parsed_and_wrong_values_are_one_line_errors():
    cfg = parse_budget({"daily_usd": 20, "weekly_usd": 100.5, "session_tokens": 5_000_000, "alert_at": [80, 50, 100],
                        "hard_cap": True, "bell": True,
                        "projects": {"/work/client-a": {"daily_usd": 5, "session_usd": 2}}})
    assert cfg.limits.daily_usd == 20.0 and cfg.limits.monthly_usd is None and cfg.alert_at == (50.0, 80.0, 100.0)
    assert cfg.hard_cap and cfg.bell and not cfg.desktop_notify and cfg.active
    assert cfg.projects[0][0] == "/work/client-a" and cfg.projects[0][1].session_usd == 2.0
    assert not parse_budget(None).active
    for bad in ({"daily_usd": 0}, {"daily_usd": "20"}, {"daily_usd": True}, {"weekly": 3}, {"alert_at": []},
                {"alert_at": [50, "x"]}, {"hard_cap": "yes"}, {"projects": {"/p": {"monthly": 1}}},
                {"projects": {"/p": 3}}, {"daily_usd": float("nan")}):
        with pytest.raises(BudgetConfigError) as e:
            parse_budget(bad, "/c/config.toml")
        assert "\n" not in str(e.value) and "/c/config.toml" in str(e.value)


def test_broken_toml_is_a_budget_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[budget\ndaily_usd = ")
    with pytest.raises(BudgetConfigError):
        load_budget(path)
    assert not load_budget(tmp_path / "missing.toml").active


def test_periods_follow_the_time_zone_and_daylight_saving():
    now = at("2026-03-29T12:00:00")  # Paris springs forward at 02:00 that Sunday
    p = periods(now, PARIS)
    assert p["daily_usd"].key == "2026-03-29" and p["daily_usd"].end - p["daily_usd"].start == 23 * 3600
    assert p["weekly_usd"].key == "2026-W13" and p["weekly_usd"].start == at("2026-03-23T00:00:00")
    assert p["monthly_usd"].key == "2026-03" and p["monthly_usd"].end == at("2026-04-01T00:00:00")
    # the same instant is already Monday in Tokyo: another day and another ISO week
    t = periods(at("2026-03-29T20:00:00"), TOKYO)
    assert t["daily_usd"].key == "2026-03-30" and t["weekly_usd"].key == "2026-W14"


def test_spend_per_local_day_week_and_month():
    cfg = parse_budget({"daily_usd": 10, "weekly_usd": 50, "monthly_usd": 100})
    now = at("2026-03-04T18:00:00")  # a Wednesday
    facts = [fact(at("2026-03-04T00:30:00"), 3.0), fact(at("2026-03-04T17:00:00"), 4.5),  # today
             fact(at("2026-03-03T23:59:00"), 2.0),  # yesterday, same week and month
             fact(at("2026-03-01T12:00:00"), 20.0),  # a Sunday: last ISO week, this month
             fact(at("2026-02-28T12:00:00"), 99.0),  # last month
             fact(at("2026-03-04T19:00:00"), 1.0)]  # later than now? still today: counted
    s = by_key(evaluate(cfg, facts, now, PARIS))
    assert s[("daily_usd", "")].spent == pytest.approx(8.5) and s[("daily_usd", "")].period == "2026-03-04"
    assert s[("weekly_usd", "")].spent == pytest.approx(10.5)
    assert s[("monthly_usd", "")].spent == pytest.approx(30.5)
    # midnight in UTC is not midnight in Paris: 00:30 in Paris is 23:30 the day before in UTC
    utc = by_key(evaluate(cfg, facts, now, ZoneInfo("UTC")))
    assert utc[("daily_usd", "")].spent == pytest.approx(5.5)


def test_project_limits_count_only_their_project_and_session_limits_follow_the_project():
    cfg = parse_budget({"daily_usd": 100, "session_usd": 50,
                        "projects": {"/work/client": {"daily_usd": 5, "session_usd": 2}}})
    now = at("2026-03-04T12:00:00")
    facts = [fact(now - 60, 4.0, "a"), fact(now - 60, 3.0, "b"), fact(now - 60, 30.0, "c")]
    projects = {("claude", "a"): "/work/client", ("claude", "b"): "/work/client/api", ("claude", "c"): "/work/other"}
    s = by_key(evaluate(cfg, facts, now, PARIS, projects=projects))
    assert s[("daily_usd", "/work/client")].spent == pytest.approx(7.0) and s[("daily_usd", "/work/client")].over
    assert s[("daily_usd", "")].spent == pytest.approx(37.0)
    session = SessionSpend(("claude", "a"), 2.5, 10, "/work/client/api")
    s = by_key(evaluate(cfg, [], now, PARIS, session=session, only_project="/work/client/api"))
    assert s[("session_usd", "/work/client")].limit == 2.0 and s[("session_usd", "/work/client")].over
    elsewhere = by_key(evaluate(cfg, [], now, PARIS, session=SessionSpend(("claude", "c"), 2.5, 10, "/elsewhere"),
                                only_project="/elsewhere"))
    assert elsewhere[("session_usd", "")].limit == 50.0 and not elsewhere[("session_usd", "")].over
    assert not any(k[1] for k in elsewhere)  # no project limit applies outside the project
    assert earliest_start(cfg, now, PARIS) == periods(now, PARIS)["daily_usd"].start


def test_status_texts_bands_and_over_limit():
    cfg = parse_budget({"daily_usd": 20, "session_tokens": 1000, "alert_at": [50, 80, 100]})
    now = at("2026-03-04T12:00:00")
    statuses = evaluate(cfg, [fact(now, 17.0, unpriced=1)], now, PARIS, session=SessionSpend(("claude", "x"), 1, 1500))
    day, tokens = statuses
    assert day.band == "warn" and day.gauge() == "day $17.00+/$20.00" and "daily budget" in day.reason()
    assert tokens.band == "bad" and tokens.over and "1.50k tok" in tokens.reason()
    assert over_limit(statuses) == [tokens]
    assert day.to_json()["partial"] is True and tokens.to_json()["spent"] == 1500


def test_an_alert_fires_once_per_crossing_and_not_on_every_refresh():
    cfg = parse_budget({"daily_usd": 10})
    tracker = AlertTracker(cfg.alert_at)
    now = at("2026-03-04T12:00:00")

    def check(usd, t=now):
        return [a.threshold for a in tracker.check(evaluate(cfg, [fact(t - 1, usd)], t, PARIS), t)]

    assert check(4.0) == []
    assert check(6.0) == [50.0]
    assert check(6.5) == [] and check(7.0) == []  # refreshes: nothing new
    assert check(9.5) == [80.0]
    assert check(12.0) == [100.0]
    assert check(13.0) == []
    # a jump over two thresholds is one alert, for the higher
    tracker2 = AlertTracker(cfg.alert_at)
    assert [a.threshold for a in tracker2.check(evaluate(cfg, [fact(now, 9.0)], now, PARIS), now)] == [80.0]
    # the next day is another period: its crossings fire again
    tomorrow = now + 86400
    assert check(6.0, tomorrow) == [50.0]


def test_a_raised_limit_arms_the_thresholds_again():
    now = at("2026-03-04T12:00:00")
    tracker = AlertTracker((50, 80, 100))
    low = evaluate(parse_budget({"daily_usd": 10}), [fact(now, 9.0)], now, PARIS)
    assert [a.threshold for a in tracker.check(low, now)] == [80]
    high = evaluate(parse_budget({"daily_usd": 100}), [fact(now, 9.0)], now, PARIS)
    assert tracker.check(high, now) == []
    higher_spend = evaluate(parse_budget({"daily_usd": 100}), [fact(now, 60.0)], now, PARIS)
    assert [a.threshold for a in tracker.check(higher_spend, now)] == [50]


def test_crossings_survive_a_restart(isolated_env):
    cfg = parse_budget({"daily_usd": 10})
    now = at("2026-03-04T12:00:00")
    statuses = evaluate(cfg, [fact(now, 8.5)], now, PARIS)
    first = load_tracker("dashboard", cfg.alert_at)
    assert [a.threshold for a in first.check(statuses, now)] == [80.0]
    save_tracker("dashboard", first)
    assert alerts_path("dashboard").exists()
    again = load_tracker("dashboard", cfg.alert_at)  # a new process
    assert again.check(statuses, now + 10) == []
    other = load_tracker("hook", cfg.alert_at)  # another channel raises its own
    assert [a.threshold for a in other.check(statuses, now)] == [80.0]
    alerts_path("dashboard").write_text("[broken")
    assert [a.threshold for a in load_tracker("dashboard", cfg.alert_at).check(statuses, now)] == [80.0]


def test_notifications_are_sanitised():
    now = at("2026-03-04T12:00:00")
    cfg = parse_budget({"projects": {"/w/evil\x1b]52;c;AAAA\x07;x\x9b": {"daily_usd": 1}}})
    status = evaluate(cfg, [fact(now, 5.0)], now, PARIS, projects={("claude", "s1"): "/w/evil\x1b]52;c;AAAA\x07;x\x9b"})
    [alert] = AlertTracker(cfg.alert_at).check(status, now)
    out = alert.terminal(bell=True, desktop=True)
    assert out.startswith("\a\x1b]9;") and out.count("\x1b") == 2 and out.count("\x07") == 3
    body = out.split("\x1b]777;notify;", 1)[1]
    assert body.count(";") == 1  # title;body: no ';' inside either field
    assert "\x9b" not in out
    hostile = osc9("x\x1b]52;c;y\x07\x1b[2J")
    assert hostile.count("\x1b") == 1 and hostile.count("\x07") == 1  # its own, nothing of the text's
    assert osc777("a;b", "c;d") == "\x1b]777;notify;a,b;c,d\x07"
    assert alert.severity == "error" and "over budget" in alert.message


def test_header_gauges_are_plain_text_with_bands():
    now = at("2026-03-04T12:00:00")
    windows = [PlanWindow("claude", "5h", 42.0, now + 3600, now),
               PlanWindow("claude", "7d", 91.0, now + 5 * 86400, now),
               PlanWindow("codex", "5h", None, now + 600, now, ESTIMATE, 300, 1000, 3.4)]
    statuses = evaluate(parse_budget({"daily_usd": 20, "session_usd": 1}), [fact(now, 12.0)], now, PARIS,
                        session=SessionSpend(("claude", "s1"), 5, 1))
    segs = gauges(windows, statuses, now)
    reset = datetime.fromtimestamp(now + 3600).strftime("%H:%M")
    # Two agents' windows: each agent named once, before its first window.
    assert [(s.text, s.band, s.kind) for s in segs] == [
        (f"claude 5h 42 % ↻{reset}", "ok", "window"), ("7d 91 %", "bad", "window"),
        ("codex 5h est. $3.40", "none", "estimate"), ("day $12.00/$20.00", "ok", "budget")]
    one = gauges(windows[:2], [], now)
    assert [s.text for s in one] == [f"5h 42 % ↻{reset}", "7d 91 %"]  # one agent: no name needed


def test_the_dashboards_watch_shows_gauges_and_raises_each_crossing_once(isolated_env, tmp_path):
    from tokdash.ingest import plan_limits
    from tokdash.ingest.budget_watch import BudgetWatch
    from tokdash.ingest.discovery import resolve_roots

    config = tmp_path / "config.toml"
    config.write_text("[budget]\ndaily_usd = 10\nbell = true\n")
    roots = resolve_roots(["claude"], {"claude": [str(tmp_path / "claude")]})
    now = at("2026-03-04T12:00:00")
    plan_limits.record([PlanWindow("claude", "5h", 42.0, now + 600, now - 5)])
    watch = BudgetWatch(roots, config, tz=PARIS)
    assert watch.since(now) == periods(now, PARIS)["daily_usd"].start
    windows = watch.windows(now)
    first = watch.check([fact(now - 60, 9.0)], now, windows=windows)
    assert [s.text.split(" ↻")[0] for s in first.segments] == ["5h 42 %", "day $9.00/$10.00"]
    assert [a.threshold for a in first.alerts] == [80.0] and first.alerts[0].terminal(bell=True, desktop=False) == "\a"
    assert BudgetWatch(roots, config, tz=PARIS).check([fact(now - 60, 9.0)], now).alerts == []  # after a restart
    config.write_text("[budget]\ndaily_usd = -3\n")
    broken = BudgetWatch(roots, config)
    assert broken.problem and not broken.config.active and broken.check([], now).segments == []
