"""``tokdash index [--rebuild | --forget PATH | --unforget PATH]``: the persistent index's status and maintenance."""

from __future__ import annotations

import sys
import time

from tokdash.cli.common import CliError, roots_for, warn, write_json
from tokdash.sources import SOURCES


def run_index(args) -> int:
    """Show the index's path, roots, counts and size; or rebuild it; or forget files for good
    (asking first when that drops more than one session); or stop forgetting them."""
    from tokdash.format import clean
    from tokdash.ingest.discovery import discover
    from tokdash.ingest.index import (
        Index,
        IndexUnavailable,
        IndexUsageError,
        RefusedPath,
    )
    from tokdash.model.config import PriceConfigError, default_config_path

    roots = roots_for(list(SOURCES), args)
    index = Index.for_roots(roots, config_path=default_config_path(), warn=warn)
    try:
        if getattr(args, "unforget", None):
            back = index.unforget(args.unforget)
            if not back:
                raise CliError("tokdash: not forgotten: " + ", ".join(clean(p) for p in args.unforget), 1)
            index.sync(discover(roots))
            print(f"tokdash: no longer forgotten: {len(back)} files (read again where they still exist)")
            for p in back[:5]:
                print(f"  {clean(p)}")
            return 0
        if args.forget:
            _confirm_forget(index, args)
        if args.rebuild or args.forget:
            t0 = time.perf_counter()
            result = index.sync(discover(roots), rebuild=bool(args.rebuild), forget=args.forget or ())
            what = "rebuilt the index" if args.rebuild else "forgot " + ", ".join(args.forget) + "; the index"
            print(f"tokdash: {clean(what)}: {len(result.summaries)} sessions ({len(result.archived)} archived), "
                  f"re-read from {result.files_read} files ({result.bytes_read / 1e6:.1f} MB) in "
                  f"{time.perf_counter() - t0:.2f} s")
            if args.forget:
                print("tokdash: undo with: tokdash index --unforget PATH (records of transcripts that are "
                      "gone cannot come back)")
            if not result.saved:
                raise CliError("tokdash: the index could not be saved")
            return 0
        index.sync(discover(roots))
        st = index.status()
    except RefusedPath as exc:
        raise CliError(f"tokdash: {clean(str(exc))}", 2) from None
    except IndexUsageError as exc:
        raise CliError(f"tokdash: {clean(str(exc))}") from None
    except IndexUnavailable as exc:
        raise CliError(f"tokdash: {clean(str(exc))}") from None
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None
    finally:
        index.close()
    if args.json:
        write_json(st)
        return 0
    print(f"index: {clean(st['path'])} ({st['size_bytes'] / 1e6:.1f} MB, built {st['built'] or '?'})")
    for r in st["roots"]:
        print(f"  root: {clean(r.replace(chr(9), ': ', 1))}")
    print(f"files: {st['files']} present, {st['files_gone']} gone; {st['bytes_read'] / 1e6:.1f} MB read")
    print(f"sessions: {st['sessions']} ({st['archived_sessions']} archived); API calls: {st['api_calls']}")
    forgotten = st["forgotten"]
    for p in forgotten[:5]:
        print(f"  forgotten (ignored): {clean(p)}")
    if len(forgotten) > 5:
        print(f"  ... and {len(forgotten) - 5} more forgotten files")
    return 0


def _confirm_forget(index, args) -> None:
    """Forgetting is for good: more than one session needs ``--yes``, or a yes typed at a terminal."""
    files, sessions = index.forget_preview(args.forget)
    if len(sessions) <= 1 or args.yes:
        return
    question = f"tokdash: this forgets {len(files)} files of {len(sessions)} sessions for good"
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise CliError(f"{question}; add --yes to do it", 2)
    print(f"{question}. Forget them? [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip().lower()
    except (OSError, KeyboardInterrupt):
        answer = ""
    if answer not in ("y", "yes"):
        raise CliError("tokdash: nothing forgotten", 1)
