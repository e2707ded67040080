"""What each simulated session is: who, where, what, how it spends, and how it ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plan:
    """One simulated session: who, where, what, and how it spends."""

    agent: str
    """The agent CLI whose transcript it writes (a name of the source registry)."""
    cwd: str
    prompt: str
    """The first human prompt (the session's title)."""
    model: str
    start_ago: float
    """Seconds before ``now`` the session started."""
    end_ago: float | None
    """Seconds before ``now`` it stopped; None: still working (live)."""
    interval: tuple[float, float]
    """Seconds between API calls while working."""
    growth: tuple[int, int]
    """New context tokens per call (tool results, edits...)."""
    output: tuple[int, int]
    """Output tokens per call."""
    context0: int = 14_000
    """Context at the first call (system prompt, tools, CLAUDE.md)."""
    cache: str = "good"
    """``good``: the prefix is re-read from cache; ``poor``: most of it is re-written each call."""
    subagent_every: int = 0
    """Every this many calls, a sub-agent makes a call (Claude: Haiku in ``subagents/``;
    OpenCode: a child session); 0: never."""
    context_cap: float = 0.0
    """Share of the window the context hovers at instead of compacting (a run-away); 0: compact."""
    branch: str = "main"
    loop: bool = False
    """Stuck: one prompt, a very long turn, the same tool on the same target again and again."""
    ends: str = "turn"
    """How a session that stopped stopped: ``turn`` (its last turn ended: the agent waits for
    its human) or ``cut`` (in the middle of a turn: interrupted, or a tool still running)."""


PLANS: tuple[Plan, ...] = (
    Plan("claude", "/home/dev/src/api-gateway", "Add per-tenant rate limiting to the /v2 endpoints",
         "claude-sonnet-4-6", 30 * 60, None, (4, 11), (300, 2500), (30, 350), branch="rate-limits"),
    Plan("claude", "/home/dev/src/web-dashboard", "Fix the flaky checkout e2e test",
         "claude-sonnet-4-5-20250929", 25 * 60, None, (5, 14), (200, 1800), (30, 300), branch="fix-e2e"),
    Plan("codex", "/home/dev/src/infra", "Migrate the CI runners to arm64",
         "gpt-5.3-codex", 15 * 60, None, (8, 20), (300, 1500), (80, 600), context0=12_000),
    Plan("claude", "/home/dev/src/api-gateway-wt2", "Write the migration for user_settings",
         "claude-opus-4-6", 12 * 60, None, (5, 12), (300, 2200), (30, 400), subagent_every=6,
         branch="user-settings"),
    Plan("claude", "/home/dev/src/monorepo", "Refactor the whole build graph to Bazel",
         "claude-opus-4-6", 40 * 60, None, (2.5, 5), (1500, 5000), (300, 1500), context0=120_000,
         context_cap=0.9),
    Plan("codex", "/home/dev/src/ml-pipeline", "Speed up feature extraction",
         "gpt-5-codex", 12 * 60, None, (8, 20), (300, 1500), (80, 600)),
    Plan("gemini", "/home/dev/src/billing", "Add OpenAPI docs for the billing service",
         "gemini-2.5-pro", 18 * 60, None, (6, 15), (400, 2500), (60, 500), context0=16_000),
    Plan("claude", "/home/dev/src/payments", "Make the payments integration tests pass",
         "claude-sonnet-4-5-20250929", 35 * 60, None, (3, 7), (150, 600), (40, 220), loop=True,
         branch="fix-retries"),
    Plan("opencode", "/home/dev/src/auth-service", "Review the session middleware for token leaks",
         "claude-sonnet-4-5", 22 * 60, 4 * 60, (5, 12), (300, 2000), (40, 400), subagent_every=5),
    Plan("claude", "/home/dev/src/docs-site", "Rewrite the getting started guide",
         "claude-sonnet-4-5-20250929", 62 * 60, 12 * 60, (6, 16), (200, 1500), (30, 300), ends="cut"),
    Plan("claude", "/home/dev/src/web-dashboard", "Upgrade React Router to v7",
         "claude-sonnet-4-5-20250929", 4 * 3600, 3 * 3600, (8, 20), (200, 1200), (30, 400), context0=12_000,
         cache="poor", branch="router-v7"),
    Plan("codex", "/home/dev/src/api-gateway", "Investigate the p99 latency regression",
         "gpt-5.3-codex", 7 * 3600, 6.3 * 3600, (10, 25), (300, 1500), (80, 500)),
    Plan("qwen", "/home/dev/src/cli-tools", "Port the argument parser to clap 4",
         "qwen3-coder-plus", 5 * 3600, 4.4 * 3600, (6, 16), (300, 1800), (50, 450)),
    Plan("claude", "/home/dev/src/ml-pipeline", "Add an evaluation notebook for the ranker",
         "claude-sonnet-4-5-20250929", 3 * 3600, 2.2 * 3600, (6, 18), (200, 1800), (30, 350)),
    Plan("claude", "/home/dev/src/infra", "Terraform: split the prod state file",
         "claude-haiku-4-5-20251001", 26 * 3600, 25.2 * 3600, (6, 14), (200, 1500), (30, 300)),
)
"""The default fleet: eight agents working (one of them looping on the same test), one
waiting for its human, one idle mid-turn, five done (today and yesterday); every agent CLI
tokdash reads is in it."""
