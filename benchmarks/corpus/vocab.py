"""The generator's fixed vocabulary and its two formatting helpers.

Model mixes, CLI versions per era, project paths (two of which collide on purpose),
branches, the words and code snippets the text pool is built from, the tool mix of
main and sub-agent conversations, and the helpers every generator uses: ``iso``
(Claude/Codex timestamps, milliseconds, ``Z``) and ``encode_cwd`` (Claude Code's lossy
project-folder name). Changing any value here changes the generated corpus.
"""

from __future__ import annotations

import string
import time

MiB = 1024 * 1024
DAY = 86400.0
B62 = string.digits + string.ascii_letters
B64 = string.ascii_letters + string.digits + "+/"

MAIN_MODELS = (["claude-opus-4-6"] * 75 + ["claude-sonnet-4-5-20250929"] * 20
               + ["claude-haiku-4-5-20251001"] * 5)
SUB_MODELS = (["claude-sonnet-4-5-20250929"] * 45 + ["claude-haiku-4-5-20251001"] * 35
              + ["claude-opus-4-6"] * 20)
OLD_MODELS = ["claude-sonnet-4-20250514"] * 7 + ["claude-opus-4-1-20250805"] * 3
CODEX_MODELS = (["gpt-5.3-codex"] * 60 + ["gpt-5.2-codex"] * 15 + ["gpt-5.2"] * 15
                + ["gpt-5.1-codex-mini"] * 10)
VERSIONS = {
    "2.1": ["2.1.31", "2.1.38", "2.1.39", "2.1.42", "2.1.45"],
    "2.0": ["2.0.55", "2.0.62", "2.0.76"],
    "1.0": ["1.0.98", "1.0.108", "1.0.120"],
}

# (cwd, weight). Two cwds collide on purpose: foo-bar and foo_bar encode to the same
# folder name (the encoding is lossy; the project path must come from `cwd`).
PROJECTS = [
    ("/home/dev/src/tokdash", 14), ("/home/dev/src/api-gateway", 11),
    ("/home/dev/src/web-frontend", 10), ("/home/dev/src/ml-pipeline", 8),
    ("/home/dev/src/infra/terraform", 6), ("/home/dev/src/mobile-app", 5),
    ("/home/dev/src/mobile_app", 3), ("/home/dev/work/billing.service", 5),
    ("/home/dev/Проекты/заметки", 3), ("/home/dev/src/docs site", 3),
    ("/Users/alex/code/ios-client", 4), ("/home/dev/.dotfiles", 2),
    ("/home/dev/src/data-lake", 4), ("/home/dev/src/rust-cli", 5),
    ("/home/dev/src/go-service", 4), ("/home/dev/src/monorepo/packages/ui", 5),
    ("/home/dev/src/monorepo/packages/core", 5), ("/tmp/scratch", 2),
    ("/home/dev/src/legacy-php", 2), ("C:\\Users\\dev\\src\\winapp", 2),
]
BRANCHES = ["main", "main", "main", "", "feat/session-view", "fix/dedup-1234", "develop",
            "spike/faster-parse", "release/0.4"]
CODEX_CWDS = ["/home/dev/src/api-gateway", "/home/dev/src/rust-cli", "/home/dev/src/tokdash",
              "/home/dev/src/go-service", "/home/dev/src/web-frontend", "/home/dev/src/data-lake",
              "/Users/alex/code/ios-client"]

WORDS = (
    "the a to of and in is it for on with as that this be by are from at or an not we "
    "config value result error request response session token cache parse file line read "
    "write update return import def class self data model index path user agent output "
    "input usage total count store query table row column schema field key map list dict "
    "async await yield lambda None True False int str bytes float test assert fixture mock "
    "server client handler router middleware deploy build lint format check release branch"
).split()
CODE_SNIPPETS = [
    "def {w}_{w2}(self, {w3}: int) -> None:", "    return {w}.{w2}({w3})",
    "import {w}", "from {w}.{w2} import {w3}", "class {W}{W2}:", "    {w} = {w2}[{n}]",
    "if {w} is None:", "        raise ValueError(\"{w} {w2}\")", "for {w} in {w2}:",
    "PASSED tests/test_{w}.py::test_{w2}_{w3}", "FAILED tests/test_{w}.py::test_{w2} - AssertionError",
    "  File \"/home/dev/src/{w}/{w2}.py\", line {n}, in {w3}",
    "{{\"{w}\": {n}, \"{w2}\": \"{w3}\"}}", "const {w} = await {w2}.{w3}({n});",
    "fn {w}_{w2}(&self) -> Result<{W}, Error> {{", "SELECT {w}, {w2} FROM {w3} WHERE id = {n};",
    "drwxr-xr-x  {n} dev dev 4096 Feb {n2} 10:{n2} {w}", "-rw-r--r--  1 dev dev {n} Feb {n2} {w}.py",
    "// TODO({w}): {w2} the {w3} before release", "# {W} {w2} {w3} — naïve café 日本語 ✓",
    "{w}: {w2} → {w3} (Ελληνικά, emoji 🚀)", "\x1b[32m✓\x1b[0m {w} {w2} ({n}ms)",
    "[bold]{w}[/bold] {w2} [red]{w3}[/red]", "\t{w}\\{w2}\\{w3}.rs:{n}:{n2}",
]
# Tool mix of a main conversation; sub-agents cannot spawn sub-agents, plan or write.
TOOLS_MAIN = (["Bash"] * 34 + ["Edit"] * 18 + ["Read"] * 18 + ["Grep"] * 6 + ["Write"] * 5
              + ["Glob"] * 3 + ["Task"] * 3 + ["mcp__github__get_issue"] * 2
              + ["mcp__playwright__browser_snapshot"] * 2 + ["WebFetch"] * 1 + ["TodoWrite"] * 3)
TOOLS_SUB = [t for t in TOOLS_MAIN if t not in ("Task", "TodoWrite", "Write")]


def encode_cwd(cwd: str) -> str:
    """Claude Code's project folder name for ``cwd``: every non-ASCII-alphanumeric is ``-``."""
    return "".join(c if (c.isascii() and c.isalnum()) else "-" for c in cwd)


def iso(t: float) -> str:
    """``t`` (epoch seconds) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, the transcripts' timestamp form."""
    s = int(t)
    g = time.gmtime(s)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        g.tm_year, g.tm_mon, g.tm_mday, g.tm_hour, g.tm_min, g.tm_sec, int((t - s) * 1000))
