"""What an index file is, and what it was built by: versions, fingerprints, its path.

An index is valid for one set of roots (its file name hashes them), one layout of
the tables (``SCHEMA_VERSION``) and one way of counting (``code_fingerprint``: the
parser version plus a hash of the code that decides what is counted). Costs are
cached under a separate, cheaper ``price_fingerprint``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from datetime import UTC, datetime
from pathlib import Path

from tokdash.ingest.discovery import Roots

SCHEMA_VERSION = 5
"""Layout of the tables and of the stored bytes. An index of an older schema is moved aside
(kept) and its history carried into a new file; one of a newer schema is left alone
(see ``migrate``). 1: the first index. 4: checksums on every blob and row and a tally of
rows kept by triggers (damage is found), file heads (rewrites in place are told), the
other files holding a copy of each call and event (withdrawal), escaped non-UTF-8 paths,
a call's cost as two integer columns (exact at any size). 2 and 3 were steps towards 4.
5: flat rows (a blob holds only what no column does, see ``rows``), files named by id,
no ``keys`` row for a call's own key: a third fewer bytes to write and to read."""
PARSER_VERSION = 1
"""Bump whenever ``sources/``, the store or the summaries count differently: the index
then rebuilds itself from the transcripts (carrying over those that are gone). A hash
of those modules' source is checked as well, so an unbumped change is caught too."""

_SEMANTIC_FILES = (
    "model/records.py",
    "model/store.py",
    "model/session.py",
    "model/context.py",
    "ingest/reader.py",
    "ingest/parallel.py",
    "ingest/index/__init__.py",
    "ingest/index/codec.py",
    "ingest/index/db.py",
    "ingest/index/identity.py",
    "ingest/index/prices.py",
    "ingest/index/migrate.py",
    "ingest/index/queries.py",
    "ingest/index/rebuild.py",
    "ingest/index/reading.py",
    "ingest/index/rows.py",
    "ingest/index/store.py",
    "ingest/index/sync.py",
    "ingest/index/tables.py",
)
"""Modules (besides ``sources/*.py``) whose code decides what the index holds."""

NEW = "the index is new"
"""The :func:`version_problem` of an index no run has built yet (nothing to warn about)."""


def _package_root() -> Path:
    return Path(__file__).resolve().parents[2]


@functools.cache
def code_fingerprint() -> str:
    """``PARSER_VERSION`` plus a hash of the source of every module that decides what is counted.

    Once per process: what counts is the code this process runs, which is what it loaded
    (a dashboard syncs several times a second; this reads and hashes some forty files)."""
    root = _package_root()
    h = hashlib.blake2b(digest_size=10)
    rels = list(_SEMANTIC_FILES)
    # Every module under sources/, at any depth: an agent may be a package of its own.
    rels += sorted(p.relative_to(root).as_posix() for p in (root / "sources").rglob("*.py"))
    for rel in rels:
        h.update(rel.encode())
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            h.update(b"\x00missing")
    return f"{PARSER_VERSION}:{h.hexdigest()}"


def price_fingerprint(config_path: Path | None) -> str:
    """What the cached costs depend on: today's date (prices are dated), the config
    file's overrides, the pricing code and the installed genai-prices table.

    Cheap on purpose (no genai-prices import): when it changes, each model's price is
    resolved again and only sessions whose models changed price are re-summarized.
    """
    h = hashlib.blake2b(digest_size=10)
    h.update(datetime.now(UTC).date().isoformat().encode())
    if config_path is not None:
        from tokdash.model.config import ConfigError, read_config_bytes

        try:
            h.update(read_config_bytes(config_path) or b"\x00no-config")  # a FIFO must not block here
        except ConfigError as exc:
            h.update(b"\x00bad-config" + str(exc).encode("utf-8", "replace"))
    h.update(pricing_code_hash().encode())
    try:
        table = _price_table_file()
        if table:
            st = os.stat(table)
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        else:
            h.update(b"\x00no-genai-prices")
    except OSError:
        h.update(b"\x00no-genai-prices")
    return h.hexdigest()


@functools.cache
def _price_table_file() -> str | None:
    """Where the installed genai-prices table is (found once: the search walks ``sys.path``)."""
    try:
        spec = importlib.util.find_spec("genai_prices")
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    return os.path.join(os.path.dirname(origin), "data.py") if origin else None


@functools.cache
def pricing_code_hash() -> str:
    """A hash of the pricing code (the table lookup and the config overrides' parser): stored
    costs are void when it changed. Once per process, as :func:`code_fingerprint`."""
    h = hashlib.blake2b(digest_size=8)
    for name in ("pricing.py", "config.py"):
        try:
            h.update((_package_root() / "model" / name).read_bytes())
        except OSError:
            h.update(b"\x00missing")
    return h.hexdigest()


def version_problem(meta: dict[str, str]) -> str | None:
    """Why the index described by ``meta`` must be rebuilt (``NEW`` if it never was built), or None."""
    if meta.get("schema") != str(SCHEMA_VERSION):
        return f"the index format changed (schema {meta.get('schema')} -> {SCHEMA_VERSION})"
    code = meta.get("code")
    if code is None:
        return NEW
    if code != code_fingerprint():
        return "tokdash's transcript parser changed since the index was built"
    return None


def roots_signature(roots: Roots) -> str:
    """A stable text naming every root of every agent (what one index file covers)."""
    from tokdash.ingest.index.codec import enc_path

    lines = sorted(f"{agent}\t{enc_path(os.path.abspath(p))}" for agent, paths in roots.by_agent.items()
                   for p in paths)
    return "\n".join(lines)


def index_path(roots: Roots, data: Path | None = None) -> Path:
    """The index file of a set of roots: ``<data dir>/index-<hash>.db``.

    One file per set of roots keeps reports exact: a report over other roots never
    sees (or dedups against) calls read from somewhere else.
    """
    from tokdash.paths import data_dir

    digest = hashlib.blake2b(roots_signature(roots).encode(), digest_size=6).hexdigest()
    return (data if data is not None else data_dir()) / f"index-{digest}.db"
