"""The generated news site the crawl benchmarks serve, and the crawl they run against it.

bench/crawl.py and bench/resources.py both crawl N article pages behind paginated
``/latest`` listings, served from a separate process (so the server does not share the
crawler's CPU time or GIL), and both run each crawl in a fresh interpreter (so one run's
Twisted reactor and caches cannot colour the next).  This module is that shared half; each
benchmark keeps only what its site serves and what it measures.

The server counts every request by path (``/__counts`` answers the tally as JSON,
``/__reset`` clears it), which is how a benchmark tells how often each URL was fetched.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PER_LISTING = 50

# what a site answers for a path: (status, content type, body), or None for a 404
Route = Callable[[str], "tuple[int, str, bytes] | None"]


def listing_pages(total: int) -> int:
    """How many ``/latest?page=N`` listings it takes to link ``total`` articles."""
    return (total + PER_LISTING - 1) // PER_LISTING


def listing_html(page: int, total: int, head: str = "") -> bytes:
    """Listing ``page``: links to its PER_LISTING articles and a rel=next to the next one."""
    start = page * PER_LISTING
    links = "".join(f'<li><a href="/news/{i}">Story {i}</a></li>'
                    for i in range(start, min(start + PER_LISTING, total)))
    nxt = (f'<a rel="next" href="/latest?page={page + 1}">Next</a>'
           if page + 1 < listing_pages(total) else "")
    return (f"<html>{f'<head>{head}</head>' if head else ''}"
            f"<body><ul>{links}</ul>{nxt}</body></html>").encode()


def listing_page_number(path: str) -> int:
    """The N of ``/latest?page=N`` (0 for a bare ``/latest``)."""
    return int(path.partition("page=")[2] or 0)


def _serve(port_queue: multiprocessing.Queue, make_route: Callable[..., Route],
           args: tuple) -> None:
    route = make_route(*args)
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
            self._send(*(route(path) or (404, "text/plain", b"")))

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(server.server_address[1])
    server.serve_forever()


class SiteProcess:
    """A site served from its own process; ``make_route(*args)`` is called in that process.

    ``make_route`` must be a module-level function (it crosses the process boundary) and
    builds the site once, returning the per-request lookup.
    """

    def __init__(self, make_route: Callable[..., Route], *args: object):
        queue: multiprocessing.Queue = multiprocessing.Queue()
        self._process = multiprocessing.Process(target=_serve, args=(queue, make_route, args),
                                                daemon=True)
        self._process.start()
        self.base = f"http://127.0.0.1:{queue.get(timeout=60)}"

    def counts(self) -> Counter[str]:
        """Requests per path since the last reset."""
        with urllib.request.urlopen(self.base + "/__counts") as reply:
            return Counter(json.load(reply))

    def reset(self) -> None:
        with urllib.request.urlopen(self.base + "/__reset") as reply:
            reply.read()

    def stop(self) -> None:
        self._process.terminate()
        time.sleep(0.1)


def write_outlet(path: Path, base: str, concurrency: int, extra: str = "") -> Path:
    """The bench outlet: start at /latest, articles are /news/N, follow the listings."""
    path.write_text(
        f"name: bench\nstart_urls: ['{base}/latest']\narticle_urls: ['/news/\\d+$']\n"
        f"follow_urls: ['/latest(\\?page=\\d+)?$']\nlanguage: eng\ndownload_delay: 0\n"
        f"concurrency: {concurrency}\n{extra}", encoding="utf-8")
    return path


DRIVER = textwrap.dedent("""
    import json, sys, time
    from archive.outlet.config import load_outlet
    from crawler.run import CrawlOptions, run_crawls
    outlet = load_outlet(sys.argv[1])
    store, workers, extra = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    started = time.monotonic()
    reports = run_crawls([outlet], CrawlOptions(store=store, workers=workers,
                                                log_level="ERROR", extra_settings=extra))
    print(json.dumps({"elapsed": time.monotonic() - started, "reports": reports}, default=str))
""")


def run_crawl(label: str, outlet_file: Path, store: Path, workers: int,
              extra_settings: dict | None = None) -> dict:
    """One crawl in a fresh interpreter: ``{"elapsed": seconds, "reports": [...]}``.

    Exits the benchmark with the crawl's stderr when it fails or writes no report, since a
    figure from a broken run would be meaningless.
    """
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(outlet_file), str(store),
                           str(workers), json.dumps(extra_settings or {})],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{label} crawl failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if "responses" not in result["reports"][0]:
        sys.exit(f"{label} crawl wrote no report:\n{result}\n{proc.stderr[-3000:]}")
    return result
