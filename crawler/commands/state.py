"""``newsarchive state``: the incremental-crawl state is a cache of the store."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from archive.outlet.config import OutletConfigError
from archive.runs.report import EXIT_FAILED, EXIT_LOCKED, EXIT_USAGE
from archive.state.lock import LockHeld, RunLock
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
                         help="rebuild only the outlets named with --outlet: their articles "
                              "are replaced, every other outlet's state is left alone "
                              "(digests and validators are merged)")
    rebuild.set_defaults(handler=run_rebuild)
    parser.set_defaults(handler=lambda args: parser.print_help() or EXIT_USAGE)


def run_rebuild(args: argparse.Namespace) -> int:
    from archive.state import open_state
    from archive.state.base import default_state_path
    from archive.state.rebuild import REBUILD_CACHE_MB, rebuild_state
    from crawler.outlets import registered_outlets, resolve_outlet

    try:
        store = open_store(args.store)
        names = args.outlet or list(registered_outlets())
        outlets = [resolve_outlet(name) for name in names]
    except (StoreError, OutletConfigError) as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    location = args.state or str(default_state_path(args.store))
    scope = [o.name for o in outlets] if args.only else sorted(
        {o.name for o in outlets} | outlets_in_store(store))
    with ExitStack() as held:
        try:  # a crawl of any outlet in scope must not run while its state is rebuilt
            for name in scope:
                held.enter_context(RunLock.for_store(args.store, name))
        except LockHeld as exc:
            print(f"newsarchive: state rebuild: {exc}", file=sys.stderr)
            return EXIT_LOCKED
        if "://" not in location and not args.only:
            path = Path(location)
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        elif "://" not in location:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        state = open_state(location, cache_mb=REBUILD_CACHE_MB)
        try:
            busy = live_shared_crawls(state)
            if busy:
                print(f"newsarchive: state rebuild: a shared crawl of {', '.join(busy)} is "
                      "running in this Redis; rebuild when its workers have finished",
                      file=sys.stderr)
                return EXIT_LOCKED
            if args.only:
                for name in scope:
                    state.clear_outlet(name)  # other outlets are not touched
            else:
                state.clear()
            validator_urls = [url for outlet in outlets for url in outlet.seed_urls()]
            result = rebuild_state(store, state, validator_urls=validator_urls,
                                   outlets=scope if args.only else None,
                                   configs=outlets,
                                   progress=lambda line: print(line, file=sys.stderr))
        finally:
            state.close()
    print(result.summary())
    for problem in result.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return EXIT_FAILED if result.problems else 0


def outlets_in_store(store) -> set[str]:
    """Outlet names with files in a local store (for S3: none; the named ones are locked)."""
    root = getattr(store, "root", None)
    if root is None:
        return set()
    names: set[str] = set()
    for top in ("corpus", "warc"):
        folder = Path(root) / top
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if p.is_dir())
    return names


def live_shared_crawls(state) -> list[str]:
    """Outlets whose shared crawl (``crawl --redis``) has a live worker in this Redis."""
    client, prefix = getattr(state, "client", None), getattr(state, "prefix", None)
    if client is None or prefix is None:
        return []
    seconds, micros = client.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    busy = []
    for key in client.scan_iter(match="{" + prefix + "}:crawl:*:workers", count=1000):
        expiries = client.hvals(key)
        if any(int(value) > now_ms for value in expiries):
            text = key.decode() if isinstance(key, bytes) else key
            busy.append(text.split(":crawl:", 1)[1].rsplit(":workers", 1)[0])
    return busy
