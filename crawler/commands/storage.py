"""``newsarchive sync`` and ``newsarchive verify``: commands that only talk to the store.

Unlike a crawl, which carries on into the spool when S3 is down, these fail at once with a
clear message when the store cannot be used.  Exit status: 0 all good, 1 problems found
(objects missing/corrupt, uploads still failing, bucket missing, access denied), 2 bad
usage (bad URI or options), 3 store unreachable.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from archive.runs.report import EXIT_STORE, EXIT_USAGE
from archive.store.base import StoreError
from archive.store.s3.config import StoreUnreachable
from crawler.commands import add_object_lock_arguments, add_store_argument
from crawler.commands.errors import CommandFailed, command, failing_with

EXIT_OK = 0
EXIT_PROBLEMS = 1


def _store_argument(parser: argparse.ArgumentParser) -> None:
    add_store_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def register(subparsers: argparse._SubParsersAction) -> None:
    sync = subparsers.add_parser(
        "sync", help="upload files left pending in the local spool to the S3 store",
        description="Upload every file a crawl left in the spool (S3 down, crash, deadline), "
                    "verify each one, then remove it from the spool. Safe to repeat: objects "
                    "already uploaded are not uploaded again and never overwritten.")
    _store_argument(sync)
    add_object_lock_arguments(sync)
    sync.add_argument("--timeout", type=float, metavar="SECONDS",
                      help="give up waiting for uploads after this long (default 300, or "
                           "NEWSARCHIVE_S3_CLOSE_TIMEOUT)")
    sync.set_defaults(handler=run_sync)

    verify = subparsers.add_parser(
        "verify", help="check every object listed in the run manifests (size, sha256)",
        description="Check that every object listed in the store's run reports "
                    "(runs/**.json) exists with the listed size and sha256. Lists missing, "
                    "pending and corrupt objects; exits 1 if there is any.")
    _store_argument(verify)
    verify.add_argument("--deep", action="store_true",
                        help="re-read and hash every object instead of trusting the stored "
                             "sha256 metadata (slow; catches silent corruption)")
    verify.set_defaults(handler=run_verify)


def _open(args: argparse.Namespace, **s3_options):
    """The store for --store; S3 options apply only to s3:// URIs."""
    from archive.store import open_store

    return open_store(args.store, **s3_options)


@command
def run_sync(args: argparse.Namespace) -> int:
    from archive.store.sync import sync_pending

    with failing_with((StoreError, EXIT_USAGE)):
        store = _open(args, create_bucket=args.create_bucket or None,
                      object_lock_days=args.object_lock_days,
                      object_lock_mode=args.object_lock_mode)
    with failing_with((StoreUnreachable, EXIT_STORE), (StoreError, EXIT_PROBLEMS)):
        result = sync_pending(store, timeout=args.timeout)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for key in result.uploaded:
            print(f"uploaded         {key}")
        for key in result.already_present:
            print(f"already present  {key}")
        for key, message in result.failed.items():
            print(f"FAILED           {key}: {message}")
        print(f"sync {result.store}: {len(result.uploaded)} uploaded, "
              f"{len(result.already_present)} already present, {len(result.failed)} failed, "
              f"{result.pending} still pending" + (f" in {result.spool}" if result.spool else ""))
    return EXIT_OK if result.ok else EXIT_PROBLEMS


@command
def run_verify(args: argparse.Namespace) -> int:
    from archive.store.verify import verify_store

    with failing_with((StoreError, EXIT_USAGE)):
        store = _open(args)
    if not args.store.startswith("s3://") and not Path(store.uri).is_dir():
        raise CommandFailed(f"no store at {store.uri}: not a directory", EXIT_USAGE)
    with failing_with((StoreUnreachable, EXIT_STORE), (StoreError, EXIT_PROBLEMS)):
        if hasattr(store, "check_bucket"):
            store.check_bucket()
        result = verify_store(store, deep=args.deep)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        for problem in result.problems:
            print(problem)
        mode = "deep (content re-read)" if args.deep else "quick (size + stored sha256)"
        print(f"verify {result.store}: {result.manifests} run manifests, {result.checked} "
              f"objects checked {mode}, {result.verified} ok, {len(result.problems)} "
              "problems")
        if not result.manifests:
            print("note: no run manifests (runs/**.json) found in this store")
    return EXIT_OK if result.ok else EXIT_PROBLEMS
