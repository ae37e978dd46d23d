"""``newsarchive report``: per-outlet health over recent runs, as a page or as JSON.

Reads only run reports (``runs/{outlet}/*.json``), so it is cheap on any store.  Exit
status: 0 no alarm, 1 output not written, 2 bad usage, 3 store unusable, 8 at least one
alarm, so that cron (which mails any output) and systemd (``OnFailure=``) can notify.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from archive.runs.report import EXIT_STORE, EXIT_USAGE
from archive.store.base import StoreError
from crawler.commands import add_store_argument
from crawler.commands.errors import command, failing_with

EXIT_WRITE = 1  # the page could not be written
EXIT_ALARM = 8  # not used by any other command (0-4 and 75 are taken)

DESCRIPTION = """\
Write one self-contained HTML page (no external assets: open it from mail or a server
with no internet) with the health of every outlet over the runs of a time window:
articles per run and per day, pages fetched, failures by kind with the failing URLs of
the last run, block rate (share of pages refused with 403/429/503), median article text
length, coverage (declared vs archived, where runs report it), pending uploads and the
last successful run, with charts and the alarms highlighted.

Alarms, each against the outlet's own history:
  zero_articles  the newest runs archived 0 articles while the runs before them had
                 a median of at least 3 (layout change, dead feed, block page)
  block_rate     more than --block-rate of the last run's pages were 403/429/503
  text_collapse  the last run's median text is under --text-drop of the usual median
  stale          no successful run for longer than --stale

Only run reports are read (runs/{outlet}/*.json, workers' reports merged), in parallel.
"""

EPILOG = """\
examples:
  newsarchive report                                   ./archive, last 30 days -> report.html
  newsarchive report --store s3://news/warc --out /var/www/health.html
  newsarchive report --since 7d --json | jq '.outlets[] | {outlet, status, alarms}'
  newsarchive report --outlet rudaw --stale 6h

from cron (silent when healthy; one line per alarm, which cron mails):
  15 * * * * newsarchive report --store /srv/archive --out /var/www/health.html

exit status: 0 no alarm, 1 the output could not be written, 2 bad usage, 3 store
unusable, 8 at least one alarm.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="per-outlet health page (HTML or --json) with alarms; exit 8 on alarm",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_argument(parser)
    parser.add_argument("--since", default="30d", metavar="WHEN",
                        help="window of runs: a duration back from now (30d, 12h, 2w) or a "
                             "date (2026-11-01); default 30d")
    parser.add_argument("--out", metavar="FILE",
                        help="where to write: default report.html (HTML) or standard output "
                             "(--json); '-' for standard output")
    parser.add_argument("--json", action="store_true",
                        help="the same data as JSON for monitoring systems")
    parser.add_argument("--outlet", action="append", metavar="NAME",
                        help="only this outlet (repeatable)")
    parser.add_argument("--block-rate", type=float, default=0.2, metavar="SHARE",
                        help="alarm when more than this share of the last run's pages were "
                             "403/429/503 (default 0.2)")
    parser.add_argument("--stale", default="48h", metavar="AGE",
                        help="alarm when the last successful run is older (default 48h)")
    parser.add_argument("--text-drop", type=float, default=0.5, metavar="RATIO",
                        help="alarm when the last run's median text length falls under this "
                             "ratio of the earlier runs' median (default 0.5)")
    parser.add_argument("--threads", type=int, default=16, metavar="N",
                        help="run reports read in parallel (default 16; helps on S3)")
    parser.add_argument("--no-cache", action="store_true",
                        help="S3: read every report from the store; by default reports read "
                             "once are kept in ${XDG_CACHE_HOME:-~/.cache}/newsarchive (run "
                             "reports are never overwritten, so only new ones are fetched)")
    parser.add_argument("--quiet", action="store_true",
                        help="print nothing, not even alarms (the exit status still says)")
    parser.set_defaults(handler=run)


def _hours(text: str) -> float:
    value = text.strip().lower()
    units = {"m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}
    try:
        if value[-1:] in units:
            return float(value[:-1]) * units[value[-1]]
        return float(value)
    except ValueError:
        raise ValueError(f"--stale {text!r}: use a duration such as 48h, 2d or 90m") from None


@command
def run(args: argparse.Namespace) -> int:
    from archive.runs.cache import ReportCache
    from archive.runs.health import Thresholds, parse_window, store_health
    from archive.runs.html import render
    from archive.store import open_store

    now = datetime.now(UTC)
    with failing_with((ValueError, EXIT_USAGE)):
        since = parse_window(args.since, now)
        limits = Thresholds(block_rate=args.block_rate, stale_hours=_hours(args.stale),
                            text_drop=args.text_drop)
    with failing_with((StoreError, EXIT_STORE)):
        store = open_store(args.store)
        cache = None
        if args.store.startswith("s3://") and not args.no_cache:
            endpoint = getattr(getattr(store, "s3", None), "endpoint_url", "")
            cache = ReportCache.for_store(f"{endpoint} {store.uri}")
        try:
            health = store_health(store, since=since, now=now, limits=limits,
                                  threads=max(1, args.threads), outlets=args.outlet,
                                  cache=cache)
        finally:
            store.close()
    text = (json.dumps(health, indent=2, ensure_ascii=False) + "\n" if args.json
            else render(health))
    out = args.out or ("-" if args.json else "report.html")
    if out == "-":
        sys.stdout.write(text)
    else:
        with failing_with((OSError, EXIT_WRITE), hint=f" (writing {out})"):
            _write(Path(out), text)
    _tell(args, health, out)
    return EXIT_ALARM if health["alarm_count"] else 0


def _write(path: Path, text: str) -> None:
    """Written whole then renamed, so a web server never serves half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _tell(args: argparse.Namespace, health: dict, out: str) -> None:
    """Alarms as one line each on stderr; on a terminal also where the page went.

    Under cron a healthy run prints nothing, so no mail is sent.
    """
    if args.quiet:
        return
    for outlet in health["outlets"]:
        for alarm in outlet["alarms"]:
            print(f"newsarchive report: alarm outlet={outlet['outlet']} kind={alarm['kind']} "
                  f"{alarm['message']}", file=sys.stderr)
    if out != "-" and sys.stderr.isatty():
        print(f"wrote {out}: {len(health['outlets'])} outlet(s), "
              f"{health['reports_read']} report(s) read, {health['alarm_count']} alarm(s)",
              file=sys.stderr)
