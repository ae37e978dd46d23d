"""A hostile news site for tests: bombs, rate limits, broken bodies, robots tricks, traps.

``HostileSite`` is a real HTTP/1.1 server on 127.0.0.1 (a thread), logging every request
with its arrival time so tests can measure retry timings from the server's side.  Every
route answers within a bounded time and the site never talks to anything but loopback.

Routes (``N`` any number):
  /robots.txt          ``robots`` given to the constructor (default: Disallow: /private)
  /                    the front: links given to the constructor (``links``)
  /news/N              an article of invented text
  /limited/N           429 with ``Retry-After: retry_after`` the first time, then an article
  /busy/N              503 (no Retry-After) while the site has answered fewer than
                       ``busy_first`` 503s, then an article
  /corrupt-once/N      a 200 gzip body with garbled bytes the first time, then a good one
  /corrupt/N           always the garbled gzip body
  /cut-once/N          Content-Length says more than is sent (connection closed) the first
                       time, then the whole article
  /bomb/gzip           BOMB_GZIP: Content-Encoding: gzip inflating to 1 GiB of zeros
  /bomb/deflate        BOMB_DEFLATE: Content-Encoding: deflate inflating to 256 MiB
  /sitemap-bomb.xml    a sitemap with Content-Encoding: gzip inflating to 1 GiB
  /sitemap-bomb.xml.gz a gzip file (no Content-Encoding) inflating to 1 GiB
  /go/creds            302 to an article URL with ``user:CREDENTIAL@`` in it
  /go/badport          302 to a URL whose port is 99999
  /go/PATH             302 to the URL in the query string (``?to=``)
  anything under /private, or /trap/*: the trap (counted in ``trap_hits``)

``RebindingResolver`` is a DNS resolver the test controls (``NEWSARCHIVE_DNS_RESOLVER``):
names under ``.rebind.test`` resolve to 127.0.0.1, every other name as usual.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from twisted.internet import defer

from crawler.resolver import GuardedResolver

TRAP_SECRET = b"TRAP-SECRET-7f3a: internal admin page"
CREDENTIAL = "hunter2secret"  # the password in URLs with credentials
GIB = 1024 * 1024 * 1024
PARAGRAPH = ("The invented river council of Lower Vale met on a grey morning to argue about "
             "bridges, ferries and the price of gravel, and agreed on nothing but the date of "
             "the next meeting, which several members promised to attend on time.")


@cache
def zero_bomb(size: int, gzip_wrapper: bool) -> bytes:
    """``size`` zero bytes compressed (gzip or zlib-wrapped deflate), built in steps."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31 if gzip_wrapper else 15)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def article_html(title: str, paragraphs: int = 6) -> bytes:
    body = "".join(f"<p>{PARAGRAPH} ({title}, part {i + 1}.)</p>" for i in range(paragraphs))
    return (f"<!doctype html><html lang='en'><head><title>{title}</title>"
            f"<meta property='og:title' content='{title}'></head><body><article>"
            f"<h1>{title}</h1>{body}</article></body></html>").encode()


def garbled(data: bytes) -> bytes:
    """A gzip stream whose middle is overwritten: it does not inflate."""
    middle = len(data) // 2
    return data[:20] + b"\xff" * max(8, middle - 20) + data[middle:]


@dataclass(frozen=True)
class Hit:
    path: str
    host: str
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]


