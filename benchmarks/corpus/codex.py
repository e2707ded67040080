"""The Codex CLI side of the generator: rollout files under ``codex/sessions/Y/M/D/``.

``CodexGen.gen_codex`` draws rollouts until the Codex byte budget is spent;
``codex_session`` writes one: ``session_meta``, turns of ``turn_context`` /
``response_item`` (reasoning, messages, ``exec_command`` and ``apply_patch`` calls with
their output) and cumulative ``token_count`` events, most of them emitted twice with the
same total (the duplicate a parser must not count), plus compactions.
"""

from __future__ import annotations

import os
import time

from .output import Writer, dumps
from .vocab import BRANCHES, CODEX_CWDS, CODEX_MODELS, iso


class CodexGen:
    """Mixin for ``Gen``: the Codex CLI rollouts (needs ``GenCore``'s state and helpers)."""

    def gen_codex(self, budget: int):
        while self.bytes_codex < budget:
            remaining = budget - self.bytes_codex
            n = int(self.lognorm(45, 0.9, 4, 900))
            n = max(3, min(n, remaining // 6_000 + 3))
            self.codex_session(n)

    def codex_session(self, n_calls: int):
        rng = self.rng
        t = rng.uniform(self.start, self.end - n_calls * 20 - 3600)
        ms = int(t * 1000)
        h = "%020x" % rng.getrandbits(80)
        sid = "%08x-%04x-7%s-%s%s-%s" % (ms >> 16, ms & 0xFFFF, h[:3], "89ab"[int(h[3], 16) & 3],
                                         h[4:7], h[7:19])
        g = time.gmtime(int(t))
        path = os.path.join(self.out, "codex", "sessions", "%04d" % g.tm_year, "%02d" % g.tm_mon,
                            "%02d" % g.tm_mday,
                            "rollout-%04d-%02d-%02dT%02d-%02d-%02d-%s.jsonl" % (
                                g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, sid))
        cwd = rng.choice(CODEX_CWDS)
        model = rng.choice(CODEX_MODELS)
        switch_at = rng.randint(1, n_calls) if rng.random() < 0.12 else -1
        self.truth.session(sid, "codex", cwd=cwd, path=os.path.relpath(path, self.out))
        w = Writer(path)
        desktop = rng.random() < 0.4

        def ev(typ, payload):
            w.emit({"timestamp": iso(t), "type": typ, "payload": payload}, t)

        ev("session_meta", {
            "id": sid, "timestamp": iso(t - 6), "cwd": cwd,
            "originator": "Codex Desktop" if desktop else "codex_cli_rs",
            "cli_version": rng.choice(["0.104.0", "0.104.0-alpha.1", "0.101.0"]),
            "source": "vscode" if desktop else "cli", "model_provider": "openai",
            "base_instructions": {"text": self.text(rng.randint(9_000, 14_000))},
            "git": {"commit_hash": self.hexs(40), "branch": rng.choice(BRANCHES) or "main",
                    "repository_url": "git@github.com:dev/%s.git" % os.path.basename(cwd)}})
        ev("response_item", {"type": "message", "role": "developer",
                             "content": [{"type": "input_text", "text": self.text(rng.randint(2500, 4000))}]})
        ev("response_item", {"type": "message", "role": "user",
                             "content": [{"type": "input_text", "text": self.text(rng.randint(1500, 3500))}]})
        tot = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0,
               "reasoning_output_tokens": 0, "total_tokens": 0}
        prim = rng.uniform(0, 30)
        sec = rng.uniform(0, 60)
        resets1 = int(t) + rng.randint(3600, 18000)
        resets2 = int(t) + rng.randint(86400, 7 * 86400)

        def rate_limits():
            return {"limit_id": "codex", "limit_name": None,
                    "primary": {"used_percent": round(prim, 1), "window_minutes": 300, "resets_at": resets1},
                    "secondary": {"used_percent": round(sec, 1), "window_minutes": 10080, "resets_at": resets2},
                    "credits": {"has_credits": False, "unlimited": False, "balance": None},
                    "plan_type": None}

        ctx = rng.randint(9_000, 16_000)
        new = 0
        done = 0
        first = True
        while done < n_calls:
            k = min(n_calls - done, max(1, int(self.lognorm(8, 0.8, 1, 50))))
            turn_id = self.uuid4()
            t += rng.uniform(5, 600)

            def turn_context():
                ev("turn_context", {
                    "turn_id": turn_id, "cwd": cwd, "approval_policy": "on-request",
                    "sandbox_policy": {"type": "workspace-write", "writable_roots": [cwd],
                                       "network_access": False, "exclude_tmpdir_env_var": False,
                                       "exclude_slash_tmp": False},
                    "model": model, "personality": "pragmatic",
                    "collaboration_mode": {"mode": "default", "settings": {
                        "model": model, "reasoning_effort": "high",
                        "developer_instructions": self.prose(300, 800)}},
                    "effort": "high", "summary": "auto",
                    "user_instructions": self.prose(500, 1500),
                    "truncation_policy": {"mode": "tokens", "limit": 10000}})

            ev("event_msg", {"type": "task_started", "turn_id": turn_id, "model_context_window": 258400,
                             "collaboration_mode_kind": "default"})
            turn_context()
            prompt = self.prose(20, 1500)
            ev("response_item", {"type": "message", "role": "user",
                                 "content": [{"type": "input_text", "text": prompt}]})
            ev("event_msg", {"type": "user_message", "message": prompt, "images": [],
                             "local_images": [], "text_elements": []})
            new += len(prompt) // 4 + 20
            if first:
                first = False
                ev("event_msg", {"type": "token_count", "info": None, "rate_limits": rate_limits()})
            for j in range(k):
                if done == switch_at:
                    model = rng.choice(CODEX_MODELS)
                if rng.random() < 0.5:
                    turn_context()
                last = j == k - 1
                t += self.lognorm(6, 0.8, 0.5, 120)
                if rng.random() < 0.85:
                    summ = self.prose(20, 200)
                    ev("response_item", {"type": "reasoning", "summary": [{"type": "summary_text", "text": summ}],
                                         "content": None,
                                         "encrypted_content": "gAAAAAB" + self.sig(rng.randint(800, 6000))})
                    if rng.random() < 0.9:
                        ev("event_msg", {"type": "agent_reasoning", "text": summ})
                out = int(self.lognorm(250, 1.0, 8, 12_000))
                reasoning = int(out * rng.uniform(0.1, 0.8))
                if last or rng.random() < 0.15:
                    msg = self.prose(40, 2500)
                    phase = "final_answer" if last else "commentary"
                    ev("event_msg", {"type": "agent_message", "message": msg})
                    ev("response_item", {"type": "message", "role": "assistant",
                                         "content": [{"type": "output_text", "text": msg}], "phase": phase})
                    tool_out = ""
                else:
                    call_id = "call_" + self.b62(24)
                    if rng.random() < 0.8:
                        args = dumps({"cmd": self.text(rng.randint(10, 160)).replace("\n", " "),
                                      "workdir": cwd, "yield_time_ms": 10000,
                                      "max_output_tokens": 10000}).decode()
                        ev("response_item", {"type": "function_call", "name": "exec_command",
                                             "arguments": args, "call_id": call_id})
                        r = rng.random()
                        size = (rng.randint(20_000, 120_000) if r < 0.03 else
                                int(self.lognorm(1500, 1.1, 30, 20_000)))
                        tool_out = ("Chunk ID: %s\nWall time: %.4f seconds\nProcess exited with code %d\n"
                                    "Original token count: %d\nOutput:\n%s" % (
                                        self.hexs(6), rng.uniform(0.01, 30), rng.choice([0, 0, 0, 1]),
                                        size // 4, self.text(size)))
                        t += self.lognorm(2, 1.0, 0.05, 120)
                        ev("response_item", {"type": "function_call_output", "call_id": call_id,
                                             "output": tool_out})
                    else:
                        patch = self.text(rng.randint(300, 8000))
                        ev("response_item", {"type": "custom_tool_call", "status": "completed",
                                             "call_id": call_id, "name": "apply_patch",
                                             "input": "*** Begin Patch\n" + patch + "\n*** End Patch"})
                        tool_out = dumps({"output": "Success. Updated the following files:\nM " + cwd + "/x.py\n",
                                          "metadata": {"exit_code": 0, "duration_seconds": 0.0}}).decode()
                        ev("response_item", {"type": "custom_tool_call_output", "call_id": call_id,
                                             "output": tool_out})
                # usage of this request
                if rng.random() < 0.08:
                    cached = 0  # cache miss
                else:
                    cached = (ctx // 128) * 128
                inp = ctx + new
                last_u = {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out,
                          "reasoning_output_tokens": reasoning, "total_tokens": inp + out}
                for key in tot:
                    tot[key] += last_u[key]
                ctx = inp + out
                new = len(tool_out) // 4 + 10
                prim = min(100.0, prim + rng.uniform(0, 0.4))
                sec = min(100.0, sec + rng.uniform(0, 0.08))
                info = {"total_token_usage": dict(tot), "last_token_usage": last_u,
                        "model_context_window": 258400}
                ev("event_msg", {"type": "token_count", "info": info, "rate_limits": rate_limits()})
                self.stats["codex_token_count_events"] += 1
                self.truth.add(sid, "codex", model, inp - cached, out, 0, 0, cached)
                if rng.random() < 0.95:  # the duplicate emit (~half of all events repeat a total)
                    t += rng.uniform(0.05, 2)
                    ev("event_msg", {"type": "token_count", "info": info, "rate_limits": rate_limits()})
                    self.stats["codex_token_count_events"] += 1
                    self.stats["codex_repeated_token_count_events"] += 1
                done += 1
                if ctx > 200_000 and rng.random() < 0.7:
                    ev("compacted", {"message": "", "replacement_history": [
                        {"type": "message", "role": "user",
                         "content": [{"type": "input_text", "text": self.prose(20, 300)}]},
                        {"type": "message", "role": "assistant",
                         "content": [{"type": "output_text", "text": self.text(rng.randint(2000, 8000))}],
                         "phase": "final_answer"}]})
                    ev("event_msg", {"type": "context_compacted"})
                    ctx = rng.randint(12_000, 25_000)
            ev("event_msg", {"type": "task_complete", "turn_id": turn_id,
                             "last_agent_message": self.prose(40, 800)})
        self.write_file(w, "codex")
        self.stats["codex_files"] += 1
