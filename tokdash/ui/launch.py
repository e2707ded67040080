"""Launching the dashboard from the command line: roots, the demo fleet, signals, clean-up."""

from __future__ import annotations

import shutil
import signal
import tempfile

from tokdash.ingest.discovery import resolve_roots
from tokdash.sources import SOURCES
from tokdash.ui.app import TokdashApp


def run(args, dirs: dict[str, list[str]] | None = None) -> int:
    """Run the dashboard for parsed command-line ``args`` (agent, demo, no_cache) over the
    ``--<agent>-dir`` folders ``dirs`` (agent -> folders; default: each agent's own)."""
    agent = getattr(args, "agent", "all") or "all"
    agents = list(SOURCES) if agent == "all" else [agent]
    fleet = None
    tmp = None
    saved: dict[int, object] = {}
    try:
        if getattr(args, "demo", False):
            from tokdash.demo import Fleet

            tmp = tempfile.mkdtemp(prefix="tokdash-demo-")
            fleet = Fleet(tmp)
            fleet.write_history()
            fleet.start()
            dirs = {name: [str(path)] for name, path in fleet.dirs().items()}
        else:
            dirs = dirs or {}
        roots = resolve_roots(agents, dirs)
        # One index covers every agent's roots, as for reports (which filter by agent too).
        # The demo's fleet lives in a temporary folder: indexing it would only leave a
        # stale index behind in the data dir.
        cache = fleet is None and not getattr(args, "no_cache", False)
        index_roots = resolve_roots(list(SOURCES), dirs) if cache else None
        app = TokdashApp(roots, cache=cache, index_roots=index_roots, remember_theme=True)
        if fleet is not None:
            # A closed terminal or tmux pane (SIGHUP) or a kill (SIGTERM) would end the
            # process without running ``finally``: exit the app instead, so the demo's
            # temporary folder is removed.
            for name in ("SIGHUP", "SIGTERM"):  # SIGHUP does not exist on Windows
                sig = getattr(signal, name, None)
                if sig is not None:
                    saved[sig] = signal.signal(sig, lambda *_: app.call_later(app.exit))
        app.run()
        return app.return_code or 0
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if fleet is not None:
            fleet.stop()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
