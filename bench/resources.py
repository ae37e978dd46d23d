"""Page resources: what archiving every page's stylesheets, scripts and photos costs.

Generates a site of N article pages (default 200) that share one stylesheet (which
``@import``s a font sheet naming a web font), two scripts, a logo and a favicon, while
each page has its own photo (with a ``srcset`` of two sizes).  It serves the site from a
separate process that counts requests, and crawls it twice with the full pipeline (WARC
capture, state, extraction, corpus), no delay, the same concurrency:

  none - ``resources: none``: pages only
  all  - ``resources: all``: pages and every resource they embed

and prints pages/s for each, the ratio all/none, resource fetches per page and how often
each shared resource was fetched (target: once per run, whatever the number of pages).
Usage:

  python bench/resources.py [--articles 200] [--concurrency 16] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PER_LISTING = 50


def png(width: int, height: int, seed: int) -> bytes:
    row = b"\x00" + bytes((seed * 37 % 256, seed * 53 % 256, seed * 71 % 256)) * width

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


SHARED = {
    "/static/site.css": ("text/css", b'@import url("fonts.css");\n'
                         b"body{font-family:Sans;background:url(/static/paper.png)}\n"
                         + b".story p{line-height:1.5}\n" * 40),
    "/static/fonts.css": ("text/css", b'@font-face{font-family:Sans;src:url(sans.woff2)}\n'),
    "/static/sans.woff2": ("font/woff2", b"wOF2" + bytes(range(256)) * 60),
    "/static/app.js": ("text/javascript", b"window.app={ready:true};\n" * 200),
    "/static/vendor.js": ("text/javascript", b"/* invented vendor bundle */\n" * 400),
    "/static/paper.png": ("image/png", png(8, 8, 250)),
    "/static/logo.svg": ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" '
                         b'width="80" height="20"><rect width="80" height="20"/></svg>'),
    "/favicon.ico": ("image/x-icon", b"\x00" * 300),
}


def article_html(index: int, srcset: bool = False) -> bytes:
    srcset_attr = (f' srcset="/photos/{index}.png?w=640 640w, /photos/{index}.png?w=1200 '
                   f'1200w"' if srcset else "")
    paragraphs = "".join(f"<p>Invented report {index}, paragraph {p}: the council met the "
                         f"farmers about water prices and the road budget again.</p>"
                         for p in range(12))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Story {index}</title><link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/favicon.ico"><script src="/static/vendor.js"></script>
<script src="/static/app.js" defer></script>
<meta property="og:image" content="/photos/{index}.png?w=1200">
</head><body><header><img src="/static/logo.svg" alt="logo"></header>
<main><article class="story"><h1>Story number {index}</h1>
<img src="/photos/{index}.png?w=1200"{srcset_attr} alt="">{paragraphs}</article></main>
</body></html>""".encode()


def listing_html(page: int, pages: int, total: int) -> bytes:
    start = page * PER_LISTING
    links = "".join(f'<li><a href="/news/{i}">Story {i}</a></li>'
                    for i in range(start, min(start + PER_LISTING, total)))
    nxt = f'<a rel="next" href="/latest?page={page + 1}">Next</a>' if page + 1 < pages else ""
    return (f'<html><head><link rel="stylesheet" href="/static/site.css"></head>'
            f"<body><ul>{links}</ul>{nxt}</body></html>").encode()


