"""Where tokdash keeps its own data (the persistent index) on each platform.

- ``$TOKDASH_DATA_DIR`` if set (tests and unusual setups);
- Linux and other Unixes: ``$XDG_DATA_HOME/tokdash``, default ``~/.local/share/tokdash``;
- macOS: ``~/Library/Application Support/tokdash``;
- Windows: ``%LOCALAPPDATA%\\tokdash``.

Data, not config: the index can always be rebuilt from transcripts that still exist,
but it is also the only record of sessions whose transcripts were deleted, so it does
not belong in a cache dir that cleaners empty.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DATA_DIR_ENV = "TOKDASH_DATA_DIR"
"""Environment variable that overrides the data dir."""


def data_dir(env: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The platform data dir of tokdash (not created here)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    override = env.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(os.path.expanduser(override))
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        base = Path(local) if local else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME", "")
        # The XDG spec says a relative value is invalid and must be ignored.
        base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / "tokdash"
