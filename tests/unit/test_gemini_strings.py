"""Hostile strings at the source boundary, for every source: a JSON-escaped lone surrogate
(what JavaScript writes when it cuts a string mid-emoji) or any other odd text in a model,
cwd, message id, session id, title or prompt never crashes orjson, SQLite or the tables."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.agent_builders import (
    GeminiChat,
    OpenCodeData,
    QwenChat,
    gemini_chat_path,
    js_dumps,
    qwen_chat_path,
    survives,
)
from tests.unit.builders import ClaudeSession, CodexRollout, claude_main_path, codex_rollout_path, sid

TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=10)
"""Any code point, lone surrogates included."""
SURROGATE = st.sampled_from(["\ud83d", "\udc00", "a\ud800b", "\ud83d\ude00\ud83d"])
HOSTILE = st.one_of(SURROGATE, TEXT, st.tuples(TEXT, SURROGATE).map("".join))
EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _js_lines(lines: list[dict]) -> bytes:
    return b"".join(js_dumps(line) + b"\n" for line in lines)


def _clean(out: list[dict]) -> None:
    for j in out:
        for key in ("session_id", "project", "title", *(m for m in j["models"])):
            key.encode("utf-8")  # every string is valid UTF-8 now
        json.dumps(j, ensure_ascii=False).encode("utf-8")


@EXAMPLES
@given(model=HOSTILE, cwd=HOSTILE, text=HOSTILE, mid=HOSTILE)
def test_claude(model, cwd, text, mid):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        s = ClaudeSession(sid(1), cwd=cwd or "/x")
        s.prompt(text or "p")
        s.response(model=model or "m", message_id="msg_" + mid, blocks=[("tool_use", text or "Read", {"file_path": cwd})])
        path = claude_main_path(root / "claude" / "projects", "/x", sid(1))
        path.parent.mkdir(parents=True)
        for line in s.lines:
            line["sessionId"] = sid(1)
        path.write_bytes(_js_lines(s.lines))
        _clean(survives("claude", root / "claude", root / "data"))


@EXAMPLES
@given(model=HOSTILE, cwd=HOSTILE, text=HOSTILE, session=HOSTILE)
def test_codex(model, cwd, text, session):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        r = CodexRollout("019c8a01-0001-7001-8aa2-000000000001" + session, cwd=cwd)
        r.session_meta()
        r.turn_context(model=model)
        r.user(text or "p")
        r.call()
        path = codex_rollout_path(root / "codex", "019c8a01-0001-7001-8aa2-000000000001")
        path.parent.mkdir(parents=True)
        path.write_bytes(_js_lines(r.lines))
        out = survives("codex", root / "codex", root / "data")
        _clean(out)
        assert len(out) == 1


@EXAMPLES
@given(model=HOSTILE, title=HOSTILE, text=HOSTILE, session=HOSTILE)
def test_gemini(model, title, text, session):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chat = GeminiChat("00000001-1e4e-44f6-8bf5-" + session)
        chat.meta()
        chat.user(text or "p")
        chat.respond(model=model, tools=[(text or "read_file", {"file_path": title})])
        chat.set(summary=title)
        (root / "gemini" / "tmp" / "p").mkdir(parents=True)
        (root / "gemini" / "tmp" / "p" / ".project_root").write_bytes(js_dumps(title)[1:-1] or b"/p")
        path = gemini_chat_path(root / "gemini", "p", "00000001")
        path.parent.mkdir(parents=True)
        path.write_bytes(_js_lines(chat.records))
        legacy = gemini_chat_path(root / "gemini", "p", "00000002", legacy=True)
        legacy.write_bytes(js_dumps({**chat.document(), "sessionId": "s2" + session}))
        _clean(survives("gemini", root / "gemini", root / "data"))


@EXAMPLES
@given(model=HOSTILE, cwd=HOSTILE, text=HOSTILE, session=HOSTILE)
def test_qwen(model, cwd, text, session):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        q = QwenChat("7c1e9a20-3b4d-4e5f-8a6b-0123456789ab", cwd=cwd)
        q.user(text)
        q.assistant(model=model, tools=[(text or "read_file", {"absolute_path": cwd})])
        q.system("custom_title", {"customTitle": text})
        for r in q.records:
            r["sessionId"] = session
        path = qwen_chat_path(root / "qwen", "p", q.session_id)
        path.parent.mkdir(parents=True)
        path.write_bytes(_js_lines(q.records))
        _clean(survives("qwen", root / "qwen", root / "data"))


@EXAMPLES
@given(model=HOSTILE, title=HOSTILE, text=HOSTILE, session=HOSTILE)
def test_opencode(model, title, text, session):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        oc = OpenCodeData(root / "opencode")
        oc.session("ses_x")
        oc.user("ses_x", text)
        oc.assistant("ses_x", model=model or "m", tools=[(text or "read", {"filePath": title})], finish="stop")
        conn = oc.open()
        # JSON columns written the JavaScript way (escaped lone surrogates); text columns
        # holding the bytes of a lone surrogate (not UTF-8), as a JS string cut mid-emoji.
        for table in ("message", "part"):
            for rid, data in conn.execute(f"SELECT id, data FROM {table}").fetchall():
                conn.execute(f"UPDATE {table} SET data = ? WHERE id = ?", (js_dumps(json.loads(data)).decode(), rid))
        raw = ("ses_" + session).encode("utf-8", "surrogatepass")
        conn.execute("UPDATE session SET id = CAST(? AS TEXT), title = CAST(? AS TEXT), directory = CAST(? AS TEXT)",
                     (raw, title.encode("utf-8", "surrogatepass"), title.encode("utf-8", "surrogatepass")))
        for table in ("message", "part"):
            conn.execute(f"UPDATE {table} SET session_id = CAST(? AS TEXT)", (raw,))
        oc.close()
        _clean(survives("opencode", root / "opencode", root / "data"))
