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
import random
import shutil
import tempfile
from pathlib import Path

from sitehost import Route, SiteProcess, listing_html, listing_page_number, run_crawl, write_outlet

WORDS = ("the minister said council region talks ceasefire border villages water budget "
         "parliament election farmers city province officials reported agreement road "
         "hospital students market prices report committee announced weekly negotiations "
         "delegation capital northern southern investment electricity summer winter").split()


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


def site(total: int) -> Route:
    """The site's routes (built in the server process): robots.txt, listings, articles."""
    cache = {i: article_html(i) for i in range(total)}
    html = "text/html; charset=utf-8"

    def route(path: str) -> tuple[int, str, bytes] | None:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n"
        if path.startswith("/latest"):
            return 200, html, listing_html(listing_page_number(path), total)
        if path.startswith("/news/") and int(path[6:]) in cache:
            return 200, html, cache[int(path[6:])]
        return None

    return route


# bare: discovery only (no capture, no extraction, no state); capture: no extraction
MODE_SETTINGS = {
    "bare": {"EXTENSIONS": {"crawler.capture.WarcCaptureExtension": None,
                            "crawler.report.RunReportExtension": 900,
                            "crawler.progress.ProgressExtension": None},
             "ITEM_PIPELINES": {}, "NEWSARCHIVE_STATE": "off"},
    "capture": {"ITEM_PIPELINES": {}},
    "full": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="extraction workers (0: cores)")
    args = parser.parse_args()

    server = SiteProcess(site, args.articles)
    base = server.base
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-"))
    try:
        outlet_file = write_outlet(work / "bench.yaml", base, args.concurrency)
        page_bytes = len(article_html(1))
        print(f"site: {args.articles} articles of ~{page_bytes / 1000:.0f} KB at {base}")
        results = {}
        for mode in ("bare", "capture", "full"):
            store = work / f"store-{mode}"
            result = run_crawl(mode, outlet_file, store, args.workers, MODE_SETTINGS[mode])
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
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
