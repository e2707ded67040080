"""Layering: the core (model, sources, ingest, report) never imports Textual."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORE = ("tokdash.model", "tokdash.sources", "tokdash.ingest")


def test_import_linter_contracts_are_kept():
    """The contracts in pyproject.toml: forbidden textual in the core, and the layer order."""
    exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed (pip install -e '.[test]')")
        exe = Path(found)
    proc = subprocess.run([str(exe), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
    assert "The core never imports Textual KEPT" in proc.stdout


_PROBE = r"""
import importlib, pkgutil, sys
import tokdash
names = ["tokdash.report"]
for pkg in {core!r}:
    mod = importlib.import_module(pkg)
    names.append(pkg)
    names += [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".")]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m == "textual" or m.startswith(("textual.", "tokdash.ui")))
print(len(names), bad)
sys.exit(1 if bad else 0)
"""


def test_importing_every_core_module_loads_no_textual():
    """Every module of the core, including ones added later, imported in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(core=CORE)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = int(proc.stdout.split()[0])
    assert count >= 12  # model.*, sources.*, ingest.* and report: the walk really found them


def test_a_report_run_loads_no_textual(tmp_path):
    """``tokdash report sessions`` is a script's tool: it must not pay for importing the UI."""
    code = (
        "import sys\n"
        "from tokdash import cli\n"
        f"status = cli.main(['report', 'sessions', '--json', '--claude-dir', {str(tmp_path / 'c')!r},"
        f" '--codex-dir', {str(tmp_path / 'x')!r}])\n"
        "assert status == 0, status\n"
        "bad = [m for m in sys.modules if m == 'textual' or m.startswith('textual.')]\n"
        "sys.stderr.write(repr(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- the shape of the code: no import circle, agents named only in sources/ -------------------

PACKAGE = REPO / "tokdash"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every tokdash module ``name`` imports: at module level, in functions, under TYPE_CHECKING."""
    import ast

    def resolve(target: str) -> str | None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        return target or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                stem = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(stem + ([base] if base else []))
            # ``from pkg import sub`` imports the submodule ``pkg.sub``; ``from pkg import name``
            # imports ``pkg`` itself (importing any submodule runs its package's __init__ first,
            # which Python does not count as a circle, and neither does this test).
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for t in targets:
            hit = resolve(t)
            if hit and hit != name:
                found.add(hit)
    return found


def test_no_import_circle_anywhere():
    """Tarjan's strongly connected components over every import in tokdash/: none has two members."""
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert len(graph) > 50 and sum(map(len, graph.values())) > 200  # the walk really found the code
    assert circles == []


def test_no_module_outside_sources_names_an_agent():
    """Adding an agent is a module in sources/ and a registry entry: nothing else may name one.

    The demo (it writes each agent's transcripts) and pricing's provider rules (a model id
    like ``claude-opus-4-6`` names a vendor, not the CLI) are the two exceptions."""
    import ast

    from tokdash.sources import SOURCES

    agents = set(SOURCES)
    allowed = ("tokdash/sources/", "tokdash/demo", "tokdash/model/pricing.py")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(allowed):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in agents:
                offenders.append(f"{rel}:{node.lineno} {node.value!r}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tokdash.sources"):
                named = {a.name for a in node.names} | {(node.module or "").rpartition(".")[2]}
                if named & agents:
                    offenders.append(f"{rel}:{node.lineno} imports an agent module")
    assert offenders == []
