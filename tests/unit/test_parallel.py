"""The forked parallel load gives exactly what the serial load gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokdash.ingest import parallel
from tokdash.ingest.discovery import resolve_roots
from tokdash.ingest.loader import Loader
from tokdash.model.pricing import PriceBook
from tokdash.model.session import summarize

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="parallel load needs os.fork")


def _summaries(loader: Loader) -> dict:
    prices = PriceBook()
    return {k: summarize(s, prices).to_json() for k, s in loader.store.sessions.items()}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus absent")
@pytest.mark.parametrize("workers", [2, 3, 5])
def test_parallel_equals_serial_on_corpus(monkeypatch, workers):
    roots = resolve_roots(["claude", "codex"], {"claude": [str(CORPUS / "claude")], "codex": [str(CORPUS / "codex")]})
    serial = Loader(roots)
    serial.load_all(jobs=1)
    # Force a fork even for this small corpus, and more workers than cores.
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_WORKER", 1)
    monkeypatch.setattr(parallel, "worker_count", lambda total, jobs=None: workers)
    par = Loader(roots)
    result = par.load_all(jobs=None, warm=lambda: None)
    assert result.files_read > 0
    assert _summaries(par) == _summaries(serial)


def test_parallel_equals_serial_with_cross_file_duplicates(tmp_path, monkeypatch):
    """A call copied into a resumed session's file, the two files read by different workers."""
    from tests.unit.builders import ClaudeSession, claude_main_path  # noqa: PLC0415

    projects = tmp_path / "projects"
    old = ClaudeSession("s-old")
    first = old.response(blocks=[("thinking", "hmm"), ("tool_use", "Read", {"file_path": "/a.py"})], output=50)
    old.lines += first.lines
    new = ClaudeSession("s-new", clock=100.0)
    new.copy_lines(first.lines)  # keeps the original sessionId, as Claude Code does
    second = new.response(output=7)
    new.lines += second.lines
    old.write(claude_main_path(projects, old.cwd, "s-old"))
    new.write(claude_main_path(projects, new.cwd, "s-new"))
    roots = resolve_roots(["claude"], {"claude": [str(tmp_path)]})
    serial = Loader(roots)
    serial.load_all(jobs=1)
    monkeypatch.setattr(parallel, "MIN_BYTES_PER_WORKER", 1)
    monkeypatch.setattr(parallel, "worker_count", lambda total, jobs=None: 2)
    par = Loader(roots)
    par.load_all(jobs=None)
    got, want = _summaries(par), _summaries(serial)
    assert got == want
    assert want[("claude", "s-old")]["output_tokens"] == 50
    assert want[("claude", "s-old")]["api_calls"] == 1
    assert want[("claude", "s-old")]["tool_uses"] == {"Read": 1}
    assert want[("claude", "s-new")]["api_calls"] == 1


def test_partition_balances_by_size():
    files = [("claude", Path(f"/f{i}"), size) for i, size in enumerate([100, 90, 50, 40, 30, 20, 10])]
    shares = parallel.partition(files, 2)
    sizes = [sum(dict((str(p), s) for _a, p, s in files)[str(p)] for _a, p in share) for share in shares]
    assert sorted(sizes) == [170, 170]
    assert sorted(str(p) for share in shares for _a, p in share) == sorted(str(p) for _a, p, _s in files)
