"""The numbers of ``tokdash serve`` in-process: folding, monotonic counters, labels, the exposition."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from builders import HAIKU, OPUS, SONNET, ClaudeSession, claude_main_path, load, sid, summaries

from support import parse
from tokdash.model.activity import STATUSES, CallSeries
from tokdash.model.fleet import Fleet as RowFleet
from tokdash.model.records import Usage
from tokdash.serve.exposition import registry_for
from tokdash.serve.gauges import GaugeSample, collect
from tokdash.serve.labels import LabelPolicy, MetricsConfig, MetricsConfigError, machine_name, read_metrics_config
from tokdash.serve.totals import Counters, Snapshot, status_counts


@pytest.fixture
def three(tmp_path: Path) -> dict:
    """Three Claude sessions: two in acme-api (one model shared), one in blog."""
    projects = tmp_path / "projects"
    paths = []
    for n, cwd, calls in ((1, "/home/dev/acme-api", ((OPUS, 100), (SONNET, 7))),
                          (2, "/srv/acme-api", ((OPUS, 50),)),
                          (3, "/home/dev/blog", ((HAIKU, 9),))):
        s = ClaudeSession(sid(n), cwd=cwd, clock=n * 10_000.0)
        s.prompt("go")
        for model, out in calls:
            s.response(model=model, input=n, output=out, cache_write_5m=10 * n, cache_read=1000 * n,
                       stop_reason="tool_use")  # mid-turn: active means working, not waiting
        paths.append(s.write(claude_main_path(projects, cwd, s.session_id)))
    by_id = summaries(load(paths))
    return {("claude", k): v for k, v in by_id.items()}


def test_counters_are_the_sums_of_by_model(three):
    values = Counters(LabelPolicy()).fold(three)
    want_tokens: dict = {}
    for s in three.values():
        for model, t in s.by_model.items():
            for kind, n in zip(("input", "output", "cache_write", "cache_read"),
                               (t.usage.input, t.usage.output, t.usage.cache_write, t.usage.cache_read)):
                key = ("claude", s.project_name, model, kind)
                want_tokens[key] = want_tokens.get(key, 0) + n
    assert values.tokens == want_tokens
    # two folders named acme-api are one project label; their shared model is one series
    assert values.calls[("claude", "acme-api", OPUS)] == 2
    assert sum(values.tokens.values()) == sum(s.usage.total for s in three.values())
    assert round(math.fsum(values.cost.values()), 6) == round(math.fsum(s.cost for s in three.values()), 6)
    assert values.retired_sessions == 0


def test_a_session_that_leaves_is_retired_not_subtracted_and_never_counted_twice(three):
    counters = Counters(LabelPolicy())
    full = counters.fold(three)
    blog = ("claude", sid(3))
    without = {k: v for k, v in three.items() if k != blog}
    after = counters.fold(without)
    assert after.tokens == full.tokens and after.cost == full.cost and after.retired_sessions == 1
    # it comes back (a feed that starts over): counted once, not retired any more
    back = counters.fold(three)
    assert back.tokens == full.tokens and back.retired_sessions == 0
    # new work in another session is counted at once, even with a retired session held
    counters.fold(without)
    grown = dict(without)
    key = ("claude", sid(1))
    s = grown[key]
    more = {m: replace(t, usage=Usage(t.usage.input + 5, t.usage.output, t.usage.cache_write_5m, 0,
                                      t.usage.cache_read)) for m, t in s.by_model.items()}
    grown[key] = replace(s, by_model=more)
    bigger = counters.fold(grown)
    assert bigger.tokens[("claude", "acme-api", OPUS, "input")] == full.tokens[("claude", "acme-api", OPUS, "input")] + 5


def test_a_series_that_drops_holds_its_highest_value(three):
    counters = Counters(LabelPolicy())
    full = counters.fold(three)
    key = ("claude", sid(2))
    s = three[key]
    shrunk = {m: replace(t, usage=Usage(0, 0, 0, 0, 0), calls=0, cost=0.0) for m, t in s.by_model.items()}
    after = counters.fold({**three, key: replace(s, by_model=shrunk)})
    assert after.tokens == full.tokens and after.calls == full.calls and after.cost == full.cost


def test_project_labels_by_policy_and_every_value_sanitised():
    assert LabelPolicy().project("acme-api") == "acme-api"
    assert LabelPolicy(MetricsConfig(projects="drop")).project("acme-api") == ""
    hashed = LabelPolicy(MetricsConfig(projects="hash")).project("acme-api")
    assert len(hashed) == 12 and "acme" not in hashed
    assert hashed == LabelPolicy(MetricsConfig(projects="hash")).project("acme-api")  # stable across machines
    assert hashed != LabelPolicy(MetricsConfig(projects="hash", hash_salt="s")).project("acme-api")
    assert LabelPolicy().project("evil\x1b[31m\nname\u202e") == "evil[31m name"
    assert LabelPolicy.model("m\x07" + "x" * 500).isprintable() and len(LabelPolicy.model("x" * 500)) == 120


def test_machine_label_flag_then_config_then_hostname(monkeypatch):
    monkeypatch.setattr("socket.gethostname", lambda: "laptop\x1b")
    assert machine_name(None, MetricsConfig()) == "laptop"
    assert machine_name(None, MetricsConfig(machine="box")) == "box"
    assert machine_name("flag", MetricsConfig(machine="box")) == "flag"


@pytest.mark.parametrize(("text", "needle"), [
    ("[metrics]\nprojects = 'secret'\n", "projects must be one of name, hash, drop"),
    ("[metrics]\nmachne = 'x'\n", "unknown key 'machne'"),
    ("[metrics]\nmachine = 3\n", "machine must be a string"),
    ("metrics = 1\n", "[metrics] must be a table"),
    ("[metrics\n", "invalid TOML"),
])
def test_bad_metrics_config_is_one_line_naming_the_file(tmp_path, text, needle):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(MetricsConfigError) as err:
        read_metrics_config(path)
    assert needle in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_metrics_config_reads_the_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[prices.x]\ninput = 1\noutput = 2\n[metrics]\nmachine = 'ci'\nprojects = 'hash'\n")
    assert read_metrics_config(path) == MetricsConfig(machine="ci", projects="hash")
    assert read_metrics_config(tmp_path / "absent.toml") == MetricsConfig()


def test_status_counts_keep_every_status_of_each_project(three):
    fleet = RowFleet()
    now = max(s.last_activity for s in three.values()) + 60  # sid(3) works, the others are done
    fleet.update(three.keys(), lambda k: (three[k], CallSeries([]), False) if k in three else None, now)
    counts = status_counts(fleet.rows.values(), LabelPolicy())
    assert counts[("claude", "blog", "working")] == 1
    assert counts[("claude", "acme-api", "done")] == 2
    assert {st for (_a, p, st) in counts if p == "acme-api"} == set(STATUSES)  # zeros included
    assert counts[("claude", "acme-api", "working")] == 0 and counts[("claude", "acme-api", "idle")] == 0


def test_the_exposition_parses_and_carries_provided_gauges(three):
    values = Counters(LabelPolicy()).fold(three)
    gauge = GaugeSample("tokdash_plan_window_used_ratio", "test provider", (("agent", "claude"), ("window", "5h")),
                        0.25)
    snap = Snapshot("m1", values, {("claude", "blog", "working"): 1}, (gauge,), True, 1.0)
    registry = registry_for(lambda: snap)
    from prometheus_client import generate_latest

    scraped = parse(generate_latest(registry).decode())
    assert scraped["tokdash_plan_window_used_ratio"] == [({"machine": "m1", "agent": "claude", "window": "5h"}, 0.25)]
    assert sum(v for _l, v in scraped["tokdash_tokens_total"]) == sum(s.usage.total for s in three.values())
    assert scraped["tokdash_sessions"] == [({"machine": "m1", "agent": "claude", "project": "blog",
                                             "status": "working"}, 1.0)]
    assert not any(name.endswith("_created") for name in scraped)


def test_gauge_providers_are_checked_and_a_failing_one_is_skipped():
    notes: list[str] = []

    def good(_catalog, now):
        return [GaugeSample("tokdash_budget_used_ratio", "b", (("budget", "team\x1b"),), now)]

    def broken(_catalog, _now):
        raise RuntimeError("no plan")

    def bad(_catalog, _now):
        return [GaugeSample("not_ours", "x", (), 1.0), GaugeSample("tokdash_x", "x", (("machine", "m"),), 1.0)]

    out = collect([good, broken, bad], None, 0.5, notes.append)
    assert out == (GaugeSample("tokdash_budget_used_ratio", "b", (("budget", "team"),), 0.5),)
    assert len(notes) == 3 and "no plan" in notes[0]


def test_a_snapshot_is_rendered_once_per_format_and_a_new_one_again(three):
    import gzip

    from tokdash.serve.exposition import CachedMetrics

    box = [Snapshot("m1", Counters(LabelPolicy()).fold(three), {}, (), True, 1.0)]
    app = CachedMetrics(lambda: box[0])

    def get(accept: str = "", encoding: str = "") -> tuple[dict, bytes]:
        seen: dict = {}
        body = app({"REQUEST_METHOD": "GET", "HTTP_ACCEPT": accept, "HTTP_ACCEPT_ENCODING": encoding},
                   lambda status, headers: seen.update(headers, status=status))
        return seen, body[0]

    head, first = get()
    assert head["status"] == "200 OK" and head["Content-Type"].startswith("text/plain")
    assert get()[1] is first  # unchanged snapshot: the same rendering
    zipped_head, zipped = get(encoding="gzip")
    assert zipped_head["Content-Encoding"] == "gzip" and gzip.decompress(zipped) == first
    om_head, om = get(accept="application/openmetrics-text; version=1.0.0")
    assert om_head["Content-Type"].startswith("application/openmetrics-text") and om.endswith(b"# EOF\n")
    box[0] = replace(box[0], loaded=False)
    _h, again = get()
    assert again is not first and b'tokdash_loaded{machine="m1"} 0.0' in again
