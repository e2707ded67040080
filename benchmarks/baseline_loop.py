#!/usr/bin/env python3
"""The bare floor: how fast can plain Python get through the corpus at all?

    python benchmarks/baseline_loop.py CORPUS_DIR

Reads every ``*.jsonl`` under CORPUS_DIR in 1 MiB binary chunks, splits on ``b"\\n"``
(never ``splitlines``), keeps only lines containing ``b'"usage":{'`` and
``orjson.loads`` them, summing raw ``usage`` fields with no dedup, no sessions, no
models, no error recovery beyond skipping lines that do not decode. Its numbers are
not correct totals (no dedup, progress copies counted); it only measures the cost
of I/O + split + prefilter + parse, which a real parser cannot beat by much.
"""

from __future__ import annotations

import os
import sys
import time

import orjson

CHUNK = 1 << 20
NEEDLE = b'"usage":{'


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    root = argv[0]
    t0 = time.perf_counter()
    files = nbytes = nlines = kept = parsed = bad = 0
    inp = out = cache_read = cache_write = 0
    loads = orjson.loads
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if not name.endswith(".jsonl"):
                continue
            files += 1
            with open(os.path.join(dirpath, name), "rb") as f:
                rest = b""
                while True:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        break
                    nbytes += len(chunk)
                    lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
                    rest = lines.pop()
                    nlines += len(lines)
                    for line in lines:
                        if NEEDLE not in line:
                            continue
                        kept += 1
                        try:
                            obj = loads(line)
                        except orjson.JSONDecodeError:
                            bad += 1
                            continue
                        parsed += 1
                        msg = obj.get("message") if isinstance(obj, dict) else None
                        usage = msg.get("usage") if isinstance(msg, dict) else None
                        if isinstance(usage, dict):
                            inp += usage.get("input_tokens") or 0
                            out += usage.get("output_tokens") or 0
                            cache_read += usage.get("cache_read_input_tokens") or 0
                            cache_write += usage.get("cache_creation_input_tokens") or 0
                if rest:  # last line without a trailing newline
                    nlines += 1
                    if NEEDLE in rest:
                        kept += 1
                        try:
                            loads(rest)
                            parsed += 1
                        except orjson.JSONDecodeError:
                            bad += 1
    elapsed = time.perf_counter() - t0
    sys.stdout.buffer.write(orjson.dumps({
        "files": files, "bytes": nbytes, "lines": nlines, "prefilter_kept": kept,
        "parsed": parsed, "undecodable": bad, "elapsed_s": round(elapsed, 3),
        "raw_usage_sums_not_deduplicated": {"input": inp, "output": out, "cache_read": cache_read,
                                            "cache_write": cache_write},
    }, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
