"""Serialization of records, parse contexts and summaries for the persistent index.

Two encodings, for two jobs:

- **Keys** (dedup keys, message ids) are looked up by value, so their bytes must be
  canonical: equal tuples give equal bytes. ``orjson`` gives that; tuples become
  arrays and come back as tuples (keys never hold lists).
- **Everything else** (a ``Call``, a ``FileContext`` with its source-specific
  ``state``, a ``SessionSummary``) is ``marshal`` bytes of plain values, which keeps
  tuples, ``inf`` and non-string values exact (Codex state holds tuples that end up
  inside keys). ``marshal`` output is not canonical, so it is never used for lookups.

A dataclass is written as a tuple ``(b"ClassName", value, value, ...)`` in field
order: compact (no field names in every row) and unambiguous, because nothing read
from a transcript is ever ``bytes``. The field order each class had when a row was
written is its *layout*; the index stores the layouts, so rows written by an older
build (history carried over a rebuild) are still read by field name, and a field
added later takes its default.
"""

from __future__ import annotations

import dataclasses
import marshal
from collections import Counter

import orjson

from tokdash.model.records import Call, Event, SessionMeta, ToolUse, Usage
from tokdash.model.session import ModelTotals, SessionSummary, SubagentTotals
from tokdash.sources.base import FileContext

MARSHAL_VERSION = 4
"""Readable by every Python 3 since 3.4; pinned so a newer Python writes what an older one reads."""

_COUNTER_TAG = b"Counter"
_OPAQUE = frozenset({str, int, float, bool, type(None), tuple})
"""Stored as they are. Tuples (keys, ranks, Codex totals) never hold a dataclass."""
_NESTED_SET = frozenset({tuple, dict, list})

_CLASSES: dict[bytes, type] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}
_TAGS: dict[type, bytes] = {}


class CodecError(ValueError):
    """Stored bytes that do not decode: the index is damaged (or from an incompatible build)."""


def register(cls: type) -> None:
    """Make a dataclass storable (``ModelPrice`` is registered where pricing is loaded)."""
    tag = cls.__name__.encode()
    _CLASSES[tag] = cls
    _TAGS[cls] = tag
    _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))


for _cls in (Usage, ToolUse, Call, Event, SessionMeta, FileContext, ModelTotals, SubagentTotals, SessionSummary):
    register(_cls)


def current_layouts() -> dict[str, list[str]]:
    """Field order of every registered class, as this build writes them."""
    return {tag.decode(): list(_FIELDS[cls]) for tag, cls in _CLASSES.items()}


# --- keys -----------------------------------------------------------------------


def enc_key(key: object) -> bytes:
    """Canonical bytes of a dedup key or message id (str, int, None and nested tuples)."""
    return orjson.dumps(key)


def dec_key(data: bytes) -> object:
    """The key ``enc_key`` encoded, with its tuples restored."""
    try:
        return _tuplify(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"bad key bytes: {exc}") from None


def _tuplify(value: object) -> object:
    if type(value) is list:
        return tuple(_tuplify(v) for v in value)
    return value


# --- values ---------------------------------------------------------------------


def dumps(obj: object) -> bytes:
    """``marshal`` bytes of a record, context, summary or any nest of them."""
    return marshal.dumps(_enc(obj), MARSHAL_VERSION)


class Reader:
    """Decodes rows written with the given layouts (class name -> field names)."""

    def __init__(self, layouts: dict[str, list[str]] | None = None) -> None:
        self._stored = layouts or {}
        self._plans: dict[bytes, tuple[type, tuple[str, ...] | None]] = {}

    def _plan(self, tag: bytes) -> tuple[type, tuple[str, ...] | None]:
        """(class, stored field names when they differ from the class's own, else None)."""
        plan = self._plans.get(tag)
        if plan is None:
            cls = _CLASSES[tag]
            stored = self._stored.get(tag.decode())
            names = tuple(stored) if stored else _FIELDS[cls]
            plan = self._plans[tag] = (cls, None if names == _FIELDS[cls] else names)
        return plan

    def loads(self, data: bytes) -> object:
        """The object ``dumps`` encoded."""
        try:
            return self._dec(marshal.loads(data))
        except (ValueError, EOFError, TypeError, KeyError, IndexError) as exc:
            raise CodecError(f"bad record bytes: {exc!r}") from None

    def _dec(self, obj: object) -> object:
        t = type(obj)
        if t is tuple:
            if not obj or type(obj[0]) is not bytes:  # type: ignore[index]
                return obj
            tag = obj[0]  # type: ignore[index]
            if tag == _COUNTER_TAG:
                c: Counter = Counter()
                for k, v in obj[1]:  # type: ignore[index]
                    c[k] = v
                return c
            cls, names = self._plan(tag)
            dec = self._dec
            values = [dec(v) if type(v) in _NESTED_SET else v for v in obj[1:]]  # type: ignore[index]
            if names is None:
                return cls(*values)
            fields = _FIELDS[cls]
            return cls(**{n: v for n, v in zip(names, values, strict=True) if n in fields})
        if t is dict:
            return {k: self._dec(v) for k, v in obj.items()}  # type: ignore[union-attr]
        if t is list:
            return [self._dec(v) for v in obj]  # type: ignore[union-attr]
        return obj


_DEFAULT_READER = Reader()


def loads(data: bytes) -> object:
    """Decode bytes written by this build (see :class:`Reader` for older layouts)."""
    return _DEFAULT_READER.loads(data)


def _enc(obj: object) -> object:
    t = type(obj)
    if t in _OPAQUE:
        return obj
    names = _FIELDS.get(t)
    if names is not None:
        enc = _enc
        return (_TAGS[t], *[v if type(v) in _OPAQUE else enc(v) for v in (getattr(obj, n) for n in names)])
    if t is dict:
        return {k: v if type(v) in _OPAQUE else _enc(v) for k, v in obj.items()}  # type: ignore[union-attr]
    if t is list:
        return [v if type(v) in _OPAQUE else _enc(v) for v in obj]  # type: ignore[union-attr]
    if t is Counter:
        return (_COUNTER_TAG, tuple(obj.items()))  # type: ignore[union-attr]
    if dataclasses.is_dataclass(obj):
        raise TypeError(f"index codec: unregistered dataclass {t.__name__}")
    raise TypeError(f"index codec: cannot store {t.__name__}")
