"""The ``newsarchive`` command line: a thin layer over crawler.run and archive/.

Each group of subcommands lives in its own module under crawler/commands/ and registers
itself here; this file only builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crawler.commands import crawl as crawl_command
from crawler.commands import info as info_command

DESCRIPTION = """\
newsarchive crawls news outlets, captures every HTTP exchange into WARC files that
replay in pywb and ReplayWeb.page, and extracts each article's clean text into a
JSON-lines corpus. Stores are a local directory (default ./archive) or s3://bucket/prefix.
"""

EPILOG = """\
examples:
  newsarchive outlets                          list registered outlets
  newsarchive sample-site &                    serve the bundled sample outlet offline
  newsarchive crawl tests/sites/rudaw/outlet.yaml --max-articles 20
  newsarchive crawl rudaw --store s3://my-bucket/news
  newsarchive report --store s3://my-bucket/news   per-outlet health page, alarms
  newsarchive <command> --help                 details of one command

exit status of crawl: 0 ok, 1 run failed, 2 bad usage or outlet file, 3 store unusable,
4 finished with uploads still pending, 75 another run holds the lock.
exit status of report: 8 when an outlet has an alarm (0 when none).
"""

# Optional command groups: each module has register(subparsers). Missing ones are skipped
# so that a partial checkout still offers what it has.
OPTIONAL_COMMAND_MODULES = ("crawler.commands.storage", "crawler.commands.reuse",
                            "crawler.commands.state", "crawler.commands.runs",
                            "crawler.commands.report")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsarchive", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    crawl_command.register(subparsers)
    info_command.register(subparsers)
    for module_name in OPTIONAL_COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
