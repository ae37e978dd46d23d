"""``newsarchive outlets`` and ``newsarchive sample-site``."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from archive.outlet.config import OutletConfigError
from archive.runs.report import EXIT_USAGE

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
    sample.add_argument("--background", action="store_true",
                        help="start the server as a background process, wait until it "
                             "answers, and return (it exits after --idle-exit seconds "
                             "without requests)")
    sample.add_argument("--idle-exit", type=float, default=0, metavar="SECONDS",
                        help="exit after this long without a request (default with "
                             "--background: 900; otherwise never)")
    sample.add_argument("--stop", action="store_true",
                        help="stop a background server started with --background")
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
    if args.stop:
        return stop_background(args.port)
    if args.background:
        return start_background(args)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.sites.server import SampleSite, serve_forever

    cdn_port = args.port + 2 if args.port else 0  # the image CDN origin (outlet.yaml: 8702)
    if not args.idle_exit:
        serve_forever(args.port, args.arabic_port, cdn_port)
        return 0
    with SampleSite(port=args.port, arabic_port=args.arabic_port, cdn_port=cdn_port) as site:
        print(f"Rudaw sample outlet: {site.base_url}/english", flush=True)
        last_seen, last_count = time.monotonic(), 0
        while time.monotonic() - last_seen < args.idle_exit:
            time.sleep(1.0)
            count = len(site.requests)
            if count != last_count:
                last_seen, last_count = time.monotonic(), count
    return 0


def _pid_file(port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"newsarchive-sample-site-{port}.pid"


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def start_background(args: argparse.Namespace) -> int:
    if _answers(args.port):
        print(f"sample outlet already answering on http://127.0.0.1:{args.port}/")
        return 0
    command = [sys.executable, "-m", "crawler.cli", "sample-site", "--port", str(args.port),
               "--arabic-port", str(args.arabic_port),
               "--idle-exit", str(args.idle_exit or 900)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"newsarchive: error: the sample site exited at once (is port {args.port} "
                  f"or {args.arabic_port} taken?)", file=sys.stderr)
            return 1
        if _answers(args.port):
            _pid_file(args.port).write_text(str(process.pid))
            print(f"sample outlet serving on http://127.0.0.1:{args.port}/ and "
                  f"http://127.0.0.1:{args.arabic_port}/ (pid {process.pid}; stops after "
                  f"{int(args.idle_exit or 900)} s idle or with 'newsarchive sample-site --stop')")
            return 0
        time.sleep(0.2)
    process.terminate()
    print("newsarchive: error: the sample site did not answer within 30 s", file=sys.stderr)
    return 1


def stop_background(port: int) -> int:
    pid_file = _pid_file(port)
    if not pid_file.exists():
        print(f"no background sample site recorded for port {port}")
        return 0
    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except (ProcessLookupError, ValueError):
        pass
    pid_file.unlink(missing_ok=True)
    print(f"stopped the sample site on port {port}")
    return 0
