"""``newsarchive crawl``: run one or more outlets into a store."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from archive.corpus.records import parse_since
from archive.outlet.config import OutletConfig, OutletConfigError
from archive.runs.report import EXIT_FAILED, EXIT_LOCKED, EXIT_STORE, EXIT_USAGE, summary_line
from archive.state.lock import LockHeld, RunLock
from archive.store import open_store
from archive.store.base import StoreError
from crawler.commands import add_object_lock_arguments, add_store_argument
from crawler.distributed.frontier import DistributedError, check_worker_id, connect, split_redis_url
from crawler.outlets import registered_outlets

HELP = """\
Crawl OUTLET (a registered name such as 'rudaw', or a path to an outlet YAML file):
fetch its fronts, feeds and sitemaps, follow article links, write every HTTP exchange
to WARC files and every article's text to the corpus, then a run report in runs/.

On a terminal a progress line is shown; without one (cron) the command is quiet and
prints a single summary line (key=value pairs) on stdout.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "crawl", help="crawl outlets into the store", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("outlets", nargs="*", metavar="OUTLET",
                        help="registered outlet name or path to an outlet YAML file")
    parser.add_argument("--all", action="store_true",
                        help="crawl every registered outlet (one process, polite per host)")
    add_store_argument(parser)
    parser.add_argument("--state", default=os.environ.get("NEWSARCHIVE_STATE"),
                        help="state of incremental crawls: a SQLite file or redis://host/db "
                             "(default: <store>/state/state.sqlite3 for a local store, the "
                             "user's state directory for S3; 'off' re-fetches everything)")
    parser.add_argument("--since", metavar="DATE",
                        help="ignore feed and sitemap entries older than DATE (ISO 8601)")
    parser.add_argument("--recheck", metavar="INTERVALS",
                        help="edit re-checks of young articles, e.g. '1h,1d,7d' (default: "
                             "the outlet's 'recheck', else 1h,1d,7d within 30 days; 'off')")
    parser.add_argument("--max-pages", type=int, default=0, metavar="N",
                        help="stop after N responses (0: no limit)")
    parser.add_argument("--max-articles", type=int, default=0, metavar="N",
                        help="stop after N articles extracted (0: no limit)")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="extraction worker processes (default: one per core)")
    parser.add_argument("--redis", metavar="URL", default=os.environ.get("REDIS_URL") or None,
                        help="scale-out: be one worker of the outlet's crawl shared through "
                             "this Redis (redis://host:port/db[?prefix=NAME], default: "
                             "$REDIS_URL); frontier, seen-set, politeness and state are "
                             "shared, each worker writes its own WARCs")
    parser.add_argument("--worker-id", metavar="ID",
                        help="this worker's name in a --redis crawl and in its file names "
                             "(default: <host>-<pid>)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the run report(s) as JSON to FILE ('-' for stdout)")
    add_object_lock_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress line even on a terminal")
    parser.add_argument("--log-file", metavar="FILE", help="write the Scrapy log to FILE")
    parser.set_defaults(handler=run)


def load_outlets(names: list[str]) -> list[OutletConfig]:
    from crawler.outlets import resolve_outlet

    outlets = [resolve_outlet(name) for name in names]
    seen: set[str] = set()
    for outlet in outlets:
        if outlet.name in seen:
            raise OutletConfigError(f"outlet {outlet.name!r} given twice")
        seen.add(outlet.name)
    return outlets


def check_store(uri: str, options: dict | None = None) -> bool:
    """Validate the store before anything is written; False when S3 is down right now.

    A store that is merely unreachable does not stop the crawl (it spools and uploads
    later); a wrong URI, missing bucket, bad credentials or denied access do.
    """
    store = open_store(uri, **(options or {}))
    if not uri.startswith("s3://"):
        return True
    from archive.store.s3.store import check_reachable

    reachable = check_reachable(store)
    if not reachable:
        print(f"newsarchive: warning: {uri} cannot be reached now; crawling into the spool "
              f"{store.spool_dir}; uploads are retried at the end of the run, by the next "
              "run and by 'newsarchive sync'", file=sys.stderr)
    return reachable


def run(args: argparse.Namespace) -> int:
    from crawler.run import CrawlOptions, run_crawls

    if bool(args.outlets) == bool(args.all):
        print("newsarchive: error: give OUTLET names/files or --all (not both)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        outlets = load_outlets(args.outlets or list(registered_outlets()))
    except OutletConfigError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.since:
        try:
            parse_since(args.since)
        except ValueError:
            print(f"newsarchive: error: --since {args.since!r} is not an ISO 8601 date "
                  "(e.g. 2026-11-01 or 2026-11-01T06:00:00+03:00)", file=sys.stderr)
            return EXIT_USAGE
    if args.redis:
        try:
            check_worker_id(args.worker_id or "worker")
            split_redis_url(args.redis)
        except DistributedError as exc:
            print(f"newsarchive: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        try:
            connect(args.redis)[0].close()  # fail before anything is written
        except DistributedError as exc:
            print(f"newsarchive: error: {exc}", file=sys.stderr)
            return EXIT_STORE
    # S3 options travel to the crawl's store as a setting (NEWSARCHIVE_STORE_OPTIONS)
    store_options = {"create_bucket": args.create_bucket or None,
                     "object_lock_days": args.object_lock_days,
                     "object_lock_mode": args.object_lock_mode}
    store_options = {name: value for name, value in store_options.items() if value is not None}
    try:
        reachable = check_store(args.store, store_options)
    except StoreError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_STORE
    terminal = sys.stderr.isatty()
    if args.verbose:
        level = "INFO"
    else:
        level = "WARNING" if terminal else "ERROR"
    options = CrawlOptions(
        store=args.store, max_pages=args.max_pages, max_articles=args.max_articles,
        workers=args.workers, log_level=level, log_file=args.log_file,
        progress=terminal and not args.quiet and not args.verbose,
        state=args.state, since=args.since, recheck=args.recheck,
        redis_url=args.redis, worker_id=args.worker_id,
        extra_settings={"NEWSARCHIVE_STORE_REACHABLE": reachable,
                        "NEWSARCHIVE_STORE_OPTIONS": store_options},
    )
    with ExitStack() as locks:
        runnable, locked = [], []
        for outlet in outlets:
            if args.redis:  # workers of a shared crawl coordinate in Redis, not by file lock
                runnable.append(outlet)
                continue
            try:
                locks.enter_context(RunLock.for_store(args.store, outlet.name))
                runnable.append(outlet)
            except LockHeld as exc:
                print(f"newsarchive: {outlet.name}: {exc}", file=sys.stderr)
                locked.append(outlet)
        if not runnable:
            return EXIT_LOCKED
        try:
            reports = run_crawls(runnable, options)
        except DistributedError as exc:  # could not join the shared crawl (--redis)
            print(f"newsarchive: error: {exc}", file=sys.stderr)
            return exc.exit_code
    for report in reports:
        print(summary_line(report), flush=True)
    if args.report:
        text = json.dumps(reports if len(reports) > 1 else reports[0], indent=2,
                          ensure_ascii=False)
        if args.report == "-":
            print(text)
        else:
            Path(args.report).write_text(text + "\n", encoding="utf-8")
    statuses = [int(r.get("exit_status", EXIT_FAILED)) for r in reports]
    if locked:
        statuses.append(EXIT_LOCKED)
    return max(statuses) if statuses else EXIT_FAILED
