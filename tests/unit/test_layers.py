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
