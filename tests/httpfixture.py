"""A small real HTTP/1.1 server with the edge cases WARC capture must get right, and a crawl of it.

``serve()`` runs the server in a thread on a free 127.0.0.1 port and records every request
it receives (so tests can compare request records with what really arrived).  Routes:

  /robots.txt             allow everything
  /gzip                   HTML gzip-compressed, Content-Encoding: gzip (fixed bytes: mtime 0)
  /cookies                two Set-Cookie headers
  /after-cookies          plain page (fetched after /cookies, so the client sends Cookie)
  /redirect/1             301 -> /redirect/2 -> 302 -> /page?from=redirect
  /page?...               echoes the query string
  /chunked                Transfer-Encoding: chunked, several chunks
  /truncated              Content-Length: 1000, sends 100 bytes, closes the connection
  /big                    BIG_SIZE bytes of HTML (for the size limit)
  /flaky?token=T          503 the first time per token, then 200
  /utf8-header            a header with raw UTF-8 bytes
  /binary                 non-text bytes (image/png)
  /form (POST)            echoes the request body
  anything else           404

``run_crawl()`` crawls it with Scrapy and the capture extension in a subprocess (a Twisted
reactor cannot be restarted inside the pytest process) via ``python -m tests.httpfixture``.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parent.parent
GZIP_HTML = ("<!doctype html><html><head><title>Compressed page</title></head><body>"
             + "<p>An invented paragraph about river levels in a made-up valley.</p>" * 40
             + "</body></html>").encode()
GZIP_BODY = gzip.compress(GZIP_HTML, mtime=0)
CHUNKS = [b"<html><body>", b"<p>first chunk</p>", b"<p>second chunk</p>" * 50, b"</body></html>"]
BIG_SIZE = 300_000
TRUNCATED_DECLARED = 1000
TRUNCATED_SENT = 100
UTF8_VALUE = "café 北".encode()
BINARY = bytes(range(256)) * 20
ROBOTS = b"User-agent: *\nAllow: /\n"


@dataclass
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class FixtureServer:
    base: str
    received: list[Received] = field(default_factory=list)
    flaky_seen: set[str] = field(default_factory=set)

    def requests_for(self, target: str) -> list[Received]:
        return [r for r in self.received if r.target == target]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fixture"
    fixture: FixtureServer  # set on the per-server subclass

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _record(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.fixture.received.append(Received(self.command, self.path,
                                              list(self.headers.items()), body))
        return body

    def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = (),
              content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        body = self._record()
        self._send(200, b"<html><body>posted " + body + b"</body></html>")

    def do_GET(self) -> None:  # noqa: N802
        self._record()
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/robots.txt":
            self._send(200, ROBOTS, content_type="text/plain")
        elif path == "/gzip":
            self._send(200, GZIP_BODY, [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")])
        elif path == "/cookies":
            self._send(200, b"<html><body>cookies set</body></html>",
                       [("Set-Cookie", "first=one; Path=/"), ("Set-Cookie", "second=two; Path=/")])
        elif path == "/redirect/1":
            self._send(301, b"moved", [("Location", "/redirect/2")])
        elif path == "/redirect/2":
            self._send(302, b"found", [("Location", "/page?from=redirect")])
        elif path in ("/page", "/after-cookies"):
            self._send(200, f"<html><body>query {parts.query}</body></html>".encode())
        elif path == "/chunked":
            self._chunked()
        elif path == "/truncated":
            self._truncated()
        elif path == "/big":
            self._send(200, b"<html><body>" + b"x" * (BIG_SIZE - 28) + b"</body></html>")
        elif path == "/flaky":
            token = parse_qs(parts.query).get("token", [""])[0]
            if token in self.fixture.flaky_seen:
                self._send(200, b"<html><body>recovered</body></html>")
            else:
                self.fixture.flaky_seen.add(token)
                self._send(503, b"try again", [("Retry-After", "0")])
        elif path == "/utf8-header":
            # send_header() would encode latin-1 strictly: put the raw bytes in directly
            self.send_response(200)
            self._headers_buffer.append(b"X-Title: " + UTF8_VALUE + b"\r\n")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        elif path == "/binary":
            self._send(200, BINARY, content_type="image/png")
        else:
            self._send(404, b"<html><body>not here</body></html>")

    def _chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in CHUNKS:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _truncated(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(TRUNCATED_DECLARED))
        self.end_headers()
        self.wfile.write(b"<" * TRUNCATED_SENT)
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def serve() -> Iterator[FixtureServer]:
    """The fixture server on a free loopback port, for the duration of the block."""
    fixture = FixtureServer(base="")
    handler = type("Handler", (_Handler,), {"fixture": fixture})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fixture.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fixture
    finally:
        server.shutdown()
        server.server_close()


# ---- the crawl -------------------------------------------------------------------------

PAGE_LIMIT = 100_000  # the outlet's max_page_bytes in the test crawl (BIG_SIZE is above it)
AUTH_VALUE = "Basic dXNlcjpzZWNyZXQ="


def crawl_plan(base: str) -> list[dict]:
    """What the test spider requests (``then``: follow-ups requested after the response)."""
    return [
        {"url": f"{base}/gzip", "kind": "article"},
        {"url": f"{base}/cookies", "kind": "front", "then": [f"{base}/after-cookies"]},
        {"url": f"{base}/redirect/1", "kind": "article"},
        {"url": f"{base}/page?a=1&b=two", "kind": "listing"},
        {"url": f"{base}/chunked"},
        {"url": f"{base}/truncated", "kind": "article"},
        {"url": f"{base}/big", "kind": "article"},
        {"url": f"{base}/flaky?token=t1", "kind": "article"},
        {"url": f"{base}/utf8-header"},
        {"url": f"{base}/binary"},
        {"url": f"{base}/missing", "kind": "article"},
        {"url": f"{base}/page?auth=1", "headers": {"Authorization": AUTH_VALUE}},
        {"url": f"{base}/form", "method": "POST", "body": "q=river&page=2"},
    ]


def run_crawl(store: Path, base: str, warc_max_size: int = 20_000, timeout: float = 120
              ) -> tuple[list[dict], dict]:
    """Crawl the fixture at ``base`` into ``store``; return (items, stats) of the crawl."""
    store.mkdir(parents=True, exist_ok=True)
    config = {"store": str(store), "plan": crawl_plan(base), "warc_max_size": warc_max_size}
    config_path = store.parent / f"{store.name}-crawl.json"
    config_path.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "tests.httpfixture", str(config_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"test crawl failed ({done.returncode}):\n{done.stderr[-4000:]}")
    items = [json.loads(line) for line in (store.parent / f"{store.name}-items.jsonl")
             .read_text().splitlines() if line.strip()]
    stats = json.loads((store.parent / f"{store.name}-stats.json").read_text())
    return items, stats


def _crawl_main(config_path: str) -> None:
    """Run in the subprocess: one CrawlerProcess with the capture extension enabled."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from archive.outlet.config import OutletConfig

    config = json.loads(Path(config_path).read_text())
    store = Path(config["store"])
    items_path = store.parent / f"{store.name}-items.jsonl"
    stats_path = store.parent / f"{store.name}-stats.json"
    plan = config["plan"]

    class CaptureTestSpider(scrapy.Spider):
        name = "capturetest"

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.outlet = OutletConfig(name="fixture", start_urls=[plan[0]["url"]],
                                       article_urls=[r"/page"], max_page_bytes=PAGE_LIMIT)

        @classmethod
        def from_crawler(cls, crawler, *args, **kwargs):
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.dump_stats, signal=scrapy.signals.spider_closed)
            return spider

        async def start(self):
            for entry in plan:
                yield self.request_for(entry)

        def request_for(self, entry: dict) -> scrapy.Request:
            return scrapy.Request(
                entry["url"], method=entry.get("method", "GET"),
                body=entry.get("body", "").encode(), headers=entry.get("headers"),
                meta={"kind": entry.get("kind"), "then": entry.get("then", []),
                      "handle_httpstatus_list": [404]},
                callback=self.parse, dont_filter=True)

        def parse(self, response):
            record = response.meta.get("warc_record")
            yield {"url": response.url, "status": response.status, "flags": response.flags,
                   "requested": response.request.url,
                   "warc_record": record.to_dict() if record else None}
            for url in response.meta.get("then", []):
                yield self.request_for({"url": url})

        def dump_stats(self, spider, reason):
            stats = {k: v for k, v in self.crawler.stats.get_stats().items()
                     if isinstance(v, (int, float, str))}
            stats["finish_reason"] = reason
            stats_path.write_text(json.dumps(stats))

    process = CrawlerProcess(settings={
        "EXTENSIONS": {"crawler.capture.WarcCaptureExtension": 500},
        "NEWSARCHIVE_STORE": str(store),
        "NEWSARCHIVE_WARC_MAX_SIZE": config["warc_max_size"],
        "NEWSARCHIVE_CONTACT_URL": "http://example.invalid/contact",
        "USER_AGENT": "newsarchive-test/1.0 (+http://example.invalid/contact)",
        "DEFAULT_REQUEST_HEADERS": {"Accept": "text/html,*/*;q=0.8", "Accept-Language": "en",
                                    "Accept-Encoding": "gzip, deflate"},
        "DOWNLOAD_MAXSIZE": 0,
        "DOWNLOAD_FAIL_ON_DATALOSS": False,
        "ROBOTSTXT_OBEY": True,
        "RETRY_TIMES": 2,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "FEEDS": {str(items_path): {"format": "jsonlines", "overwrite": True}},
    })
    process.crawl(CaptureTestSpider)
    process.start()


if __name__ == "__main__":
    _crawl_main(sys.argv[1])