def serve(port_queue: multiprocessing.Queue, total: int, srcset: bool) -> None:
    pages = (total + PER_LISTING - 1) // PER_LISTING
    articles = {i: article_html(i, srcset) for i in range(total)}
    counts: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = self.path
            if path == "/__counts":
                self._send(200, "application/json", json.dumps(counts).encode())
                return
            if path == "/__reset":
                counts.clear()
                self._send(200, "text/plain", b"ok")
                return
            counts[path] += 1
            bare = path.split("?")[0]
            if path == "/robots.txt":
                self._send(200, "text/plain", b"User-agent: *\nAllow: /\n")
            elif path.startswith("/latest"):
                page = int(path.partition("page=")[2] or 0)
                self._send(200, "text/html; charset=utf-8", listing_html(page, pages, total))
            elif bare.startswith("/news/") and int(bare[6:]) in articles:
                self._send(200, "text/html; charset=utf-8", articles[int(bare[6:])])
            elif bare.startswith("/photos/"):
                self._send(200, "image/png", png(64, 40, int(bare[8:].split(".")[0])))
            elif bare in SHARED:
                ctype, body = SHARED[bare]
                self._send(200, ctype, body)
            else:
                self._send(404, "text/plain", b"")

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


DRIVER = textwrap.dedent("""
    import json, sys, time
    from archive.outlet.config import load_outlet
    from crawler.run import CrawlOptions, run_crawls
    outlet = load_outlet(sys.argv[1])
    store, workers = sys.argv[2], int(sys.argv[3])
    started = time.monotonic()
    reports = run_crawls([outlet], CrawlOptions(store=store, workers=workers,
                                                log_level="ERROR"))
    print(json.dumps({"elapsed": time.monotonic() - started, "reports": reports}, default=str))
""")


def server_counts(base: str, reset: bool = False) -> Counter[str]:
    with urllib.request.urlopen(base + ("/__reset" if reset else "/__counts")) as reply:
        return Counter() if reset else Counter(json.load(reply))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="extraction workers (0: cores)")
    parser.add_argument("--srcset", action="store_true",
                        help="each photo also named in a srcset of two sizes")
    args = parser.parse_args()

    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, args.articles, args.srcset),
                                     daemon=True)
    server.start()
    base = f"http://127.0.0.1:{queue.get(timeout=60)}"
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-resources-"))
    try:
        sizes = " in 2 srcset sizes" if args.srcset else ""
        print(f"site: {args.articles} articles sharing {len(SHARED)} resources, one photo"
              f"{sizes} each, at {base}")
        rates = {}
        for mode in ("none", "all"):
            outlet_file = work / f"bench-{mode}.yaml"
            outlet_file.write_text(
                f"name: bench\nstart_urls: ['{base}/latest']\narticle_urls: ['/news/\\d+$']\n"
                f"follow_urls: ['/latest(\\?page=\\d+)?$']\nlanguage: eng\ndownload_delay: 0\n"
                f"concurrency: {args.concurrency}\nresources: {mode}\n", encoding="utf-8")
            server_counts(base, reset=True)
            proc = subprocess.run([sys.executable, "-c", DRIVER, str(outlet_file),
                                   str(work / f"store-{mode}"), str(args.workers)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit(f"{mode} crawl failed:\n{proc.stderr[-3000:]}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            report = result["reports"][0]
            counts = server_counts(base)
            pages = report["pages"]["fetched"] - report["pages"]["by_kind"].get("robots", 0)
            resource_fetches = sum(v for k, v in counts.items()
                                   if k.split("?")[0] in SHARED or k.startswith("/photos/"))
            shared = {k: v for k, v in counts.items() if k in SHARED}
            rate = pages / result["elapsed"]
            rates[mode] = rate
            responses = report["responses"] / result["elapsed"]
            print(f"{mode:4s}: {pages} pages in {result['elapsed']:.1f} s = {rate:.1f} pages/s "
                  f"({responses:.1f} responses/s); "
                  f"{resource_fetches} resource fetches = {resource_fetches / pages:.2f} per "
                  f"page; report resources: fetched={report['resources']['fetched']} "
                  f"skipped={report['resources']['skipped']['total']} "
                  f"failed={report['resources']['failed']['total']}")
            if shared:
                print(f"      shared resources fetched: {json.dumps(shared, sort_keys=True)}")
        print(f"ratio all/none: {rates['all'] / rates['none']:.2f}")
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    time.sleep(0.1)


if __name__ == "__main__":
    main()
