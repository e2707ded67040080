#!/usr/bin/env python3
"""Which sessions does each heavy rule flag, and on which figure? A survey over corpora.

    python benchmarks/heavy_survey.py --claude-dir DIR --codex-dir DIR [--all]
    python benchmarks/heavy_survey.py --demo

Prints, per corpus, the distribution of the figures the rules judge (cost against the
typical session, turns per prompt with the most repeated read/search, cache hit with
cache writes, context share) and every session that is flagged, with its reasons. This
is how the defaults of ``tokdash.model.heavy.HeavyThresholds`` were chosen; run it on
your own history to tune the ``[heavy]`` table of the config file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tokdash.format import fmt_cost, fmt_pct, fmt_tokens  # noqa: E402
from tokdash.ingest.catalog import open_catalog  # noqa: E402
from tokdash.ingest.discovery import resolve_roots  # noqa: E402
from tokdash.model.pricing import PriceBook  # noqa: E402


def survey(dirs: dict[str, list[str]], now: float | None, show_all: bool) -> None:
    roots = resolve_roots(list(dirs), dirs)
    clock = (lambda: now) if now is not None else None
    opened = open_catalog(roots, PriceBook(), cache=False, warn=lambda m: print(m, file=sys.stderr), clock=clock)
    opened.close()
    fleet = opened.catalog.fleet
    rows = sorted(fleet.rows.values(), key=lambda r: -r.summary.cost)
    costs = [r.summary.cost for r in rows]
    print(f"{len(rows)} sessions, {fmt_cost(sum(costs))} in all; median session "
          f"{fmt_cost(statistics.median(costs)) if costs else '-'}; typical (fleet median) "
          f"{fmt_cost(fleet.typical_cost() or 0)}")
    flagged = [r for r in rows if r.heavy]
    per_rule: dict[str, int] = {}
    for r in flagged:
        for t in r.heavy:
            per_rule[t.threshold] = per_rule.get(t.threshold, 0) + 1
    print("flagged:", len(flagged), " by rule:", per_rule or "none")
    print(f"{'agent':6} {'project':22} {'status':8} {'cost':>9} {'hit':>4} {'c.write':>7} {'ctx':>4} "
          f"{'t/p':>5} {'repeat':>24}  reasons")
    for r in rows:
        if not show_all and not r.heavy and r.status not in ("waiting",):
            continue
        s = r.summary
        rep = f"{s.repeat[0]} {os.path.basename(s.repeat[1])[:14]} x{s.repeat[2]}" if s.repeat else "-"
        tp = f"{s.turns_per_prompt:.0f}" if s.turns_per_prompt is not None else "-"
        ctx = fmt_pct(s.context_pct) if s.context_pct is not None else "-"
        hit = fmt_pct(s.cache_hit_rate) if s.cache_hit_rate is not None else "-"
        reasons = "; ".join(t.text for t in r.heavy)
        print(f"{s.agent:6} {r.label[:22]:22} {r.status:8} {fmt_cost(s.cost, s.cost_partial):>9} {hit:>4} "
              f"{fmt_tokens(s.usage.cache_write):>7} {ctx:>4} {tp:>5} {rep[:24]:>24}  {reasons}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--claude-dir", action="append", default=[])
    p.add_argument("--codex-dir", action="append", default=[])
    p.add_argument("--demo", action="store_true", help="survey the --demo fleet (generated now)")
    p.add_argument("--all", action="store_true", help="list every session, not only flagged and waiting ones")
    args = p.parse_args()
    if args.demo:
        from tokdash.demo import Fleet

        now = time.time()
        with tempfile.TemporaryDirectory() as tmp:
            fleet = Fleet(tmp, now=now)
            fleet.write_history()
            survey({name: [str(path)] for name, path in fleet.dirs().items()}, now, args.all)
        return 0
    dirs = {k: v for k, v in (("claude", args.claude_dir), ("codex", args.codex_dir)) if v}
    survey(dirs, None, args.all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
