"""Scale-out: 1 versus 2 crawl workers on one Redis frontier, and the seen-set's memory.

Serves 8 generated outlets, each on its own loopback address (127.0.0.2 ... 127.0.0.9:
politeness is per host name, so separate ports on 127.0.0.1 would be one host), each a
front page linking N articles, with a per-host delay.  Every run uses a fresh Redis prefix
and store; the workers are real ``newsarchive crawl o1.yaml ... o8.yaml --redis`` processes.
Two regimes:

  polite  - the per-host delay is the limit (the aggregate allowed rate is well within one
            worker's capacity).  A second worker cannot make it faster without hitting
            the hosts harder than their delay allows, so the expected speed-up is ~1.0;
            this run checks that politeness holds across workers (min gap per host).
  cpu     - each worker is pinned to one CPU core (standing in for one machine) and the
            delay is small, so one worker's CPU is the limit: this is the case scale-out
            is for (hundreds of outlets, catch-up crawls).  Expected speed-up: ~2.

pages/s are measured at the sites, from the first request to the last (process start-up
excluded; the end-to-end wall time is printed as well).

The seen-set: 1,000,000 fingerprints stored (a) as scrapy-redis does (40-hex strings in
one set) and (b) as crawler.distributed.seen.BucketDupeFilter does (64-bit integers in
bucketed intsets); Redis bytes per URL from INFO used_memory, on a private redis-server.

  python bench/distributed.py [--regime polite|cpu|both] [--articles 40] [--delay 0.25]
                              [--seen 1000000] [--skip-seen] [--skip-crawl]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.redis_server import delete_prefix, private_redis, redis_for_tests  # noqa: E402

OUTLETS = 8
WORDS = ("the minister said council region talks ceasefire border villages water budget "
         "parliament election farmers city province officials reported agreement road "
         "hospital students market prices report committee announced weekly negotiations "
         "delegation capital northern southern investment electricity summer winter").split()


# ---- the sites ------------------------------------------------------------------------------


def _article(site: int, index: int) -> bytes:
    rng = random.Random(site * 100_000 + index)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 70))).capitalize()
        + ".</p>" for _ in range(6))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Story {site}-{index}</title>"
            f"<meta property=\"article:published_time\" content=\"2026-11-01T10:00:00Z\">"
            f"</head><body><header><a href=\"/\">Home</a></header><main><article>"
            f"<h1>Story {site}-{index}</h1><p class=\"byline\">By Staff Writer</p>"
            f"{paragraphs}</article></main><footer>Bench outlet {site}</footer>"
            f"</body></html>").encode()


class Site:
    """One outlet on its own loopback address; logs the time of every request."""

    def __init__(self, number: int, articles: int):
        self.number = number
        pages = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
        links = "".join(f'<li><a href="/news/{i}">Story {i}</a></li>' for i in range(articles))
        pages["/"] = ((f"<!doctype html><html><head><title>Outlet {number}</title></head>"
                       f"<body><ul>{links}</ul></body></html>").encode(), "text/html")
        for i in range(articles):
            pages[f"/news/{i}"] = (_article(number, i), "text/html; charset=utf-8")
        self.pages = pages
        self.log: list[tuple[float, str]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                site.log.append((time.monotonic(), self.path))
                body, ctype = site.pages.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if self.path in site.pages else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((f"127.0.0.{number + 2}", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.{number + 2}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def outlet_yaml(self, path: Path, delay: float, concurrency: int) -> Path:
        path.write_text(f"""name: bench{self.number}
