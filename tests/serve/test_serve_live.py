"""``tokdash serve`` as a user runs it: a subprocess over generated transcripts, scraped over HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from builders import OPUS, SONNET, sid

from support import KINDS, REPO, Served, matches, report, sums, wait_for


def test_metrics_equal_the_report_then_grow_with_an_append(fleet, env, tmp_path):
    served = Served(["--metrics", "127.0.0.1:0", "--machine", "ci-box", *fleet.flags()], env)
    try:
        totals = report(fleet.flags(), env, tmp_path / "report-data")
        assert totals["sessions"] == 5 and totals["api_calls"] == 6
        scraped = wait_for("the counters to reach the report's totals",
                           lambda: (s := served.scrape()) and matches(sums(s), totals) and s)
        assert scraped["tokdash_loaded"] == [({"machine": "ci-box"}, 1.0)]
        assert scraped["tokdash_retired_sessions"] == [({"machine": "ci-box"}, 0.0)]
        # every series carries the machine; labels are bounded: no session id, no title anywhere
        for name, samples in scraped.items():
            for labels, _v in samples:
                assert labels.get("machine") == "ci-box", name
                assert not {"session", "session_id", "title"} & labels.keys()
                assert not any(sid(n) in v for n in range(1, 6) for v in labels.values())
        tokens = {(lb["agent"], lb["project"], lb["model"], lb["kind"]): v for lb, v in scraped["tokdash_tokens_total"]}
        assert tokens[("claude", "acme-api", OPUS, "cache_read")] == 40_000 + 60_000  # two sessions, one series
        assert tokens[("claude", "acme-api", SONNET, "input")] == 2
        # hostile strings arrive sanitised: one line, no escape or bidi control
        for labels, _v in scraped["tokdash_tokens_total"]:
            for value in labels.values():
                assert value.isprintable() and "\x1b" not in value and "\u202e" not in value
        status = {(lb["agent"], lb["project"], lb["status"]): v for lb, v in scraped["tokdash_sessions"]}
        assert status[("claude", "acme-api", "working")] == 1 and status[("claude", "acme-api", "done")] == 1
        assert status[("claude", "blog", "working")] == 0

        # the working session goes on: two more calls are appended to its transcript
        live = fleet.files[sid(4)][0]
        live.response(model=OPUS, input=11, output=500, cache_read=70_000)
        live.response(model=SONNET, input=13, output=40, cache_write_5m=900)
        before = sums(scraped)
        fleet.append(sid(4))
        grown = wait_for("the counters to take in the append",
                         lambda: (s := sums(served.scrape()))["api_calls"] == before["api_calls"] + 2 and s)
        assert grown["input_tokens"] == before["input_tokens"] + 24
        assert grown["output_tokens"] == before["output_tokens"] + 540
        assert grown["cache_read_tokens"] == before["cache_read_tokens"] + 70_000
        assert grown["cache_write_tokens"] == before["cache_write_tokens"] + 900
        assert grown["cost_usd"] > before["cost_usd"]
        assert matches(grown, report(fleet.flags(), env, tmp_path / "report-data-2"))
    finally:
        status_code = served.stop()
    assert status_code == 0, served.stderr
    assert served.stderr[-1] == "tokdash serve: stopped"


def test_a_forgotten_transcript_does_not_make_a_counter_go_down(fleet, env, tmp_path):
    served = Served(["--metrics", "127.0.0.1:0", *fleet.flags()], env)
    try:
        totals = report(fleet.flags(), env, tmp_path / "report-data")
        first = wait_for("the report's totals", lambda: (s := sums(served.scrape())) and matches(s, totals) and s)
        # another tokdash forgets the blog session's transcript (same index as the server's)
        blog = fleet.files[sid(2)][1]
        forgot = subprocess.run([sys.executable, "-m", "tokdash", "index", "--forget", str(blog), *fleet.flags()],
                                cwd=REPO, env=env, capture_output=True, timeout=120)
        assert forgot.returncode == 0, forgot.stderr
        live = fleet.files[sid(4)][0]
        live.response(model=OPUS, input=1, output=10)
        fleet.append(sid(4))  # any change makes the server look at the index again
        after = wait_for("the append to be counted",
                         lambda: (s := served.scrape()) and sums(s)["api_calls"] == first["api_calls"] + 1 and s)
        now = sums(after)
        for field in (*KINDS.values(), "cost_usd"):
            assert now[field] >= first[field], field  # the forgotten session's share is kept...
        assert after["tokdash_retired_sessions"][0][1] == 1.0  # ...and said so
        assert now["sessions"] == first["sessions"] - 1  # gauges are "now": the session is gone
    finally:
        assert served.stop(signal.SIGINT) == 0, served.stderr


def test_only_metrics_is_served(fleet, env):
    served = Served(["--metrics", "127.0.0.1:0", *fleet.flags()], env)
    try:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(served.url.replace("/metrics", "/sessions"), timeout=10)
        assert err.value.code == 404
    finally:
        assert served.stop() == 0
