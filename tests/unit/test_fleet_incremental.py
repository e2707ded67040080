"""The fleet kept O(what changed) gives what full passes over every row gave.

``Reference`` is the fleet as it was before the due heap, the maintained working set,
the project members and the running header sums: every ``advance`` scanned every
row, every judging gathered the working rates from every row, every relabelling
compared every row, every header pass summed every row. Hypothesis drives both with
the same random histories (sessions coming, changing, going, time passing, clocks
skewed, the fleet's rates and typical cost moving) and every answer must be equal.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokdash.model.activity import BURN_WINDOW_SECONDS, DONE, WAITING, WORKING, Burn, CallSeries, window_totals
from tokdash.model.fleet import RECENT_SECONDS, TYPICAL_DRIFT, Fleet, FleetStats, derive
from tokdash.model.heavy import HeavyThresholds, heavy_reasons
from tokdash.model.projects import project_labels
from tokdash.model.records import Usage
from tokdash.model.session import ModelTotals, SessionSummary

T0 = 1_790_000_000.0
PROJECTS = ("/home/a/api", "/srv/b/api", "/home/a/web", "", "/x/worktrees/2", "/y/worktrees/2")
# Low floors, so that every rule (rate among working sessions, cost against the typical one) trips.
THRESHOLDS = HeavyThresholds(rate_floor=0.5, min_fleet=1, min_history=1, cost_floor=0.0)


class Reference:
    """The fleet before this change, condensed: the same rules, by full passes over every row."""

    def __init__(self, thresholds: HeavyThresholds) -> None:
        self.thresholds = thresholds
        self.rows: dict = {}
        self._working_rates: dict = {}
        self._costs: list[float] = []
        self._cost_of: dict = {}
        self._typical = None
        self._projects: dict[str, int] = {}
        self._labels: dict[str, str] = {}

    typical_cost = Fleet.typical_cost  # unchanged: a bisect in the sorted costs

    def label(self, project):
        return self._labels.get(project) or project_labels([project]).get(project, "?")

    def update(self, keys, lookup, now):
        changed = set()
        for key in keys:
            found, old = lookup(key), self.rows.get(key)
            if old is not None:
                cost = self._cost_of.pop(key)
                del self._costs[bisect_left(self._costs, cost)]
                left = self._projects[old.summary.project] - 1
                if left:
                    self._projects[old.summary.project] = left
                else:
                    del self._projects[old.summary.project]
                del self.rows[key]
            if found is None:
                if old is not None:
                    changed.add(key)
                continue
            row = derive(key, *found, now)
            if old is not None:
                row.heavy = old.heavy
            self.rows[key] = row
            insort(self._costs, row.summary.cost)
            self._cost_of[key] = row.summary.cost
            self._projects[row.summary.project] = self._projects.get(row.summary.project, 0) + 1
            row.label = self._labels.get(row.summary.project, "")
            changed.add(key)
        if self._projects.keys() != self._labels.keys():
            self._labels = project_labels(self._projects)
            for key, row in self.rows.items():
                label = self._labels.get(row.summary.project, "?")
                if label != row.label:
                    row.label = label
                    changed.add(key)
        return changed | self._judge(changed)

    def advance(self, now, lookup):
        due = [k for k, r in self.rows.items() if r.due <= now]
        return self.update(due, lookup, now) if due else set()

    def next_due(self):
        return min((r.due for r in self.rows.values()), default=float("inf"))

    def _judge(self, keys):
        rates = {k: r.burn.usd_per_hour for k, r in self.rows.items() if r.status == WORKING}
        judge = set(keys)
        if rates != self._working_rates:
            judge |= rates.keys() | self._working_rates.keys()
        self._working_rates = rates
        typical, old = self.typical_cost(), self._typical
        if (typical is None) != (old is None) or (
                typical is not None and old is not None and abs(typical - old) > TYPICAL_DRIFT * max(old, 1e-9)):
            self._typical = typical
            judge = set(self.rows)
        flipped = set()
        for key in judge:
            row = self.rows.get(key)
            if row is None:
                continue
            working = row.status == WORKING
            verdict = heavy_reasons(row.summary, self.thresholds, rate=row.burn.usd_per_hour if working else 0.0,
                                    other_rates=[r for k, r in rates.items() if k != key] if working else (),
                                    typical_cost=self.typical_cost(key), history=len(self.rows) - 1,
                                    live=row.status != DONE)
            if verdict != row.heavy:
                row.heavy = verdict
                flipped.add(key)
        return flipped

    def stats(self, now, series_of):
        stats = FleetStats(sessions=len(self.rows))
        cut, series, unpriced = now - RECENT_SECONDS, [], set()
        for r in self.rows.values():
            s = r.summary
            unpriced.update(s.unpriced_models)
            stats.bad_lines += s.bad_lines
            stats.archived += r.archived
            stats.working += r.status == WORKING
            stats.waiting += r.status == WAITING
            if s.last_activity is not None and s.last_activity >= cut:
                series.append(series_of(r.key))
                stats.busy = stats.busy or now - s.last_activity < BURN_WINDOW_SECONDS
        (stats.hour_tokens, stats.hour_cost), (stats.today_tokens, stats.today_cost), stats.burn = \
            window_totals(series, now)
        for one in series:
            tokens, cost = one.window(now - 86400.0, now)
            stats.day_tokens += tokens
            stats.day_cost += cost
        stats.unpriced_models = sorted(unpriced)
        return stats


def summary(n: int, project: str, cost: float, last: float | None, is_open: bool, waiting: bool,
            unpriced: tuple[str, ...], bad: int) -> SessionSummary:
    usage = Usage(input=10 * n, output=5, cache_write_5m=100, cache_read=900 * n)
    return SessionSummary(
        agent="a", session_id=f"s{n}", project=project, project_name=project.rsplit("/", 1)[-1], title=f"t{n}",
        git_branch=None, cli_version=None, paths=[], first_activity=None if last is None else last - 600,
        last_activity=last, usage=usage, by_model={"m": ModelTotals(usage, 1, cost)}, subagents=[], api_calls=1,
        assistant_turns=1, prompts=1, tool_uses={}, compactions=0, rate_limits=0, api_errors=0, context_tokens=0,
        context_window=None, cost=cost, unpriced_models=list(unpriced), open=is_open, bad_lines=bad,
        waiting_since=None if last is None or not waiting else last)


# Ages in seconds before "now" (negative: dated in the future), around every threshold that
# matters: working, idle, the burn window, a minute, an hour, a day, the two-day windows.
AGES = st.one_of(st.sampled_from([-4000.0, -30.0, 0.0, 3.0, 59.5, 119.0, 301.0, 899.0, 3599.0, 86399.0,
                                  2 * 86400.0 - 1, 2 * 86400.0 + 5]),
                 st.floats(0, 119),  # working: the rate rule compares these sessions with each other
                 st.floats(-100, 4 * 86400.0))
CALL = st.tuples(st.one_of(st.floats(0, 290), st.floats(0, 900)), st.integers(0, 5000), st.floats(0, 3))

SESSION = st.tuples(st.integers(0, 9), st.sampled_from(PROJECTS), st.sampled_from([0.0, 0.2, 1.0, 3.0, 40.0, 900.0]),
                    st.one_of(st.none(), AGES), st.booleans(), st.booleans(),
                    st.sampled_from([(), ("x-model",), ("x-model", "y-model")]), st.integers(0, 2),
                    st.lists(CALL, max_size=4),
                    st.booleans())

OPS = st.lists(st.one_of(st.tuples(st.just("put"), st.lists(SESSION, min_size=1, max_size=5)),
                         st.tuples(st.just("drop"), st.lists(st.integers(0, 9), min_size=1, max_size=3)),
                         st.tuples(st.just("tick"), st.sampled_from([0.0, 0.4, 1.0, 7.0, 61.0, 3600.0, 90000.0]))),
               min_size=1, max_size=25)


def same_stats(a: FleetStats, b: FleetStats) -> bool:
    """Equal; float sums to their last bits (rows due at the same moment are re-derived in the
    order the heap hands them over, so the windows may be summed in another order)."""
    for name in FleetStats.__slots__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, Burn):
            x, y = (x.tokens_per_min, x.usd_per_hour), (y.tokens_per_min, y.usd_per_hour)
            if not all(math.isclose(p, q, rel_tol=1e-12, abs_tol=1e-12) for p, q in zip(x, y)):
                return False
        elif isinstance(x, float):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif x != y:
            return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_the_incremental_fleet_answers_as_full_passes_did(ops):
    data: dict = {}
    lookup = data.get
    fleet, ref = Fleet(THRESHOLDS), Reference(THRESHOLDS)
    now = T0
    for op, arg in ops:
        if op == "put":
            keys = []
            for n, project, cost, age, is_open, waiting, unpriced, bad, calls, archived in arg:
                last = None if age is None else now - age
                s = summary(n, project, cost, last, is_open, waiting, unpriced, bad)
                base = last if last is not None else now
                series = CallSeries([(base - back, tok, c) for back, tok, c in calls])
                data[("a", f"s{n}")] = (s, series, archived)
                keys.append(("a", f"s{n}"))
            assert fleet.update(keys, lookup, now) == ref.update(keys, lookup, now)
        elif op == "drop":
            keys = [("a", f"s{n}") for n in arg]
            for key in keys:
                data.pop(key, None)
            assert fleet.update(keys, lookup, now) == ref.update(keys, lookup, now)
        else:
            now += arg
            assert fleet.advance(now, lookup) == ref.advance(now, lookup)
        assert fleet.rows.keys() == ref.rows.keys()
        for key, row in fleet.rows.items():
            other = ref.rows[key]
            assert (row.status, row.burn, row.heavy, row.due, row.label, row.haystack, row.archived, row.skewed) == \
                (other.status, other.burn, other.heavy, other.due, other.label, other.haystack, other.archived,
                 other.skewed), key
        assert fleet.next_due() == ref.next_due()
        assert [fleet.label(p) for p in PROJECTS] == [ref.label(p) for p in PROJECTS]
        assert same_stats(fleet.stats(now, lambda k: data[k][1]), ref.stats(now, lambda k: data[k][1]))


def test_a_working_session_is_judged_again_when_another_one_s_rate_moves():
    """The rate rule compares a session with the others working: when the others speed up, a
    session whose own data did not change stops being heavy (the working set is kept)."""
    thresholds = HeavyThresholds(rate_floor=1.0, min_fleet=1)
    fleet = Fleet(thresholds)
    fast, slow = ("a", "s1"), ("a", "s2")

    def put(key, n, cost_per_call):
        s = summary(n, "/p", 1.0, T0 - 5, False, False, (), 0)
        return s, CallSeries([(T0 - 60, 100, cost_per_call), (T0 - 10, 100, cost_per_call)]), False

    data = {fast: put(fast, 1, 2.0), slow: put(slow, 2, 0.05)}
    fleet.update([fast, slow], data.get, T0)
    assert [t.threshold for t in fleet.rows[fast].heavy] == ["rate"]
    data[slow] = put(slow, 2, 3.0)  # the other session now spends faster still
    changed = fleet.update([slow], data.get, T0)
    assert fast in changed and fleet.rows[fast].heavy == ()


def test_advance_with_nothing_due_looks_at_no_row():
    """A second in which no row is due costs nothing: the rows are not even visited."""
    fleet = Fleet()
    data = {("a", f"s{n}"): (summary(n, "/p", 1.0, T0 - 30 * 86400 - n, False, False, (), 0), CallSeries([]), False)
            for n in range(2000)}
    fleet.update(list(data), data.get, T0)
    soonest = fleet.next_due()
    assert T0 < soonest < T0 + 86400  # "30d" turns into "31d" some time today

    class Untouchable(dict):
        def items(self):
            raise AssertionError("advance walked every row")

        values = items

    fleet.rows = Untouchable(fleet.rows)
    assert fleet.advance(soonest - 0.5, data.get) == set()
    assert fleet.advance(soonest, data.get)  # the row due is re-derived


def test_the_due_heap_stays_small_however_often_rows_change():
    fleet = Fleet()
    key = ("a", "s1")
    data = {key: (summary(1, "/p", 1.0, T0, False, False, (), 0), CallSeries([]), False)}
    for i in range(5000):
        fleet.update([key], data.get, T0 + i)
    assert len(fleet._due) <= 2 * len(fleet.rows) + 64 + 1
    assert fleet.next_due() == fleet.rows[key].due
