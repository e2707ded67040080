"""Shared fixtures. None is autouse: a test asks for what it needs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
"""The real transcript corpus, read in place (CI has ``shared/`` beside the checkout)."""


@pytest.fixture
def corpus() -> Path:
    """The corpus folder; the test is skipped when it is absent."""
    if not (CORPUS / "expected").is_dir():
        pytest.skip(f"real transcript corpus not found at {CORPUS}")
    return CORPUS


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh HOME and no agent/config variables, so the user's own transcripts are never read."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "XDG_CONFIG_HOME", "APPDATA", "XDG_DATA_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOKDASH_DATA_DIR", str(tmp_path / "tokdash-data"))
    return home


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """Every test gets a data dir of the suite's own: reports keep a persistent index by
    default, and a test must never write into the real ``~/.local/share/tokdash``.
    Tests that need a fresh one set ``TOKDASH_DATA_DIR`` themselves."""
    old = os.environ.get("TOKDASH_DATA_DIR")
    os.environ["TOKDASH_DATA_DIR"] = str(tmp_path_factory.mktemp("tokdash-data"))
    yield
    if old is None:
        os.environ.pop("TOKDASH_DATA_DIR", None)
    else:
        os.environ["TOKDASH_DATA_DIR"] = old


@pytest.fixture
def utc():
    """Local time is UTC for the test (date flags are parsed in local time); restored after."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()
