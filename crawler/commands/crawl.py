"""``newsarchive crawl``: run one or more outlets into a store."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from archive.config import OutletConfig, OutletConfigError
from archive.report import EXIT_FAILED, EXIT_STORE, EXIT_USAGE, summary_line
from archive.store import StoreError, open_store
from crawler.context import DEFAULT_STORE

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
    parser.add_argument("outlets", nargs="+", metavar="OUTLET",
                        help="registered outlet name or path to an outlet YAML file")
    parser.add_argument("--store", default=os.environ.get("NEWSARCHIVE_STORE", DEFAULT_STORE),
                        help="local directory or s3://bucket/prefix "
                             "(default: $NEWSARCHIVE_STORE or ./archive)")
    parser.add_argument("--state", default=None,
                        help="state database (reserved for incremental crawls)")
    parser.add_argument("--max-pages", type=int, default=0, metavar="N",
                        help="stop after N responses (0: no limit)")
    parser.add_argument("--max-articles", type=int, default=0, metavar="N",
                        help="stop after N articles extracted (0: no limit)")
    parser.add_argument("--workers", type=int, default=0, metavar="N",
                        help="extraction worker processes (default: one per core)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write the run report(s) as JSON to FILE ('-' for stdout)")
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


def run(args: argparse.Namespace) -> int:
    from crawler.run import CrawlOptions, run_crawls

    try:
        outlets = load_outlets(args.outlets)
    except OutletConfigError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        open_store(args.store)  # validates the URI before anything is written
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
    )
    reports = run_crawls(outlets, options)
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
    return max(statuses) if statuses else EXIT_FAILED
