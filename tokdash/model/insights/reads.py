"""Tips about what tool results put into the context: re-reads of an unchanged file, whole
large files read, very large outputs."""

from __future__ import annotations

from collections import defaultdict

from tokdash.format import fmt_kb, path_name
from tokdash.model.insights.facts import (
    BYTES_PER_TOKEN,
    EDIT_KINDS,
    Facts,
    Tip,
    ToolEvent,
    sum_or_none,
    trim_saving,
)
from tokdash.model.records import READ

REREAD_MIN = 3
"""Reads of the same file, unchanged in between, in one context that make a re-read tip."""
WHOLE_READ_BYTES = 25_000
"""A whole-file Read whose result is at least this many bytes (~6k tokens) is a large read."""
WHOLE_READ_MIN_COUNT = 2
"""Large whole-file reads in a session before the tip fires (one big read is often needed)."""
TARGETED_READ_BYTES = 8_000
"""What a targeted read (offset/limit, or a Grep first) of a large file is assumed to return."""

LARGE_OUTPUT_BYTES = 40_000
"""A tool result at least this large (~10k tokens) is a very large output."""
LARGE_OUTPUT_KEEP_BYTES = 4_000
"""What a trimmed output (``| tail``, ``--quiet``, a narrower query) is assumed to keep."""


def repeated_reads(f: Facts) -> Tip | None:
    """The same file read again and again while it did not change."""
    # Per context (chain) and file: runs of reads with no edit of that file in between
    # (an edit by any chain changes the file on disk, so a read after it is fresh).
    unchanged: dict[tuple[str | None, str], list[ToolEvent]] = defaultdict(list)
    worst: dict[tuple[str | None, str], int] = {}
    redundant: list[ToolEvent] = []
    for t in f.tools:
        if not t.target:
            continue
        if t.kind in EDIT_KINDS:
            for key in [k for k in unchanged if k[1] == t.target]:
                unchanged[key] = []
            continue
        if t.kind != READ:
            continue
        key = (t.chain, t.target)
        run = unchanged[key]
        run.append(t)
        worst[key] = max(worst.get(key, 0), len(run))
        if len(run) > 1:
            redundant.append(t)
    flagged = {k: n for k, n in worst.items() if n >= REREAD_MIN}
    if not flagged:
        return None
    redundant = [t for t in redundant if (t.chain, t.target) in flagged]
    # Estimate: each redundant re-read put another copy of the file into the context; its
    # carried cost (sent once, then re-read by every later call until compaction) is the
    # saving. Re-reads whose result size was not recorded add tokens 0 (a lower bound).
    tokens = 0
    usd: list[float | None] = []
    for t in redundant:
        size = f.outputs.get(t.tool_id, 0) // BYTES_PER_TOKEN
        tokens += size
        usd.append(f.carried_cost(t.chain, t.index, size))
    (chain, target), count = max(flagged.items(), key=lambda kv: (kv[1], kv[0][1]))
    more = len(flagged) - 1
    figure = f"{path_name(target)} read {count}× unchanged"
    if more:
        figure += f" (+{more} more file{'s' if more > 1 else ''})"
    return Tip(
        "repeated_reads",
        "Same file read many times",
        "Each re-read of an unchanged file puts another copy into the context, re-sent on every later call. "
        "Note what you need the first time, or read only the lines you need (offset/limit).",
        figure,
        sum_or_none(usd),
        tokens,
    )


def whole_large_reads(f: Facts) -> Tip | None:
    """Whole large files read into the context."""
    big = [
        (t, f.outputs[t.tool_id])
        for t in f.tools
        if t.kind == READ and t.whole_file and f.outputs.get(t.tool_id, 0) >= WHOLE_READ_BYTES
    ]
    if len(big) < WHOLE_READ_MIN_COUNT:
        return None
    # Estimate: a targeted read (offset/limit, or Grep then read the hit) returns about
    # TARGETED_READ_BYTES; the carried cost of the difference is the saving.
    tokens, usd = trim_saving(f, big, TARGETED_READ_BYTES)
    largest_t, largest = max(big, key=lambda p: p[1])
    return Tip(
        "whole_large_reads",
        "Whole large files read",
        "Large files were read whole, and every line stays in the context until compaction. "
        "Grep for the part you need, then read it with offset/limit.",
        f"{len(big)} whole reads ≥ {fmt_kb(WHOLE_READ_BYTES)}, largest {path_name(largest_t.target)} {fmt_kb(largest)}",
        sum_or_none(usd),
        tokens,
    )



def large_tool_outputs(f: Facts) -> Tip | None:
    """Very large tool results, carried in the context until compaction."""
    big = []
    for t in f.tools:
        size = f.outputs.get(t.tool_id, 0)
        if size < LARGE_OUTPUT_BYTES:
            continue
        if t.kind == READ and t.whole_file and size >= WHOLE_READ_BYTES:
            continue  # the whole-file-read tip counts these
        big.append((t, size))
    if not big:
        return None
    # Estimate: trimmed at the source the output would keep LARGE_OUTPUT_KEEP_BYTES; the
    # carried cost of the rest (sent once, re-read by every later call until compaction).
    tokens, usd = trim_saving(f, big, LARGE_OUTPUT_KEEP_BYTES)
    largest_t, largest = max(big, key=lambda p: p[1])
    n = len(big)
    return Tip(
        "large_tool_outputs",
        "Very large tool outputs",
        "Every tool result stays in the context and is re-sent on each later call until compaction. "
        "Trim at the source: | tail -50, --quiet, a narrower query or a limited read.",
        f"{n} output{'s' if n != 1 else ''} ≥ {fmt_kb(LARGE_OUTPUT_BYTES)}, "
        f"largest {fmt_kb(largest)} ({largest_t.name})",
        sum_or_none(usd),
        tokens,
    )
