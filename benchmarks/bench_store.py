#!/usr/bin/env python3
"""What the store's withdrawal bookkeeping costs: the same batches merged into this store and another.

    git show f8c0a87:tokdash/model/store.py > /tmp/store_before.py
    python benchmarks/bench_store.py [CORPUS] --baseline /tmp/store_before.py [--runs 5]

Every transcript of CORPUS (``claude/`` and ``codex/``, default ``/tmp/bench-corpus``) is
read once into batches; then, ``--runs`` times each, alternating, the batches are merged
into a fresh ``Store`` of this tree and one of the ``--baseline`` module (a ``store.py``
from another commit, e.g. before withdrawal existed). Printed side by side: median
merge time (without tracing) and the peak of memory allocated while merging (``tracemalloc``,
a second pass), and
whether both stores give the same sessions.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tokdash.ingest.discovery import Roots, discover  # noqa: E402
from tokdash.ingest.reader import Reader  # noqa: E402
from tokdash.model import store as current  # noqa: E402
from tokdash.sources import SOURCES  # noqa: E402


def _load(path: Path):
    spec = importlib.util.spec_from_file_location("store_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["store_baseline"] = mod  # dataclasses look their module up while building
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _merge(module, batches) -> tuple[float, float, dict]:
    """(seconds, peak MB allocated, sessions): timed without tracemalloc, memory in a second pass."""
    gc.collect()
    t0 = time.perf_counter()
    store = module.Store()
    for agent, batch in batches:
        store.add_batch(batch, agent)
    seconds = time.perf_counter() - t0
    del store
    gc.collect()
    tracemalloc.start()
    store = module.Store()
    for agent, batch in batches:
        store.add_batch(batch, agent)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    shape = {k: (len(s.slots), sum(sl.best.usage.total for sl in s.slots.values())) for k, s in store.sessions.items()}
    return seconds, peak, shape


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=Path("/tmp/bench-corpus"))
    ap.add_argument("--baseline", type=Path, required=True, help="a store.py to compare with")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    baseline = _load(args.baseline)
    roots = Roots(by_agent={"claude": [args.corpus / "claude"], "codex": [args.corpus / "codex"]})
    reader = Reader()
    batches = []
    for agent, path in discover(roots):
        batch = reader.read(path, SOURCES[agent], finalize=True)
        if batch is not None:
            batches.append((agent, batch))
    calls = sum(len(b.calls) for _a, b in batches)
    print(f"corpus {args.corpus}: {len(batches)} files, {calls} call copies; medians of {args.runs}")
    results: dict[str, list] = {"this tree": [], "baseline": []}
    shapes = {}
    for _ in range(args.runs):
        for name, module in (("this tree", current), ("baseline", baseline)):
            seconds, peak, shape = _merge(module, batches)
            results[name].append((seconds, peak))
            shapes[name] = shape
    print(f"{'store':12} {'merge (s)':>10} {'peak alloc (MB)':>16}")
    for name, runs in results.items():
        print(f"{name:12} {statistics.median(r[0] for r in runs):10.3f} {statistics.median(r[1] for r in runs):16.1f}")
    print("same sessions and totals:", shapes["this tree"] == shapes["baseline"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
