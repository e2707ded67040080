"""The order a table shows, kept row by row, equals the order computed afresh from every row."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fleet_incremental import T0, summary

from tokdash.model.activity import CallSeries
from tokdash.model.fleet import SORT_KEYS, Fleet, sort_value
from tokdash.model.fleet_order import Cancelled, FleetOrder, OrderParams
from tokdash.model.fleet_totals import Totals

PROJECTS = ("/home/a/api", "/srv/b/api", "/home/a/web", "/x/gateway")
SORTS = ("status", *SORT_KEYS)


def afresh(rows, params: OrderParams) -> list:
    """What the sessions screen computed on every change before: filter, sort, group."""
    out = [r for r in rows.values() if params.passes(r)]
    out.sort(key=lambda r: sort_value(r, params.sort_id), reverse=params.descending)
    if not params.grouped:
        return [r.key for r in out]
    groups: dict[str, list] = {}
    for r in out:
        groups.setdefault(r.summary.project, []).append(r)
    items: list = []
    for project, members in groups.items():
        items.append(project)
        items.extend(m.key for m in members)
    return items


PARAMS = st.builds(OrderParams, st.sampled_from(SORTS), st.booleans(), st.sampled_from(["", "api", "t1", "gate"]),
                   st.booleans(), st.booleans())
SESSION = st.tuples(st.integers(0, 30), st.sampled_from(PROJECTS), st.sampled_from([0.0, 1.0, 7.5, 300.0]),
                    st.one_of(st.none(), st.sampled_from([0.0, 30.0, 500.0, 4000.0]), st.floats(0, 9e5)),
                    st.booleans(), st.booleans())
STEPS = st.lists(st.one_of(st.tuples(st.just("put"), st.lists(SESSION, min_size=1, max_size=40)),
                           st.tuples(st.just("drop"), st.lists(st.integers(0, 30), min_size=1, max_size=8)),
                           st.tuples(st.just("tick"), st.sampled_from([1.0, 90.0, 2000.0]))),
                 min_size=1, max_size=12)


def check(order: FleetOrder, fleet: Fleet, now: float) -> None:
    want = afresh(fleet.rows, order.params)
    assert list(order) == want
    assert len(order) == len(want)
    for i, item in enumerate(want):
        assert order.item(i) == item and order.index(item) == i and item in order
    shown = [fleet.rows[k] for k in want if not isinstance(k, str)]
    assert (order.totals.sessions, order.totals.working, order.totals.stats(now, lambda k: CallSeries([])).waiting) \
        == (len(shown), sum(r.status == "working" for r in shown), Totals(shown, now).waiting)
    if order.params.grouped:
        for item in want:
            if isinstance(item, str):
                members = [m.key for m in order.members(item)]
                at = want.index(item) + 1
                assert members == want[at: at + len(members)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PARAMS, STEPS)
def test_an_order_kept_row_by_row_is_the_order_computed_afresh(params, steps):
    data: dict = {}
    fleet = Fleet()
    now = T0
    order = FleetOrder.build(list(fleet.rows.values()), params, now)
    for op, arg in steps:
        if op == "put":
            keys = []
            for n, project, cost, age, is_open, waiting in arg:
                last = None if age is None else now - age
                data[("a", f"s{n}")] = (summary(n, project, cost, last, is_open, waiting, (), 0), CallSeries([]), False)
                keys.append(("a", f"s{n}"))
            changed = fleet.update(keys, data.get, now)
        elif op == "drop":
            keys = [("a", f"s{n}") for n in arg]
            for key in keys:
                data.pop(key, None)
            changed = fleet.update(keys, data.get, now)
        else:
            now += arg
            changed = fleet.advance(now, data.get)
        order.update(changed, fleet.rows, now)
        check(order, fleet, now)
    # A build from the rows as they are now gives the same order.
    assert list(FleetOrder.build(list(fleet.rows.values()), params, now)) == list(order)


def test_descending_is_ascending_read_backwards_and_positions_are_found_by_bisect():
    fleet = Fleet()
    data = {("a", f"s{n}"): (summary(n, PROJECTS[n % 4], float(n % 7), T0 - 1000 * n, False, False, (), 0),
                             CallSeries([]), False) for n in range(500)}
    fleet.update(list(data), data.get, T0)
    down = FleetOrder.build(list(fleet.rows.values()), OrderParams("cost", True), T0)
    up = FleetOrder.build(list(fleet.rows.values()), OrderParams("cost", False), T0)
    assert list(down) == list(up)[::-1]
    key = list(down)[123]
    assert down.index(key) == 123 and up.index(key) == 499 - 123
    with pytest.raises(ValueError):
        down.index(("a", "missing"))
    with pytest.raises(IndexError):
        down.item(500)


def test_a_build_nobody_wants_stops():
    fleet = Fleet()
    data = {("a", f"s{n}"): (summary(n, "/p", 1.0, T0, False, False, (), 0), CallSeries([]), False)
            for n in range(10)}
    fleet.update(list(data), data.get, T0)
    with pytest.raises(Cancelled):
        FleetOrder.build(list(fleet.rows.values()), OrderParams(), T0, cancelled=lambda: True)
