"""A real HTTP server for the Rudaw sample outlet: two origins, keep-alive, gzip, tricks.

Tests crawl it over real sockets (no mocked HTTP): ``www.rudaw.net`` is played by the
main origin, ``www.rudawarabia.net`` by the arabic origin, each a ThreadingHTTPServer on
its own port, served from one background thread each.  Transport-level bad inputs (a body
shorter than its Content-Length, chunked bodies) are written straight to the socket.
"""

from __future__ import annotations

import gzip
import itertools
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .content import ARABIC, MAIN, SITE_ROOT, load_content
from .response import Response
from .routes import build_routes

OUTLET_TEMPLATES = {"default": "outlet.yaml", "bad": "outlet-bad.yaml"}
TEMPLATE_ORIGINS = {MAIN: "http://127.0.0.1:8700", ARABIC: "http://127.0.0.1:8701"}
COMPRESSIBLE_TYPES = ("text/", "application/xml", "application/rss+xml")
CHUNK_SIZE = 4096
NOT_FOUND = Response.html("<html><body><h1>404</h1><p>Page not found</p></body></html>",
                          status=404)


@dataclass(frozen=True)
class RequestLogEntry:
    """One request as the server saw it (tests assert on paths, order and timing)."""

    origin: str  # "main" or "arabic"
    method: str
    path: str  # path plus query, as sent
    headers: dict[str, str]
    monotonic: float
    wall: float
    status: int = 0


@dataclass
class _Log:
    entries: list[RequestLogEntry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: RequestLogEntry) -> None:
        with self.lock:
            self.entries.append(entry)

    def snapshot(self) -> list[RequestLogEntry]:
        with self.lock:
            return list(self.entries)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "RudawSample/1.0"
    timeout = 30  # idle keep-alive connections give up eventually

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Silence stderr; the site keeps its own structured log."""

    def _serve(self, send_body: bool) -> None:
        site: SampleSite = self.server.site  # type: ignore[attr-defined]
        origin: str = self.server.origin  # type: ignore[attr-defined]
        response = site.lookup(origin, self.path)
        site._log.add(RequestLogEntry(origin, self.command, self.path, dict(self.headers.items()),
                                      time.monotonic(), time.time(), response.status))
        body = response.body
        ctype = response.content_type or ""
        wants_gzip = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        gzipped = (wants_gzip and response.compressible and bool(body)
                   and ctype.startswith(COMPRESSIBLE_TYPES))
        if gzipped:
            body = gzip.compress(body, mtime=0)
        self.send_response(response.status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if response.cookies and ctype.startswith("text/html"):
            self.send_header("Set-Cookie", f"sid={site.next_session()}; Path=/; HttpOnly")
            self.send_header("Set-Cookie", "consent=pending; Path=/; Max-Age=31536000")
        for name, value in response.headers:
            self.send_header(name, value)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        if response.compressible:
            self.send_header("Vary", "Accept-Encoding")
        if response.claimed_length is not None:
            self._send_truncated(body, response.claimed_length, send_body)
        elif response.chunked:
            self._send_chunked(body, send_body)
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

    def _send_truncated(self, body: bytes, claimed: int, send_body: bool) -> None:
        """Promise ``claimed`` bytes, send fewer, then close: a dropped connection."""
        self.send_header("Content-Length", str(claimed))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
            self.wfile.flush()
        self.close_connection = True

    def _send_chunked(self, body: bytes, send_body: bool) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if not send_body:
            return
        for start in range(0, len(body), CHUNK_SIZE):
            piece = body[start:start + CHUNK_SIZE]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64  # a crawler opens several connections at once

    def __init__(self, host: str, port: int, site: SampleSite, origin: str) -> None:
        super().__init__((host, port), _Handler)
        self.site = site
        self.origin = origin

    def handle_error(self, request: object, client_address: object) -> None:
        """A client hanging up (oversize page cancelled, crawl stopped) is normal here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SampleSite:
    """Both Rudaw origins on local ports; use as a context manager or start()/stop()."""

    def __init__(self, port: int = 0, arabic_port: int = 0, host: str = "127.0.0.1",
                 root: Path = SITE_ROOT) -> None:
        self.host = host
        self.root = root
        self._ports = {MAIN: port, ARABIC: arabic_port}
        self._servers: dict[str, _OriginServer] = {}
        self._threads: list[threading.Thread] = []
        self._log = _Log()
        self._sessions = itertools.count(1)
        self._routes: dict[tuple[str, str], Response] = {}
        self.base_url = ""
        self.arabic_url = ""

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> SampleSite:
        for origin, port in self._ports.items():
            self._servers[origin] = _OriginServer(self.host, port, self, origin)
        self.base_url = self._origin_url(MAIN)
        self.arabic_url = self._origin_url(ARABIC)
        self._routes = build_routes(load_content(self.root), self.base_url, self.arabic_url)
        for origin, server in self._servers.items():
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"sample-site-{origin}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _origin_url(self, origin: str) -> str:
        host, port = self._servers[origin].server_address[:2]
        return f"http://{host}:{port}"

    # ---- serving -----------------------------------------------------------------------

    def lookup(self, origin: str, raw_path: str) -> Response:
        """Exact path+query first, then the path alone (tracking parameters are ignored)."""
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        if parts.query and (origin, f"{path}?{parts.query}") in self._routes:
            return self._routes[origin, f"{path}?{parts.query}"]
        return self._routes.get((origin, path), NOT_FOUND)

    def next_session(self) -> str:
        return f"{next(self._sessions):012x}"

    # ---- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestLogEntry]:
        return self._log.snapshot()

    def count(self, path: str, origin: str | None = None) -> int:
        """How many requests asked for ``path`` (with query if given; else any query)."""
        total = 0
        for entry in self.requests:
            if origin is not None and entry.origin != origin:
                continue
            if entry.path == path or ("?" not in path and entry.path.split("?")[0] == path):
                total += 1
        return total

    def url(self, path: str) -> str:
        """Absolute URL of a site path: /arabic/... lives on the arabic origin."""
        base = self.arabic_url if path.startswith("/arabic") else self.base_url
        return base + path

    def paths(self) -> list[tuple[str, str]]:
        """Every (origin, path) the site answers (for tests that walk the whole site)."""
        return sorted(self._routes)

    def write_outlet(self, dest: Path, variant: str = "default") -> Path:
        """Render an outlet YAML template with this server's real base URLs."""
        name = OUTLET_TEMPLATES[variant]
        text = (self.root / name).read_text(encoding="utf-8")
        text = text.replace(TEMPLATE_ORIGINS[MAIN], self.base_url)
        text = text.replace(TEMPLATE_ORIGINS[ARABIC], self.arabic_url)
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / name
        dest.write_text(text, encoding="utf-8")
        return dest


def serve_forever(port: int = 8700, arabic_port: int = 8701) -> None:
    """Serve the sample outlet until Ctrl-C (``newsarchive sample-site``)."""
    with SampleSite(port=port, arabic_port=arabic_port) as site:
        print(f"Rudaw sample outlet: {site.base_url}/english  (www.rudaw.net)", flush=True)
        print(f"Arabic origin:       {site.arabic_url}/arabic  (www.rudawarabia.net)", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
