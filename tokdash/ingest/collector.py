"""The cyclic garbage collector during a big read: off while records pile up, then frozen.

Reading and merging allocate hundreds of thousands of small objects that all stay alive
(records, store slots): the collector scans them again and again for cycles there are none
of. ``report sessions --no-cache`` (which read with it on) took a median 5.37 s over the 4x
benchmark corpus (1,091 MB) and 3.82 s with this (3 alternating runs each); 1.27 s and 0.99 s
over the 1x corpus (7 runs each). During a read it is off; it runs again afterwards.

A one-shot command (one thread) that read a lot keeps what it read until it exits, so it also
freezes it (``gc.freeze``): later collections never scan it again (the first full one would:
~75 ms for 273 MB).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

FREEZE_BYTES = 64 * 1024 * 1024
"""A single-threaded process (a report) that read this much freezes what survived."""


@dataclass(slots=True)
class Read:
    """What the block read, told by the caller (``bytes``), to decide on freezing."""

    bytes: int = 0


@contextmanager
def quiet_collector() -> Iterator[Read]:
    """No cyclic collection inside the block; afterwards the collector runs as before, with what
    a one-shot command read frozen when it read at least ``FREEZE_BYTES``."""
    collecting = gc.isenabled()
    gc.disable()
    read = Read()
    try:
        yield read
        if collecting and read.bytes >= FREEZE_BYTES and threading.active_count() == 1:
            gc.freeze()
    finally:
        if collecting:
            gc.enable()
