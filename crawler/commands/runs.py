"""``newsarchive runs``: the runs in a store, and one run's report merged over its workers.

A crawl spread over several workers (``crawl --redis``) leaves one report per worker under
``runs/{outlet}/``; this command shows them as one run.  Exit status: 0, 1 when the run
asked for is not in the store, 2 bad usage, 3 store unusable.
"""

from __future__ import annotations

import argparse
import json
import sys

from archive.runs.report import EXIT_STORE
from archive.store.base import StoreError
from crawler.commands import add_store_argument

EXIT_NOT_FOUND = 1

HELP = """\
Without --run: list the runs in the store (one line per run, workers merged).
With --run ID (or 'latest', or a unique prefix of an id): that run's merged report:
pages by kind, articles, failures, bytes and files summed over its workers, and one
line per worker.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "runs", help="list runs in a store; show one run's report merged over its workers",
        description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_store_argument(parser)
    parser.add_argument("--outlet", metavar="NAME", help="only this outlet's runs")
    parser.add_argument("--run", metavar="ID", help="show this run ('latest': the newest)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from archive.runs.merge import find_run, list_runs
    from archive.store import open_store

    try:
        store = open_store(args.store)
    except StoreError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_STORE
    try:
        if args.run:
            summary = find_run(store, args.run, args.outlet)
            if summary is None:
                print(f"newsarchive: no single run {args.run!r} in {args.store}"
                      + ("" if args.outlet else " (--outlet may disambiguate)"), file=sys.stderr)
                return EXIT_NOT_FOUND
            merged = summary.merged()
            if args.json:
                print(json.dumps(merged, indent=2, ensure_ascii=False))
            else:
                print(describe(merged))
            return 0
        runs = list_runs(store, args.outlet)
    except StoreError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return EXIT_STORE
    finally:
        store.close()
    if args.json:
        print(json.dumps([_row(s.merged()) for s in runs], indent=2, ensure_ascii=False))
        return 0
    if not runs:
        print(f"no runs in {args.store}")
        return 0
    rows = [_row(s.merged()) for s in runs]
    header = ("OUTLET", "RUN", "WORKERS", "STARTED", "DURATION", "PAGES", "ARTICLES",
              "FAILURES", "STATUS")
    table = [header] + [(r["outlet"], r["run_id"], str(r["workers"]), r["started"][:19],
                         f"{r['duration_seconds']:.1f}s", str(r["pages"]), str(r["articles"]),
                         str(r["failures"]), r["status"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def _row(merged: dict) -> dict:
    return {"outlet": merged["outlet"], "run_id": merged["run_id"],
            "workers": len(merged["workers"]), "started": merged.get("started") or "",
            "duration_seconds": float(merged.get("duration_seconds") or 0),
            "pages": merged["pages"]["fetched"], "articles": merged.get("articles", 0),
            "failures": merged["failures"]["total"],
            "status": "ok" if merged["exit_status"] == 0 else f"exit {merged['exit_status']}"}


def describe(merged: dict) -> str:
    """The merged report as a few readable lines."""
    def kinds(group: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in group.items()) or "none"

    files = merged.get("files", [])
    lines = [
        f"run {merged['run_id']}  outlet {merged['outlet']}  "
        f"workers {len(merged['workers'])}",
        f"started {merged.get('started')}  finished {merged.get('finished')}  "
        f"duration {merged.get('duration_seconds')}s",
        f"status {'ok' if merged['exit_status'] == 0 else 'failed'} "
        f"(exit {merged['exit_status']}, {merged.get('finish_reason')})",
        f"pages {merged['pages']['fetched']}: {kinds(merged['pages']['by_kind'])}",
        f"articles {merged.get('articles', 0)} (duplicates {merged.get('duplicates', 0)}, "
        f"new versions {merged.get('new_versions', 0)}, unchanged {merged.get('unchanged', 0)})",
        f"failures {merged['failures']['total']}: {kinds(merged['failures']['by_kind'])}",
        f"bytes {merged.get('bytes', 0)}  files {len(files)} "
        f"(pending upload {sum(1 for f in files if f.get('pending'))})",
    ]
    if merged.get("distributed"):
        lines.append(f"coordination: {kinds(merged['distributed'])}")
    lines.append("workers:")
    for worker in merged["workers"]:
        lines.append(f"  {worker.get('worker_id') or '-'}  host {worker.get('crawl_host') or '-'}"
                     f"  pages {worker['pages']}  articles {worker['articles']}"
                     f"  files {worker['files']}  {worker.get('finish_reason')}"
                     f"  {worker.get('report_key') or ''}".rstrip())
    return "\n".join(lines)