@dataclass
class HostileSite:
    links: list[str] = field(default_factory=list)  # hrefs on the front page
    robots: str = "User-agent: *\nDisallow: /private\n"
    retry_after: str = "3"
    busy_first: int = 3
    sitemap_links: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    busy_served: int = 0
    base: str = ""
    port: int = 0

    def __enter__(self) -> HostileSite:
        site = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with lock:
                    site.hits.append(Hit(self.path, self.headers.get("Host", ""),
                                         time.monotonic(), dict(self.headers.items())))
                    count = site.seen[self.path] = site.seen.get(self.path, 0) + 1
                site.answer(self, count, lock)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- what tests read -------------------------------------------------------------

    def trap_hits(self) -> list[Hit]:
        return [h for h in self.hits if is_trap(h.path)]

    def times_of(self, path: str) -> list[float]:
        return [h.at for h in self.hits if h.path == path]

    def count(self, path: str) -> int:
        return self.seen.get(path, 0)

    # ---- answers ---------------------------------------------------------------------

    def answer(self, handler: BaseHTTPRequestHandler, count: int, lock) -> None:
        path = urlsplit(handler.path).path
        query = parse_qs(urlsplit(handler.path).query)
        if is_trap(handler.path):
            return send(handler, 200, TRAP_SECRET)
        if path == "/robots.txt":
            return send(handler, 200, self.robots.encode(), "text/plain")
        if path == "/":
            links = "".join(f"<li><a href='{href}'>link {i}</a></li>"
                            for i, href in enumerate(self.links))
            return send(handler, 200, f"<html><body><ul>{links}</ul></body></html>".encode())
        if path.startswith("/news/"):
            return send(handler, 200, article_html(f"Article {path}"))
        if path.startswith("/limited/"):
            if count == 1:
                return send(handler, 429, b"slow down", headers=[
                    ("Retry-After", self.retry_after)])
            return send(handler, 200, article_html(f"Limited {path}"))
        if path.startswith("/busy/"):
            with lock:
                busy = self.busy_served < self.busy_first
                self.busy_served += busy
            if busy:
                return send(handler, 503, b"busy")
            return send(handler, 200, article_html(f"Busy {path}"))
        if path.startswith(("/corrupt-once/", "/corrupt/")):
            good = gzip.compress(article_html(f"Corrupt {path}"), mtime=0)
            body = good if path.startswith("/corrupt-once/") and count > 1 else garbled(good)
            return send(handler, 200, body, headers=[("Content-Encoding", "gzip")])
        if path.startswith("/cut-once/"):
            html = article_html(f"Cut {path}")
            if count > 1:
                return send(handler, 200, html)
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(html)))
            handler.end_headers()
            handler.wfile.write(html[:200])
            handler.wfile.flush()
            handler.close_connection = True
            return None
        if path == "/bomb/gzip":
            return send(handler, 200, zero_bomb(GIB, True), headers=[("Content-Encoding", "gzip")])
        if path == "/bomb/deflate":
            return send(handler, 200, zero_bomb(GIB // 4, False),
                        headers=[("Content-Encoding", "deflate")])
        if path == "/sitemap-bomb.xml.gz":  # a gzip file, no Content-Encoding
            return send(handler, 200, zero_bomb(GIB, True), "application/gzip")
        if path == "/sitemap-bomb.xml":
            return send(handler, 200, zero_bomb(GIB, True), "application/xml",
                        headers=[("Content-Encoding", "gzip")])
        if path == "/go/creds":
            target = f"http://user:{CREDENTIAL}@127.0.0.1:{self.port}/news/7"
            return send(handler, 302, b"moved", headers=[("Location", target)])
        if path == "/go/badport":
            return send(handler, 302, b"moved",
                        headers=[("Location", "http://127.0.0.1:99999/news/8")])
        if path.startswith("/go/"):
            return send(handler, 302, b"moved", headers=[("Location", query["to"][0])])
        return send(handler, 404, b"<html><body>not here</body></html>")


def is_trap(raw_path: str) -> bool:
    """Anything a server would read as /private/... or /trap/... (however it is spelt)."""
    path = unquote(urlsplit(raw_path).path)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    for part in parts:
        if part == "..":
            if resolved:
                resolved.pop()
        else:
            resolved.append(part)
    return bool(resolved) and resolved[0] in ("private", "trap")


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes,
         content_type: str = "text/html; charset=utf-8",
         headers: list[tuple[str, str]] = ()) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class RebindingResolver(GuardedResolver):
    """A DNS server an attacker controls: its names point at this machine's loopback."""

    def lookup(self, name: str, timeout=()) -> defer.Deferred:
        if name.lower().rstrip(".").endswith(".rebind.test"):
            return defer.succeed("127.0.0.1")
        return super().lookup(name, timeout)
