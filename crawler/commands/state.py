"""``newsarchive state``: the incremental-crawl state is a cache of the store."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from archive.outlet.config import OutletConfigError
from archive.runs.report import EXIT_FAILED, EXIT_USAGE
from archive.store import open_store
from archive.store.base import StoreError
from crawler.commands import add_store_argument

HELP = """\
The state (which articles are archived, the first capture of every payload digest, the
validators of feeds and fronts) only speeds crawls up: everything in it can be derived
from the store.  'rebuild' reconstructs it from the corpus and the WARCs (or their CDXJ
indexes), so a lost or corrupt state database loses nothing: the next run behaves as if
the database had never gone.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("state", help="inspect or rebuild the incremental state",
                                   description=HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="state_command", metavar="ACTION")
    rebuild = actions.add_parser("rebuild", help="rebuild the state database from the store")
    add_store_argument(rebuild)
    rebuild.add_argument("--state", default=os.environ.get("NEWSARCHIVE_STATE"),
                         help="the state to rebuild (default: the store's default state)")
    rebuild.add_argument("--outlet", action="append", default=[], metavar="OUTLET",
                         help="outlet name or YAML file (repeatable); its feeds, sitemaps "
                              "and fronts get their validators back (default: every "
                              "registered outlet; the rebuild covers all outlets in the "
                              "store unless --only is given)")
    rebuild.add_argument("--only", action="store_true",
                         help="rebuild only the outlets named with --outlet")
    rebuild.set_defaults(handler=run_rebuild)
    parser.set_defaults(handler=lambda args: parser.print_help() or EXIT_USAGE)


def run_rebuild(args: argparse.Namespace) -> int:
    from archive.state import open_state
    from archive.state.base import default_state_path
    from archive.state.rebuild import rebuild_state
    from crawler.outlets import registered_outlets, resolve_outlet

    try:
        store = open_store(args.store)
        names = args.outlet or list(registered_outlets())
        outlets = [resolve_outlet(name) for name in names]
    except (StoreError, OutletConfigError) as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    location = args.state or str(default_state_path(args.store))
    if "://" not in location:
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    state = open_state(location)
    try:
        state.clear()
        validator_urls = [url for outlet in outlets for url in outlet.seed_urls()]
        result = rebuild_state(store, state, validator_urls=validator_urls,
                               outlets=[o.name for o in outlets] if args.only else None,
                               progress=lambda line: print(line, file=sys.stderr))
    finally:
        state.close()
    print(result.summary())
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return EXIT_FAILED if result.problems else 0
