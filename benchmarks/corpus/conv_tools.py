"""Tool calls of a Claude conversation: inputs, result sizes, and result lines.

``ConvTools`` (a mixin of ``Conv``) makes a ``tool_use`` block's input per tool, draws
how big its result is (a few 20-200 KB and ~600 KB lines included), and writes the
``tool_result`` line with its ``toolUseResult`` copy and the Pre/PostToolUse hook and
``bash_progress`` lines around it. A ``Task`` result comes from ``run_subagent``
(``conv_agents.py``).
"""

from __future__ import annotations

from .vocab import WORDS, iso


class ConvTools:
    """Mixin for ``Conv``: tool inputs and results (uses ``Conv``'s state and line builders)."""

    def tool_input(self, name: str) -> dict:
        g = self.g
        rng = g.rng
        fp = "%s/src/%s/%s.py" % (self.s.cwd, rng.choice(WORDS), rng.choice(WORDS))
        if name == "Bash":
            return {"command": g.text(rng.randint(10, 200)).replace("\n", " && "),
                    "description": g.prose(10, 60)}
        if name == "Read":
            return {"file_path": fp} if rng.random() < 0.7 else {"file_path": fp, "offset": rng.randint(1, 900),
                                                                   "limit": 200}
        if name == "Edit":
            return {"replace_all": False, "file_path": fp, "old_string": g.text(rng.randint(20, 1500)),
                    "new_string": g.text(rng.randint(20, 2500))}
        if name == "Write":
            return {"file_path": fp, "content": g.text(rng.randint(300, 12_000))}
        if name == "Grep":
            return {"pattern": rng.choice(WORDS) + ".*" + rng.choice(WORDS), "path": self.s.cwd,
                    "output_mode": rng.choice(["content", "files_with_matches"]), "-n": True}
        if name == "Glob":
            return {"pattern": "**/*.%s" % rng.choice(["py", "ts", "rs", "md"])}
        if name == "Task":
            return {"description": g.prose(10, 50), "prompt": g.prose(200, 2500),
                    "subagent_type": rng.choice(["general-purpose", "Explore", "code-reviewer", "Plan"])}
        if name == "WebFetch":
            return {"url": "https://docs.example.com/%s/%s" % (rng.choice(WORDS), rng.choice(WORDS)),
                    "prompt": g.prose(30, 200)}
        if name == "TodoWrite":
            return {"todos": [{"content": g.prose(10, 80), "status": rng.choice(["pending", "in_progress",
                                                                                "completed"]),
                               "activeForm": g.prose(10, 60)} for _ in range(rng.randint(1, 8))]}
        if name.startswith("mcp__github"):
            return {"owner": "dev", "repo": rng.choice(WORDS), "issue_number": rng.randint(1, 5000)}
        return {"element": rng.choice(WORDS)}

    def result_size(self, name: str) -> int:
        rng = self.g.rng
        r = rng.random()
        if r < 0.0008:
            return rng.randint(300_000, 350_000)  # line ~600-700 KB (content + toolUseResult copy)
        if r < 0.045 and name in ("Read", "Bash", "Grep", "WebFetch", "mcp__playwright__browser_snapshot"):
            return int(self.g.lognorm(30_000, 0.6, 10_000, 100_000))  # line 20-200 KB
        base = {"Read": 3500, "Bash": 900, "Grep": 1200, "WebFetch": 3000,
                "mcp__playwright__browser_snapshot": 6000, "mcp__github__get_issue": 2500}.get(name, 300)
        return int(self.g.lognorm(base, 1.0, 20, 30_000))

    def tool_result(self, b: dict):
        g, s = self.g, self.s
        rng = g.rng
        name = b["name"]
        tid = b["id"]
        assistant_uuid = self.parent
        if s.era == "2.1" and rng.random() < 0.6:
            self.progress({"type": "hook_progress", "hookEvent": "PreToolUse", "hookName": "PreToolUse:" + name,
                           "command": "${CLAUDE_PLUGIN_ROOT}/hooks/pre-tool.sh"}, tid, tid)
        is_error = rng.random() < 0.04
        tur = None
        if name == "Task" and not is_error:
            content, tur = self.run_subagent(b)
        else:
            size = self.result_size(name)
            body = g.text(size)
            if name == "Bash":
                # streaming output as bash_progress lines
                if s.era == "2.1":
                    for i in range(rng.randint(0, 4) if size > 200 else 0):
                        self.tick(0.5, 3)
                        part = body[: min(len(body), rng.randint(100, 4000))]
                        self.progress({"type": "bash_progress", "output": part, "fullOutput": part,
                                       "elapsedTimeSeconds": i + 1, "totalLines": part.count("\n") + 1,
                                       "timeoutMs": 120000}, "bash-progress-%d" % i, tid)
                content = body
                tur = {"stdout": body, "stderr": "", "interrupted": False, "isImage": False,
                       "noOutputExpected": False}
            elif name == "Read":
                content = body
                tur = {"type": "text", "file": {"filePath": b["input"]["file_path"], "content": body,
                                                "numLines": body.count("\n") + 1, "startLine": 1,
                                                "totalLines": body.count("\n") + 1}}
            elif name == "Edit":
                content = ("The file %s has been updated. Here's the result of running `cat -n` on a "
                           "snippet of the edited file:\n" % b["input"]["file_path"]) + g.text(min(size, 1500))
                tur = {"filePath": b["input"]["file_path"], "oldString": b["input"]["old_string"],
                       "newString": b["input"]["new_string"],
                       "originalFile": (g.text(int(g.lognorm(8000, 1.0, 200, 120_000)))
                                        if rng.random() < 0.5 else None),
                       "structuredPatch": [{"oldStart": 10, "oldLines": 3, "newStart": 10, "newLines": 4,
                                            "lines": g.text(400).split("\n")}],
                       "userModified": False, "replaceAll": False}
            elif name == "Write":
                content = "File created successfully at: " + b["input"]["file_path"]
                tur = {"type": "create", "filePath": b["input"]["file_path"], "content": b["input"]["content"],
                       "structuredPatch": [], "originalFile": None}
            elif name == "Grep":
                content = body
                tur = {"mode": b["input"]["output_mode"], "numFiles": rng.randint(1, 40), "filenames": [],
                       "content": body, "numLines": body.count("\n") + 1}
            elif name.startswith("mcp__"):
                content = [{"type": "text", "text": body}]
                tur = [{"type": "text", "text": body}]
            else:
                content = body
                tur = {"bytes": size, "code": 200, "codeText": "OK", "result": body,
                       "durationMs": rng.randint(100, 9000), "url": b["input"].get("url", "")}
            if is_error:
                content = "<tool_use_error>Error: %s</tool_use_error>" % g.prose(20, 200)
                tur = "Error: " + content
            self.tick(0.1, 8 if name == "Bash" else 1)
        d = self.head()
        d["type"] = "user"
        d["message"] = {"role": "user", "content": [{"tool_use_id": tid, "type": "tool_result",
                                                     "content": content, "is_error": is_error}]}
        d["uuid"] = g.uuid4()
        d["timestamp"] = iso(s.t)
        if s.era != "1.0":
            d["toolUseResult"] = tur
        if s.era == "2.1":
            d["sourceToolAssistantUUID"] = assistant_uuid
        clen = len(content) if isinstance(content, str) else sum(len(c.get("text", "")) for c in content)
        if clen > 20_000:
            g.stats["claude_tool_results_over_20k"] += 1
        if clen > 300_000:
            g.stats["claude_tool_results_over_300k"] += 1
        self.put(d)
        self.pending += clen // 4 + 15
        if s.era == "2.1":
            for _ in range(1 if rng.random() < 0.5 else 2):
                self.progress({"type": "hook_progress", "hookEvent": "PostToolUse",
                               "hookName": "PostToolUse:" + name,
                               "command": "${CLAUDE_PLUGIN_ROOT}/scripts/tool-call-capture.sh"}, tid, tid)
        elif s.era == "2.0" and rng.random() < 0.5:
            self.progress({"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": "PostToolUse:" + name,
                           "command": "/home/dev/.claude/hooks/post.sh"}, tid, tid)
