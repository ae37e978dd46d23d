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
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

from sitehost import Route, SiteProcess, listing_html, listing_page_number, run_crawl, write_outlet


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


def site(total: int, srcset: bool) -> Route:
    """The site's routes (built in the server process): listings, articles, resources."""
    articles = {i: article_html(i, srcset) for i in range(total)}
    html = "text/html; charset=utf-8"
    stylesheet = '<link rel="stylesheet" href="/static/site.css">'

    def route(path: str) -> tuple[int, str, bytes] | None:
        bare = path.split("?")[0]
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if path.startswith("/latest"):
            return 200, html, listing_html(listing_page_number(path), total, stylesheet)
        if bare.startswith("/news/") and int(bare[6:]) in articles:
            return 200, html, articles[int(bare[6:])]
        if bare.startswith("/photos/"):
            return 200, "image/png", png(64, 40, int(bare[8:].split(".")[0]))
        if bare in SHARED:
            ctype, body = SHARED[bare]
            return 200, ctype, body
        return None

    return route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="extraction workers (0: cores)")
    parser.add_argument("--srcset", action="store_true",
                        help="each photo also named in a srcset of two sizes")
    args = parser.parse_args()

    server = SiteProcess(site, args.articles, args.srcset)
    base = server.base
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-resources-"))
    try:
        sizes = " in 2 srcset sizes" if args.srcset else ""
        print(f"site: {args.articles} articles sharing {len(SHARED)} resources, one photo"
              f"{sizes} each, at {base}")
        rates = {}
        for mode in ("none", "all"):
            outlet_file = write_outlet(work / f"bench-{mode}.yaml", base, args.concurrency,
                                       f"resources: {mode}\n")
            server.reset()
            result = run_crawl(mode, outlet_file, work / f"store-{mode}", args.workers)
            report = result["reports"][0]
            counts = server.counts()
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
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
