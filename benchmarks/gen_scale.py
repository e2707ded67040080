#!/usr/bin/env python3
"""Generate N small sessions quickly, for scale tests (the 50,000-session fleet).

    python benchmarks/gen_scale.py OUT_DIR [--sessions 50000] [--projects 500] [--codex-share 0.2] [--seed 1]

Writes ``OUT_DIR/claude/projects/<project>/<session>.jsonl`` (a Claude config dir) and
``OUT_DIR/codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` (a Codex home): each session one
prompt and 1-4 API calls (Claude: two content-block lines per response, the output
snapshot growing, as Claude Code writes them; Codex: ``session_meta``, ``turn_context``
and cumulative ``token_count`` events), spread over the last 60 days. Deterministic for
a seed. Lines are formatted from templates, so 50,000 sessions take seconds to write;
for realistic sizes and every format trap use ``gen_corpus.py`` instead.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_CLAUDE = (
    '{{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"{cwd}","sessionId":"{sid}",'
    '"version":"2.1.39","gitBranch":"main","type":"assistant","uuid":"{uuid}","timestamp":"{ts}",'
    '"requestId":"req_{n}","message":{{"id":"msg_{n}","type":"message","role":"assistant","model":"{model}",'
    '"content":[{{"type":"text","text":"ok"}}],"stop_reason":{stop},"usage":{{"input_tokens":{inp},'
    '"cache_creation_input_tokens":{cw},"cache_read_input_tokens":{cr},"output_tokens":{out}}}}}}}\n'
)
_PROMPT = (
    '{{"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"{cwd}","sessionId":"{sid}",'
    '"version":"2.1.39","gitBranch":"main","type":"user","message":{{"role":"user","content":"task {n}"}},'
    '"uuid":"{uuid}","timestamp":"{ts}"}}\n'
)
_CODEX_HEAD = (
    '{{"timestamp":"{ts}","type":"session_meta","payload":{{"id":"{sid}","cwd":"{cwd}","cli_version":"0.104.0",'
    '"originator":"codex_cli_rs"}}}}\n{{"timestamp":"{ts}","type":"turn_context","payload":{{"cwd":"{cwd}",'
    '"model":"gpt-5.3-codex"}}}}\n'
)
_CODEX_CALL = (
    '{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":'
    '{{"input_tokens":{ti},"cached_input_tokens":{tc},"output_tokens":{to},"reasoning_output_tokens":0,'
    '"total_tokens":{tt}}},"last_token_usage":{{"input_tokens":{i},"cached_input_tokens":{c},'
    '"output_tokens":{o},"reasoning_output_tokens":0,"total_tokens":{t}}}}}}}}}\n'
)
MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-6", "claude-haiku-4-5-20251001")


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _stamp(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def generate(out: Path, sessions: int, projects: int, codex_share: float, seed: int) -> tuple[int, int]:
    """Write the tree; returns (Claude sessions, Codex sessions)."""
    rng = random.Random(seed)
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    n_codex = int(sessions * codex_share)
    n_claude = sessions - n_codex
    counter = 0
    dirs = []
    for p in range(projects):
        cwd = f"/home/dev/proj-{p:04d}"
        d = out / "claude" / "projects" / cwd.replace("/", "-")
        d.mkdir(parents=True, exist_ok=True)
        dirs.append((cwd, d))
    for s in range(n_claude):
        cwd, d = dirs[s % projects]
        sid = _uuid(rng)
        t = now - timedelta(minutes=rng.randrange(60 * 24 * 60))
        lines = [_PROMPT.format(cwd=cwd, sid=sid, uuid=_uuid(rng), ts=_stamp(t), n=s)]
        for _c in range(rng.randint(1, 4)):
            counter += 1
            inp, cw, cr, out_tokens = rng.randrange(1, 50), rng.randrange(0, 4000), rng.randrange(0, 90000), rng.randrange(20, 900)
            model = MODELS[rng.randrange(len(MODELS))]
            for block in (0, 1):
                t += timedelta(seconds=1)
                lines.append(_CLAUDE.format(cwd=cwd, sid=sid, uuid=_uuid(rng), ts=_stamp(t), n=counter, model=model,
                                            stop="null" if block == 0 else '"end_turn"', inp=inp, cw=cw, cr=cr,
                                            out=out_tokens // 2 if block == 0 else out_tokens))
        (d / f"{sid}.jsonl").write_text("".join(lines))
    for s in range(n_codex):
        sid = _uuid(rng)
        t = now - timedelta(minutes=rng.randrange(60 * 24 * 60))
        folder = out / "codex" / "sessions" / f"{t:%Y/%m/%d}"
        folder.mkdir(parents=True, exist_ok=True)
        cwd = f"/home/dev/codex-{s % projects:04d}"
        parts = [_CODEX_HEAD.format(ts=_stamp(t), sid=sid, cwd=cwd)]
        ti = tc = to = 0
        for _c in range(rng.randint(1, 4)):
            i, c, o = rng.randrange(1000, 9000), rng.randrange(0, 800), rng.randrange(50, 700)
            ti, tc, to = ti + i, tc + c, to + o
            t += timedelta(seconds=5)
            parts.append(_CODEX_CALL.format(ts=_stamp(t), ti=ti, tc=tc, to=to, tt=ti + to, i=i, c=c, o=o, t=i + o))
        (folder / f"rollout-{t:%Y-%m-%dT%H-%M-%S}-{sid}.jsonl").write_text("".join(parts))
    return n_claude, n_codex


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--sessions", type=int, default=50_000)
    ap.add_argument("--projects", type=int, default=500)
    ap.add_argument("--codex-share", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"{args.out} is not empty")
    t0 = time.perf_counter()
    claude, codex = generate(args.out, args.sessions, args.projects, args.codex_share, args.seed)
    size = sum(f.stat().st_size for f in args.out.rglob("*.jsonl"))
    print(f"{claude} Claude + {codex} Codex sessions, {size / 1e6:.1f} MB, in {time.perf_counter() - t0:.1f} s "
          f"-> {os.fspath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
