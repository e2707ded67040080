"""What the generator writes: JSON lines, files in memory, and the ground truth.

``dumps``/``loads`` (orjson, falling back to json), ``Writer`` (the lines of one file,
written out later so defects can be injected), ``NullWriter`` (a file that never reaches
the disk), ``Truth`` (per-session totals recorded when each API call is created) and
``COUNTING_RULES``, the rules ``Truth`` follows, copied verbatim into EXPECTED.json.
"""

from __future__ import annotations

try:
    import orjson

    def dumps(obj) -> bytes:
        return orjson.dumps(obj)

    def loads(b):
        return orjson.loads(b)

except ImportError:  # pragma: no cover - the project venv has orjson
    import json

    def dumps(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()

    def loads(b):
        return json.loads(b)


def dumps_pretty(obj) -> bytes:
    """``obj`` as indented JSON (EXPECTED.json is meant to be read by people too)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    except NameError:  # pragma: no cover
        return dumps(obj)


# The format doc's rules, as EXPECTED.json states them (its "counting_rules" field). The
# uneven indentation is that of the docstring they were first cut from: kept, because
# EXPECTED.json must stay byte-identical for the same seed and size.
COUNTING_RULES = """\
Claude: one API call per (message.id, requestId); its tokens are the input/cache
    counts (repeated on every line of the response) and the *final* output snapshot;
    cache_write = 5m + 1h; usage inside ``progress`` lines and ``toolUseResult.usage``
    is never counted; sub-agent calls (all layouts, ``acompact`` included) roll into the
    parent sessionId; a call copied into a resumed session's file counts once, in the
    session where it first happened; ``<synthetic>`` lines are no calls.
  Codex: one API call per ``token_count`` event whose ``total_token_usage`` differs
    from the previous event's; input = input - cached, cache_read = cached,
    cache_write = 0, output = output (reasoning included)."""


class Truth:
    """Ground truth, fed by the generator when it creates each API call."""

    FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_5m_tokens",
              "cache_write_1h_tokens", "cache_read_tokens", "api_calls")

    def __init__(self):
        self.sessions: dict[str, dict] = {}

    def session(self, sid: str, source: str, **meta) -> dict:
        s = self.sessions.get(sid)
        if s is None:
            s = {"source": source, **{f: 0 for f in self.FIELDS}, "models": {}, **meta}
            self.sessions[sid] = s
        return s

    def add(self, sid, source, model, inp, out, c5, c1h, cr):
        s = self.sessions[sid]
        s["input_tokens"] += inp
        s["output_tokens"] += out
        s["cache_write_tokens"] += c5 + c1h
        s["cache_write_5m_tokens"] += c5
        s["cache_write_1h_tokens"] += c1h
        s["cache_read_tokens"] += cr
        s["api_calls"] += 1
        m = s["models"].get(model)
        if m is None:
            m = s["models"][model] = {"input_tokens": 0, "output_tokens": 0,
                                      "cache_write_tokens": 0, "cache_read_tokens": 0,
                                      "api_calls": 0}
        m["input_tokens"] += inp
        m["output_tokens"] += out
        m["cache_write_tokens"] += c5 + c1h
        m["cache_read_tokens"] += cr
        m["api_calls"] += 1


class Writer:
    """Collects the lines of one file; written out (with optional defects) at close."""

    def __init__(self, path: str):
        self.path = path
        self.lines: list[bytes] = []
        self.last_t = 0.0
        self.defects: list[str] = []

    def emit(self, obj, t: float):
        self.lines.append(dumps(obj))
        if t > self.last_t:
            self.last_t = t


class NullWriter(Writer):
    """A file that never reaches the disk (a session of which only sub-agents survive)."""

    def emit(self, obj, t):
        pass
