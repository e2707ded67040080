"""``tokdash index [--rebuild | --forget PATH]``: the persistent index's status and maintenance."""

from __future__ import annotations

import sys
import time

import orjson

from tokdash.cli.common import CliError, roots_for, warn
from tokdash.sources import SOURCES


def run_index(args) -> int:
    """Show the index's path, roots, counts and size; or rebuild it; or forget files for good."""
    from tokdash.format import clean
    from tokdash.ingest.discovery import discover
    from tokdash.ingest.index import Index, IndexUnavailable, IndexUsageError
    from tokdash.model.config import PriceConfigError, default_config_path

    roots = roots_for(list(SOURCES), args)
    index = Index.for_roots(roots, config_path=default_config_path(), warn=warn)
    try:
        if args.rebuild or args.forget:
            t0 = time.perf_counter()
            result = index.sync(discover(roots), rebuild=bool(args.rebuild), forget=args.forget or ())
            what = "rebuilt the index" if args.rebuild else "forgot " + ", ".join(args.forget) + "; the index"
            print(f"tokdash: {clean(what)}: {len(result.summaries)} sessions ({len(result.archived)} archived), "
                  f"re-read from {result.files_read} files ({result.bytes_read / 1e6:.1f} MB) in "
                  f"{time.perf_counter() - t0:.2f} s")
            if not result.saved:
                raise CliError("tokdash: the index could not be saved")
            return 0
        index.sync(discover(roots))
        st = index.status()
    except (IndexUnavailable, IndexUsageError) as exc:
        raise CliError(f"tokdash: {exc}") from None
    except PriceConfigError as exc:
        raise CliError(f"tokdash: {exc}") from None
    finally:
        index.close()
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(st, option=orjson.OPT_INDENT_2) + b"\n")
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