start_urls: [{self.url}/]
article_urls: ['/news/\\d+$']
language: eng
download_delay: {delay}
concurrency: {concurrency}
recheck: off
""", encoding="utf-8")
        return path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- one crawl ------------------------------------------------------------------------------


def crawl(sites: list[Site], outlets: list[Path], workers: int, redis_url: str, work: Path,
          pin: bool) -> dict:
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    shared = f"{redis_url}?prefix={prefix}"
    store = work / f"store-{workers}-{prefix}"
    for site in sites:
        site.log.clear()
    cpus = sorted(os.sched_getaffinity(0))
    procs = []
    started = time.monotonic()
    for n in range(max(1, workers)):
        cpu = {cpus[n % len(cpus)]} if pin else None
        command = [sys.executable, "-m", "crawler.cli", "crawl", *map(str, outlets),
                   "--store", str(store), "--workers", "1",
                   "--report", str(work / f"{prefix}-w{n}.json"), "-q"]
        if workers:  # 0: the embedded single-process crawl, for comparison
            command += ["--redis", shared, "--worker-id", f"w{n}"]
        procs.append(subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            preexec_fn=(lambda c=cpu: os.sched_setaffinity(0, c)) if cpu else None))
    try:
        errors = [p.communicate(timeout=600)[1] for p in procs]
    finally:
        for proc in procs:  # never leave a worker behind (a timeout, Ctrl-C)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - started
    delete_prefix(redis_url, prefix)
    failed = [e[-2000:] for p, e in zip(procs, errors, strict=True) if p.returncode != 0]
    if failed:
        raise SystemExit(f"a worker failed: {failed[0]}")
    articles = 0
    for n in range(max(1, workers)):
        reports = json.loads((work / f"{prefix}-w{n}.json").read_text())
        reports = reports if isinstance(reports, list) else [reports]
        articles += sum(r["articles"] for r in reports)
    times = sorted(t for site in sites for t, _ in site.log)
    pages = len(times)
    span = times[-1] - times[0]
    gaps = sorted(b[0] - a[0] for site in sites
                  for a, b in zip(site.log, site.log[1:], strict=False))
    return {"workers": workers, "pages": pages, "articles": articles, "span": span,
            "rate": pages / span, "wall": wall, "min_gap": gaps[0], "gaps": gaps}


def _share(gaps: list[float], delay: float) -> float:
    return sum(1 for g in gaps if g < delay) / len(gaps) if gaps else 0.0


def regime(name: str, articles: int, delay: float, concurrency: int, pin: bool,
           redis_url: str, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        work = Path(tmp)
        sites = [Site(n, articles) for n in range(OUTLETS)]
        try:
            outlets = [s.outlet_yaml(work / f"bench{s.number}.yaml", delay, concurrency)
                       for s in sites]
            polite_rate = OUTLETS / delay if delay else float("inf")
            print(f"\n[{name}] {OUTLETS} outlets x {articles + 2} pages, delay {delay}s, "
                  f"concurrency {concurrency}, {'one CPU per worker' if pin else 'CPUs shared'}"
                  f"; per-host delays allow {polite_rate:.0f} pages/s in all")
            results: dict[int, list[dict]] = {0: [], 1: [], 2: []}
            for _ in range(repeat):
                for workers in (0, 1, 2):
                    result = crawl(sites, outlets, workers, redis_url, work, pin)
                    results[workers].append(result)
                    label = ("no Redis " if workers == 0 else
                             f"{workers} worker{'s' if workers > 1 else ' '}")
                    print(f"  {label}: "
                          f"{result['pages']} pages ({result['articles']} articles) in "
                          f"{result['span']:.2f}s = {result['rate']:.1f} pages/s "
                          f"(wall {result['wall']:.1f}s); gaps between requests to one "
                          f"host: min {result['min_gap'] * 1000:.0f} ms, "
                          f"{_share(result['gaps'], delay):.1%} below the delay")
            one = statistics.median(r["rate"] for r in results[1])
            two = statistics.median(r["rate"] for r in results[2])
            print(f"  speed-up 2 vs 1 worker: {two / one:.2f}x (median of {repeat})")
        finally:
            for site in sites:
                site.stop()


# ---- seen-set memory ------------------------------------------------------------------------


def seen_memory(count: int) -> None:
    import redis

    from crawler.distributed.seen import bucket_member

    print(f"\n[seen-set] {count:,} request fingerprints, private redis-server")
    with private_redis() as url:
        client = redis.Redis.from_url(url)

        def used() -> int:
            return int(client.info("memory")["used_memory"])

        def fingerprints():
            for n in range(count):
                yield hashlib.sha1(f"https://news.example.org/story/{n}".encode()).hexdigest()

        variants = [("scrapy-redis set of 40-hex strings", None)]
        variants += [(f"bucketed intsets, {b} buckets", b) for b in (4096, 8192)]
        for label, buckets in variants:
            client.flushdb()
            before = used()
            pipe = client.pipeline(transaction=False)
            for n, fp in enumerate(fingerprints(), 1):
                if buckets is None:
                    pipe.sadd("seen", fp)
                else:
                    bucket, member = bucket_member(fp, buckets)
                    pipe.sadd(f"seen:{bucket}", member)
                if n % 10_000 == 0:
                    pipe.execute()
            pipe.execute()
            grown = used() - before
            encodings = ""
            if buckets:
                sample = {client.object("encoding", f"seen:{b}") for b in range(0, buckets, 97)}
                encodings = f", encodings {sorted(e.decode() for e in sample)}"
            print(f"  {label}: {grown / 1e6:.1f} MB = {grown / count:.1f} bytes per URL"
                  f"{encodings}")
        client.flushdb()
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regime", choices=("polite", "cpu", "both"), default="both")
    parser.add_argument("--articles", type=int, default=40, help="articles per outlet")
    parser.add_argument("--delay", type=float, default=0.25,
                        help="per-host delay of the polite regime (s)")
    parser.add_argument("--cpu-delay", type=float, default=0.02,
                        help="per-host delay of the cpu regime (s)")
    parser.add_argument("--cpu-articles", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seen", type=int, default=1_000_000)
    parser.add_argument("--skip-seen", action="store_true")
    parser.add_argument("--skip-crawl", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    if not args.skip_crawl:
        with redis_for_tests() as redis_url:
            if args.regime in ("polite", "both"):
                regime("polite", args.articles, args.delay, 1, False, redis_url, args.repeat)
            if args.regime in ("cpu", "both"):
                regime("cpu", args.cpu_articles, args.cpu_delay, 2, True, redis_url,
                       args.repeat)
    if not args.skip_seen:
        seen_memory(args.seen)


if __name__ == "__main__":
    main()
