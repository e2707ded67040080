#!/usr/bin/env python3
"""Is a ``report sessions --json`` the same as a baseline's, apart from fields added since?

    python benchmarks/same_report.py BASELINE.json NEW.json

Every field the baseline has must hold the same value in the new report (the same sessions,
in the same order, every number equal); fields the new report has and the baseline lacks are
listed, not compared (``status``, ``heavy``, ``heavy_reasons``, ``project_label``,
``archived``; sub-agents' ``task``; totals' ``heavy_sessions``, ``waiting_sessions``,
``cache_write_5m_tokens`` were added on purpose after the baselines in ``/tmp/base`` were
taken). Exit 0 when the same, 1 with the first differences otherwise.
"""

from __future__ import annotations

import json
import sys


def _walk(base, new, where: str, added: set[str], diffs: list[str]) -> None:
    if isinstance(base, dict) and isinstance(new, dict):
        for k in new.keys() - base.keys():
            added.add(f"{where}.{k}" if where else k)
        for k, v in base.items():
            if k not in new:
                diffs.append(f"{where}.{k}: missing")
            else:
                _walk(v, new[k], f"{where}.{k}" if where else k, added, diffs)
    elif isinstance(base, list) and isinstance(new, list):
        if len(base) != len(new):
            diffs.append(f"{where}: {len(base)} items, now {len(new)}")
        for i, (a, b) in enumerate(zip(base, new)):
            _walk(a, b, f"{where}[]", added, diffs) if isinstance(a, (dict, list)) else (
                diffs.append(f"{where}[{i}]: {a!r} != {b!r}") if a != b or type(a) is not type(b) else None)
    elif base != new or type(base) is not type(new):
        diffs.append(f"{where}: {base!r} != {new!r}")


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        base = json.load(f)
    with open(sys.argv[2], "rb") as f:
        new = json.load(f)
    added: set[str] = set()
    diffs: list[str] = []
    _walk(base, new, "", added, diffs)
    print(f"fields added since the baseline (not compared): {', '.join(sorted(added)) or 'none'}")
    if diffs:
        print(f"DIFFERENT: {len(diffs)} values")
        for d in diffs[:10]:
            print("  " + d)
        return 1
    print(f"same: every field of the baseline holds the same value ({len(base.get('sessions', []))} sessions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
