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

Every value blob ends with a 4-byte CRC-32 of what precedes it (schema 2 on): SQLite
does not checksum its pages, so a flipped byte inside a summary or a record would
otherwise decode to a silently wrong number. A blob whose checksum fails is a
:class:`CodecError`, i.e. a damaged index.

Paths: a file name need not be valid UTF-8; Python holds such a name as a ``str`` with
lone surrogates (``surrogateescape``), which SQLite cannot take as text. :func:`enc_path`
stores such a path (and only such a path) as an escaped text form that
:func:`dec_path` turns back into the very same ``str``; keys holding one are encoded the
same way, so nothing is lost and every valid name is stored as it is.
"""

from __future__ import annotations

import dataclasses
import marshal
import os
import re
import zlib
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


_PATH_TAG = "\ufffe"
"""Starts the escaped form of a path that is not valid text (U+FFFE, a noncharacter no real
file name starts with; one that does is escaped too, so the mapping stays one-to-one)."""


def enc_path(path: str) -> str:
    """A path as SQLite text: itself when it is valid UTF-8 (the usual case), else an escaped form."""
    if path.startswith(_PATH_TAG) or not path.isascii() and _has_surrogates(path):
        return _PATH_TAG + os.fsencode(path).hex()
    return path


def dec_path(text: str) -> str:
    """The path ``enc_path`` stored, exactly as the file system named it (:class:`CodecError`
    for anything but text: a damaged row)."""
    if type(text) is not str:
        raise CodecError("a stored path is not text")
    if text.startswith(_PATH_TAG):
        try:
            return os.fsdecode(bytes.fromhex(text[len(_PATH_TAG):]))
        except ValueError:
            return text
    return text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_PLAIN_NAMES = frozenset({"str", "int", "float", "bool", "None", "list", "dict", "tuple", "set", "frozenset"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9.]*")
_PLAIN: dict[type, frozenset[str]] = {}
"""Per class, its fields whose annotation names only plain types (``str | None``,
``dict[str, int]``, ``tuple[str, str, int]``): their stored values are what marshal gives
back, never a record to decode, so a decode does not look inside them."""


def register(cls: type) -> None:
    """Make a dataclass storable (``ModelPrice`` is registered where pricing is loaded)."""
    tag = cls.__name__.encode()
    _CLASSES[tag] = cls
    _TAGS[cls] = tag
    fields = dataclasses.fields(cls)
    _FIELDS[cls] = tuple(f.name for f in fields)
    _PLAIN[cls] = frozenset(f.name for f in fields
                            if isinstance(f.type, str) and set(_NAME.findall(f.type)) <= _PLAIN_NAMES)


for _cls in (Usage, ToolUse, Call, Event, SessionMeta, FileContext, ModelTotals, SubagentTotals, SessionSummary):
    register(_cls)


def current_layouts() -> dict[str, list[str]]:
    """Field order of every registered class, as this build writes them."""
    return {tag.decode(): list(_FIELDS[cls]) for tag, cls in _CLASSES.items()}


# --- keys -----------------------------------------------------------------------


def enc_key(key: object) -> bytes:
    """Canonical bytes of a dedup key or message id (str, int, None and nested tuples).

    A string that is not valid UTF-8 (a key built from a file name with undecodable
    bytes) becomes ``{"p": <enc_path form>}``: keys never hold a dict, so this cannot
    collide with any other key, and every ordinary key keeps its usual bytes.
    """
    try:
        return orjson.dumps(key)
    except TypeError:
        return orjson.dumps(_escape(key))


def dec_key(data: bytes) -> object:
    """The key ``enc_key`` encoded, with its tuples (and escaped strings) restored."""
    if type(data) is not bytes:
        raise CodecError("a stored key is not bytes")
    try:
        return _tuplify(orjson.loads(data))
    except orjson.JSONDecodeError as exc:
        raise CodecError(f"bad key bytes: {exc}") from None


def _escape(value: object) -> object:
    if type(value) is tuple:
        return [_escape(v) for v in value]
    if type(value) is str and _has_surrogates(value):
        return {"p": _PATH_TAG + os.fsencode(value).hex()}
    return value


def _tuplify(value: object) -> object:
    if type(value) is list:
        return tuple(_tuplify(v) for v in value)
    if type(value) is dict and len(value) == 1 and "p" in value:
        return dec_path(value["p"])
    return value


# --- values ---------------------------------------------------------------------


def dumps(obj: object) -> bytes:
    """``marshal`` bytes of a record, context, summary or any nest of them, and their CRC-32."""
    return pack(_enc(obj))


def pack(value: object) -> bytes:
    """The stored bytes of an already encoded value (what :func:`encode` gives): ``marshal``
    bytes and their CRC-32. For callers that build a record's encoded form themselves."""
    data = marshal.dumps(value, MARSHAL_VERSION)
    return data + zlib.crc32(data).to_bytes(4, "little")


def encode(obj: object) -> object:
    """The plain value ``dumps`` marshals for ``obj`` (a dataclass as its tag and fields)."""
    return _enc(obj)


def layout(cls: type) -> tuple[bytes, tuple[str, ...]]:
    """(tag, field names in the order this build writes them) of a registered class."""
    return _TAGS[cls], _FIELDS[cls]


OPAQUE = _OPAQUE
"""Types stored as they are (no encoding needed)."""


class Reader:
    """Decodes rows written with the given layouts (class name -> field names).

    ``checked``: the blobs end with their CRC-32 (every index of schema 2 on); False
    only for carrying history over from an index of schema 1.
    """

    def __init__(self, layouts: dict[str, list[str]] | None = None, *, checked: bool = True) -> None:
        self._stored = layouts or {}
        self._plans: dict[bytes, tuple[type, tuple[str, ...] | None]] = {}
        self.checked = checked

    def _plan(self, tag: bytes) -> tuple[type, tuple[str, ...] | None, tuple[int, ...]]:
        """(class, stored field names when they differ from the class's own, else None, the
        positions of the stored values that may hold a record to decode)."""
        plan = self._plans.get(tag)
        if plan is None:
            cls = _CLASSES[tag]
            stored = self._stored.get(tag.decode())
            names = tuple(stored) if stored else _FIELDS[cls]
            plain = _PLAIN[cls]
            nested = tuple(i for i, n in enumerate(names) if n not in plain)
            plan = self._plans[tag] = (cls, None if names == _FIELDS[cls] else names, nested)
        return plan

    def loads(self, data: bytes) -> object:
        """The object ``dumps`` encoded; :class:`CodecError` when its bytes are damaged."""
        if self.checked:
            if type(data) is not bytes or len(data) < 5:
                raise CodecError("a stored record is missing or truncated")
            body = data[:-4]
            if zlib.crc32(body) != int.from_bytes(data[-4:], "little"):
                raise CodecError("a stored record fails its checksum")
            data = body
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
            cls, names, nested = self._plan(tag)
            dec = self._dec
            values = list(obj[1:])  # type: ignore[index]
            for i in nested:
                if i < len(values) and type(values[i]) in _NESTED_SET:
                    values[i] = dec(values[i])
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
