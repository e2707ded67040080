"""The benchmark corpus generator, split along its seams (``gen_corpus.py`` runs it).

    vocab.py        fixed vocabulary: models, versions, projects, words, tools; iso, encode_cwd
    output.py       dumps/loads, Writer/NullWriter (one file's lines), Truth, COUNTING_RULES
    core.py         GenCore: seeded state, random text/id helpers, write_file, defects
    gen.py          Gen = GenCore + ClaudeGen + CodexGen; run, write_expected
    claude.py       ClaudeGen: Claude Code sessions (eras, resume, titles, defect schedule)
    conv.py         Sess (per-session state), Conv (one thread: prompts, API calls, turn ends)
    conv_tools.py   ConvTools: tool inputs and results
    conv_agents.py  ConvAgents: sub-agents in all three layouts, auto-compaction
    codex.py        CodexGen: Codex CLI rollouts

Every random draw comes from one seeded ``random.Random`` in a fixed order, so the same
arguments give byte-identical output: moving code between these files is safe, changing
the order of draws is not.
"""

from .conv import Conv, Sess
from .gen import Gen
from .output import COUNTING_RULES, NullWriter, Truth, Writer, dumps, loads
from .vocab import (
    B62,
    B64,
    BRANCHES,
    CODE_SNIPPETS,
    CODEX_CWDS,
    CODEX_MODELS,
    DAY,
    MAIN_MODELS,
    OLD_MODELS,
    PROJECTS,
    SUB_MODELS,
    TOOLS_MAIN,
    TOOLS_SUB,
    VERSIONS,
    WORDS,
    MiB,
    encode_cwd,
    iso,
)

__all__ = [
    "B62", "B64", "BRANCHES", "CODE_SNIPPETS", "CODEX_CWDS", "CODEX_MODELS", "COUNTING_RULES",
    "Conv", "DAY", "Gen", "MAIN_MODELS", "MiB", "NullWriter", "OLD_MODELS", "PROJECTS",
    "SUB_MODELS", "Sess", "TOOLS_MAIN", "TOOLS_SUB", "Truth", "VERSIONS", "WORDS", "Writer",
    "dumps", "encode_cwd", "iso", "loads",
]
