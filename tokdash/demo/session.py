"""One simulated session: the story every agent's transcript tells alike.

A session is a run of turns. A turn starts with a human prompt and is a run of API calls;
every call but the last asks for one to three tools (so tool uses are never the number of
turns), the last answers in text and ends the turn, and the agent then waits for its human
for a while. The context grows call by call and compacts near the window (a run-away
hovers under it instead); a looping session never ends its first turn and calls the same
tool on the same target again and again. The writer of the session's agent (``writers``)
turns each of these moments into that CLI's real transcript format.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from tokdash.demo.plans import Plan

COMPACT_AT = 0.78
"""Share of the window at which a simulated session compacts (a run-away does not)."""
FOLLOW_UPS = (
    "Looks good. Now add tests for the edge cases.",
    "Run the full test suite and fix what fails.",
    "Can you also update the docs?",
    "That broke the build, please check the CI log.",
    "Keep going.",
    "Simplify this before we merge.",
)
FILES = ("src/main.py", "src/routes.py", "tests/test_api.py", "README.md", "src/config.py",
         "src/limits.py", "Makefile", "src/db/models.py", "docs/guide.md", "package.json")
KINDS = ("read", "read", "edit", "shell", "search", "read", "edit", "glob", "shell", "write")
"""What a tool call does, by weight; each writer names it as its CLI's tool."""
COMMANDS = ("make test", "npm run lint", "git diff --stat", "pytest -x -q", "cargo check")
PATTERNS = ("rate_limit", "TODO", "def handle", "session_id", "retry")
LOOP_TOOLS = (("shell", "npm test -- payments"), ("read", "src/payments/retry.ts"))
"""The looping session's every call: the same test run, then the same file read again."""
TOOL_COUNTS = (1, 1, 1, 2, 2, 3)


def iso(ts: float) -> str:
    """Epoch seconds as the ISO-8601 UTC form the CLIs write (milliseconds, ``Z``)."""
    d = datetime.fromtimestamp(ts, UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class Spec:
    """One API call to write: when, what it read and wrote, which tools it asks for."""

    ts: float
    context: int
    """Tokens already in the context (the cacheable prefix)."""
    new: int
    """Tokens new to this request (the last tool results, the prompt)."""
    output: int
    tools: list[tuple[str, str]]
    """(kind, target) of every tool call: ``read``, ``edit``, ``write``, ``shell``, ``search``, ``glob``."""
    final: bool
    """The turn's last call: text only, and the turn ends after it."""

    @property
    def reasoning(self) -> int:
        """Thinking tokens, for the agents whose usage tells them apart (a share of the output)."""
        return self.output // 3


@dataclass(slots=True)
class Out:
    """What one moment writes: lines appended to files, whole small files, database rows."""

    lines: dict[Path, list[bytes]] = field(default_factory=dict)
    files: dict[Path, bytes] = field(default_factory=dict)
    """Files written once, whole, if absent (a CLI's project registry, a marker)."""
    sql: dict[Path, list[tuple[str, tuple]]] = field(default_factory=dict)

    def emit(self, path: Path, obj: dict) -> None:
        """Append one JSON line, compact as the CLIs write it."""
        self.lines.setdefault(path, []).append(orjson.dumps(obj) + b"\n")

    def execute(self, db: Path, statement: str, params: tuple = ()) -> None:
        """Run one statement on a database (in one transaction with the moment's others)."""
        self.sql.setdefault(db, []).append((statement, params))

    def merge(self, other: Out) -> None:
        """Add another moment's writes after this one's."""
        for path, chunk in other.lines.items():
            self.lines.setdefault(path, []).extend(chunk)
        for path, data in other.files.items():
            self.files.setdefault(path, data)
        for db, statements in other.sql.items():
            self.sql.setdefault(db, []).extend(statements)


class DemoSession:
    """One simulated session: its state, and the moments its writer turns into transcripts."""

    def __init__(self, plan: Plan, root: Path, rng: random.Random, start: float, writer_cls) -> None:
        self.plan = plan
        self.rng = rng
        self.context = plan.context0
        self.calls = 0
        """Main-chain API calls written (sub-agents' not included)."""
        self.turn_left = 0
        self.turn_start = start
        self.next_at = start
        self.writer = writer_cls(self, root, start)
        self.window: int = self.writer.window
        self.sid: str = self.writer.session_id
        self.path: Path = self.writer.path
        """The main transcript (for OpenCode, the database)."""
        self.sub_path: Path | None = self.writer.sub_path

    # --- ids ----------------------------------------------------------------------------

    def uuid(self) -> str:
        """A uuid4 from the session's generator (deterministic for a seed)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def b62(self, n: int) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    # --- moments ------------------------------------------------------------------------

    def step(self, ts: float) -> Out:
        """What happens at ``ts``: maybe a new prompt, then one API call (and the turn's end
        after its last call)."""
        out = Out()
        first = self.calls == 0
        if self.turn_left <= 0:
            self.writer.prompt(ts, self.plan.prompt if first else self.rng.choice(FOLLOW_UPS), first, out)
            # A looping agent never gets to the end of its first turn.
            self.turn_left = 10**9 if self.plan.loop else self.rng.randint(6, 18)
            self.turn_start = ts
        final = self.turn_left == 1
        spec = self._call(ts + 0.9, final, out)
        gap = self.rng.uniform(*self.plan.interval)
        if final:
            self.writer.turn_end(spec.ts + 1.5, out)
            gap += self.rng.uniform(15, 60)  # the human reads, thinks, types the next prompt
        self.next_at = ts + gap
        return out

    def finish(self, ts: float) -> Out:
        """End the turn in progress at ``ts`` (a session whose plan ends with its turn done)."""
        out = Out()
        if self.turn_left > 0 and self.calls:
            self.turn_left = 1
            spec = self._call(ts, True, out)
            self.writer.turn_end(spec.ts + 1.5, out)
        return out

    def _call(self, ts: float, final: bool, out: Out) -> Spec:
        plan = self.plan
        new = self.rng.randint(*plan.growth)
        output = self.rng.randint(*plan.output)
        if plan.context_cap and self.context + new > plan.context_cap * self.window:
            new = self.rng.randint(0, 600)  # a run-away hovers near the window instead of compacting
        spec = Spec(ts, self.context, new, output, [] if final else self._tools(), final)
        self.writer.call(spec, out)
        self.calls += 1
        self.turn_left -= 1
        self.context += new + output
        if plan.context_cap:
            self.context = min(self.context, int(plan.context_cap * self.window) - self.rng.randint(0, 4000))
        if self.sub_path is not None and plan.subagent_every and self.calls % plan.subagent_every == 3:
            self.writer.subagent(ts + 0.5, out)
        if not plan.context_cap and self.context > COMPACT_AT * self.window:
            pre = self.context
            self.context = plan.context0 + self.rng.randint(4000, 12000)
            self.writer.compaction(ts + 1.2, pre, out)
        return spec

    def _tools(self) -> list[tuple[str, str]]:
        if self.plan.loop:
            return list(LOOP_TOOLS)
        tools = []
        for _ in range(self.rng.choice(TOOL_COUNTS)):
            kind = self.rng.choice(KINDS)
            if kind == "shell":
                target = self.rng.choice(COMMANDS)
            elif kind == "search":
                target = self.rng.choice(PATTERNS)
            elif kind == "glob":
                target = "**/*.py"
            else:
                target = self.rng.choice(FILES)
            tools.append((kind, target))
        return tools
