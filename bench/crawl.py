"""Crawl throughput: bare Scrapy versus the full newsarchive pipeline, on one local site.

Generates a site of N article pages (~60 KB each, default 2,000) with paginated section
listings, serves it from a separate process, then crawls it twice with the same settings
(no delay, same concurrency, robots.txt on):

  bare     - NewsSpider discovery only: no WARC capture, no extraction, no corpus
  capture  - discovery + WARC capture + state + indexes (what archiving itself costs)
  full     - the real pipeline: capture + extraction in worker processes + corpus

and prints pages/s for each and the ratio full/bare.  Usage:

  python bench/crawl.py [--articles 2000] [--concurrency 16] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = ("the minister said council region talks ceasefire border villages water budget "
         "parliament election farmers city province officials reported agreement road "
         "hospital students market prices report committee announced weekly negotiations "
         "delegation capital northern southern investment electricity summer winter").split()
PER_LISTING = 50


def paragraph(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def article_html(index: int) -> bytes:
    rng = random.Random(index)
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(40))
    related = "".join(f'<li><a href="/news/{(index + i) % 10000}">Related story {i}</a></li>'
                      for i in range(1, 8))
    body = "".join(f"<p>{paragraph(rng, rng.randint(60, 110))}</p>" for _ in range(14))
    # what makes real article pages heavy: inline JSON state, scripts and link-rich furniture
    state = ",".join(f'{{"id":{i},"slot":"promo-{i}","text":"{paragraph(rng, 10)}"}}'
                     for i in range(400))
    filler = (f'<script type="application/json" id="state">[{state}]</script>'
              + "".join(f'<div class="promo"><a href="/news/{(index * 7 + i) % 10000}">'
                        f"{paragraph(rng, 6)}</a></div>" for i in range(40)))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Story {index}</title><meta property="og:title" content="Story {index}">
<meta property="article:published_time" content="2026-11-{1 + index % 28:02d}T10:00:00Z">
</head><body><header><nav><ul>{nav}</ul></nav></header>
<main><article><h1>Story number {index}</h1><p class="byline">By Staff Writer</p>
{body}</article><aside><ul>{related}</ul></aside></main>
<footer>{filler}</footer></body></html>"""
    return page.encode("utf-8")


def listing_html(page: int, pages: int, total: int) -> bytes:
    start = page * PER_LISTING
    links = "".join(f'<li><a href="/news/{i}">Story {i}</a></li>'
                    for i in range(start, min(start + PER_LISTING, total)))
    nxt = f'<a rel="next" href="/latest?page={page + 1}">Next</a>' if page + 1 < pages else ""
    return f"<html><body><ul>{links}</ul>{nxt}</body></html>".encode()


def serve(port_queue: multiprocessing.Queue, total: int) -> None:
    pages = (total + PER_LISTING - 1) // PER_LISTING
    cache = {i: article_html(i) for i in range(total)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path
            if path == "/robots.txt":
                body, ctype = b"User-agent: *\nDisallow: /private/\n", "text/plain"
            elif path.startswith("/latest"):
                page = int(path.partition("page=")[2] or 0)
                body, ctype = listing_html(page, pages, total), "text/html; charset=utf-8"
            elif path.startswith("/news/") and int(path[6:]) in cache:
                body, ctype = cache[int(path[6:])], "text/html; charset=utf-8"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
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
    mode, store, workers = sys.argv[2], sys.argv[3], int(sys.argv[4])
    extra = {}
    if mode == "bare":
        extra = {"EXTENSIONS": {"crawler.capture.WarcCaptureExtension": None,
                                "crawler.report.RunReportExtension": 900,
                                "crawler.progress.ProgressExtension": None},
                 "ITEM_PIPELINES": {}, "NEWSARCHIVE_STATE": "off"}
    elif mode == "capture":
        extra = {"ITEM_PIPELINES": {}}
    started = time.monotonic()
    reports = run_crawls([outlet], CrawlOptions(store=store, workers=workers,
                                                log_level="ERROR", extra_settings=extra))
    elapsed = time.monotonic() - started
    print(json.dumps({"elapsed": elapsed, "reports": reports}, default=str))
""")


def run_mode(mode: str, outlet_file: Path, store: Path, workers: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(outlet_file), mode, str(store),
                           str(workers)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{mode} crawl failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "responses" not in result["reports"][0]:
        sys.exit(f"{mode} crawl wrote no report:\n{result}\n{proc.stderr[-3000:]}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="extraction workers (0: cores)")
    args = parser.parse_args()

    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, args.articles), daemon=True)
    server.start()
    port = queue.get(timeout=60)
    base = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    try:
        outlet_file = work / "bench.yaml"
        outlet_file.write_text(
            f"name: bench\nstart_urls: ['{base}/latest']\narticle_urls: ['/news/\\d+$']\n"
            f"follow_urls: ['/latest(\\?page=\\d+)?$']\nlanguage: eng\ndownload_delay: 0\n"
            f"concurrency: {args.concurrency}\n", encoding="utf-8")
        page_bytes = len(article_html(1))
        print(f"site: {args.articles} articles of ~{page_bytes / 1000:.0f} KB at {base}")
        results = {}
        for mode in ("bare", "capture", "full"):
            store = work / f"store-{mode}"
            result = run_mode(mode, outlet_file, store, args.workers)
            pages = result["reports"][0]["responses"]
            rate = pages / result["elapsed"]
            results[mode] = rate
            extra = ""
            if mode == "full":
                report = result["reports"][0]
                extra = (f", {report['articles']} articles extracted, "
                         f"{report['bytes'] / 1e6:.0f} MB archived")
            print(f"{mode:5s}: {pages} responses in {result['elapsed']:.1f} s "
                  f"= {rate:.1f} pages/s{extra}")
        print(f"ratio capture/bare: {results['capture'] / results['bare']:.2f}")
        print(f"ratio full/bare: {results['full'] / results['bare']:.2f} (target >= 0.8)")
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    time.sleep(0.1)


if __name__ == "__main__":
    main()
