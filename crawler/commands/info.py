"""``newsarchive outlets`` and ``newsarchive sample-site``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archive.config import OutletConfigError
from archive.report import EXIT_USAGE

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SITE = REPO_ROOT / "tests" / "sites" / "server.py"


def register(subparsers: argparse._SubParsersAction) -> None:
    outlets = subparsers.add_parser(
        "outlets", help="list registered outlets with their editions and start points",
        description="List the outlets registered in spiders/outlets/ (add one by dropping a "
                    "YAML file there; see README 'Adding an outlet').")
    outlets.add_argument("--json", action="store_true", help="machine-readable output")
    outlets.set_defaults(handler=list_outlets)

    sample = subparsers.add_parser(
        "sample-site", help="serve the bundled sample outlet (offline demo and tests)",
        description="Serve the bundled Rudaw-like sample outlet on 127.0.0.1 until Ctrl-C. "
                    "Then crawl it with: newsarchive crawl tests/sites/rudaw/outlet.yaml")
    sample.add_argument("--port", type=int, default=8700, help="main origin port (8700)")
    sample.add_argument("--arabic-port", type=int, default=8701,
                        help="second origin, playing rudawarabia.net (8701)")
    sample.set_defaults(handler=serve_sample_site)


def list_outlets(args: argparse.Namespace) -> int:
    import json

    from crawler.outlets import registered_outlets, resolve_outlet

    rows = []
    for name in registered_outlets():
        try:
            outlet = resolve_outlet(name)
        except OutletConfigError as exc:
            print(f"newsarchive: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        rows.append({
            "name": outlet.name, "language": outlet.language, "spider": outlet.spider,
            "editions": [{"name": e.name, "language": e.language, "prefix": e.prefix}
                         for e in outlet.editions],
            "start_urls": outlet.start_urls, "feeds": outlet.feeds, "sitemaps": outlet.sitemaps,
            "download_delay": outlet.download_delay, "file": str(outlet.source_path),
        })
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        editions = ", ".join(f"{e['name'] or e['prefix']} ({e['language']})"
                             for e in row["editions"]) or row["language"] or "-"
        print(f"{row['name']}  [{row['spider']} spider, {row['download_delay']} s/host]")
        print(f"  editions: {editions}")
        for label, urls in (("start", row["start_urls"]), ("feed", row["feeds"]),
                            ("sitemap", row["sitemaps"])):
            for url in urls:
                print(f"  {label:8s} {url}")
    return 0


def serve_sample_site(args: argparse.Namespace) -> int:
    if not SAMPLE_SITE.exists():
        print("newsarchive: error: the sample site lives in the source checkout "
              f"(tests/sites/); not found under {REPO_ROOT}. Run from a git clone "
              "installed with 'pip install -e .'", file=sys.stderr)
        return EXIT_USAGE
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.sites.server import serve_forever

    serve_forever(args.port, args.arabic_port)
    return 0
