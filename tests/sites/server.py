"""A real HTTP server for the Rudaw sample outlet: two origins, keep-alive, gzip, tricks.

Tests crawl it over real sockets (no mocked HTTP): ``www.rudaw.net`` is played by the
main origin, ``www.rudawarabia.net`` by the arabic origin, each a ThreadingHTTPServer on
its own port, served from one background thread each.  Transport-level bad inputs (a body
shorter than its Content-Length, chunked bodies) are written straight to the socket.

For incremental-crawl tests the site answers conditional requests (ETag, Last-Modified,
304) and can change while it runs (``edit_article``, ``add_article``, ``touch_noise``,
``reset``); ``snapshot_expected`` gives the ground truth of the current content.
"""

from __future__ import annotations

import copy
import gzip
import itertools
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .assets import CDN
from .conditional import assign_validators, http_date, not_modified
from .content import ARABIC, EDITION_ORDER, MAIN, SITE_ROOT
from .expected import article_entry
from .mutations import SiteState
from .response import Response
from .routes import (
    FEEDS,
    LEGACY_SECTION_PAGES,
    SITEMAPS,
    build_routes,
    sitemap_index_response,
)

OUTLET_TEMPLATES = {"default": "outlet.yaml", "bad": "outlet-bad.yaml"}
TEMPLATE_ORIGINS = {MAIN: "http://127.0.0.1:8700", ARABIC: "http://127.0.0.1:8701",
                    CDN: "http://127.0.0.1:8702"}
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
    status: int = 0  # what the server answered: 200, 304, 404, ...

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name (``entry.header("if-none-match")``)."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


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

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


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
        fresh = site.is_not_modified(response, self.headers)
        site._log.add(RequestLogEntry(origin, self.command, self.path, dict(self.headers.items()),
                                      time.monotonic(), time.time(),
                                      304 if fresh else response.status))
        if fresh:
            self._send_not_modified(response)
            return
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
        self._send_validators(response)
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

    def _send_validators(self, response: Response) -> None:
        if response.validators and response.etag and response.last_modified:
            self.send_header("ETag", response.etag)
            self.send_header("Last-Modified", http_date(response.last_modified))

    def _send_not_modified(self, response: Response) -> None:
        """304: no body, no Content-Length; the validators and Vary as a 200 would send."""
        self.send_response(304)
        self._send_validators(response)
        if response.compressible:
            self.send_header("Vary", "Accept-Encoding")
        self.end_headers()

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
    """Both Rudaw origins on local ports; use as a context manager or start()/stop().

    Fronts, legacy listings, feeds and sitemaps send a strong ETag and Last-Modified and
    answer 304 to a matching If-None-Match (or, without one, an If-Modified-Since not
    older than Last-Modified).  Article pages send both validators too but always answer
    200 unless ``conditional_articles`` is true (a re-check then re-downloads the page and
    the crawler must notice "unchanged" by payload digest).
    """

    def __init__(self, port: int = 0, arabic_port: int = 0, host: str = "127.0.0.1",
                 root: Path = SITE_ROOT, *, conditional_articles: bool = False,
                 cdn_port: int = 0) -> None:
        self.host = host
        self.root = root
        self.conditional_articles = conditional_articles
        # the third origin plays the image CDN (tests/sites/assets.py)
        self._ports = {MAIN: port, ARABIC: arabic_port, CDN: cdn_port}
        self._servers: dict[str, _OriginServer] = {}
        self._threads: list[threading.Thread] = []
        self._log = _Log()
        self._sessions = itertools.count(1)
        self._mutex = threading.RLock()  # mutations and rebuilds; serving never waits on it
        self._state = SiteState(root)
        self._routes: dict[tuple[str, str], Response] = {}  # swapped whole on each rebuild
        self._changes: list[tuple[str, str]] = []
        self.base_url = ""
        self.arabic_url = ""
        self.cdn_url = ""

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> SampleSite:
        for origin, port in self._ports.items():
            self._servers[origin] = _OriginServer(self.host, port, self, origin)
        self.base_url = self._origin_url(MAIN)
        self.arabic_url = self._origin_url(ARABIC)
        self.cdn_url = self._origin_url(CDN)
        with self._mutex:
            self._rebuild(restart=True)
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
        routes = self._routes  # one consistent build even if a mutation swaps it meanwhile
        parts = urlsplit(raw_path)
        path = parts.path or "/"
        if parts.query and (origin, f"{path}?{parts.query}") in routes:
            return routes[origin, f"{path}?{parts.query}"]
        return routes.get((origin, path), NOT_FOUND)

    def is_not_modified(self, response: Response, headers: Message) -> bool:
        """Whether this request's validators earn a 304 (GET/HEAD of a 200 page)."""
        if response.status != 200 or not response.validators or response.etag is None:
            return False
        if response.validators == "article" and not self.conditional_articles:
            return False
        return not_modified(headers, response.etag, response.last_modified)

    def next_session(self) -> str:
        return f"{next(self._sessions):012x}"

    # ---- inspection --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestLogEntry]:
        return self._log.snapshot()

    def clear_requests(self) -> None:
        """Forget the request log (counts start from zero again)."""
        self._log.clear()

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

    def validators(self, path: str) -> tuple[str, str]:
        """(ETag, Last-Modified) the site currently sends for ``path`` (for assertions)."""
        response = self.lookup(self._origin_of(path), path)
        if not response.validators or response.etag is None:
            raise KeyError(f"{path} sends no validators")
        return response.etag, http_date(response.last_modified)

    def last_changes(self) -> list[tuple[str, str]]:
        """(origin, path) of every page whose bytes the latest mutation or reset changed."""
        with self._mutex:
            return list(self._changes)

    def snapshot_expected(self) -> dict[str, dict]:
        """Ground truth for the CURRENT content: expected.json's "articles" layout, keyed
        by canonical path (text_first, text_last, paragraphs, must_not_contain, ...)."""
        with self._mutex:
            content = self._state.content
            return {a.canonical_path: article_entry(content, a) for a in content.articles}

    # ---- mutations (tests of incremental crawls) -------------------------------------

    def edit_article(self, path: str, *, new_paragraph: str | None = None,
                     new_title: str | None = None, modified: str | None = None,
                     replace_index: int | None = None) -> None:
        """Edit an article: append ``new_paragraph`` (or put it at ``replace_index``),
        retitle it, stamp dateModified (new-style) / "Last updated" with ``modified`` or
        the site clock.  Its page, the fronts/feeds/sitemaps that show it change."""
        self._mutate(lambda state: state.edit_article(
            path, new_paragraph=new_paragraph, new_title=new_title, modified=modified,
            replace_index=replace_index))

    def add_article(self, edition: str, generation: str, *, title: str, paragraphs: list[str],
                    published: str, authors: list[str] | None = None, slug: str | None = None,
                    id: int | str | None = None, summary: str | None = None,  # noqa: A002
                    section: str | None = None, dateline: str | None = None,
                    image: str | None = None) -> str:
        """Publish an article; return its canonical path.

        "new": first in the edition front's flight data, in the new-style sitemap (main
        origin); id defaults to the edition's highest + 1, slug to "kurdistan".  "legacy"
        (english, sorani, kurmanci, turkish): first in the edition's RSS feed, on listing
        page 1 when under /english/middleeast/, in the legacy sitemap; ``slug`` is the
        section path ("middleeast/iraq"), ``id`` DDMMYYYY plus a digit (default from
        ``published``).  Summary defaults to the first sentence, section to the menu label
        of the slug, authors to the site name.
        """
        article = self._mutate(lambda state: state.add_article(
            edition, generation, title=title, paragraphs=paragraphs, published=published,
            authors=authors, slug=slug, id=id, summary=summary, section=section,
            dateline=dateline, image=image))
        return article.canonical_path

    def touch_noise(self, path: str) -> None:
        """Change a page's bytes but not its text (an ad slot rotates): article pages
        (any URL variant), fronts, listing pages, feeds, sitemaps."""
        with self._mutex:
            article = self._state.find(path)
            key = article.canonical_path if article else self._site_path(path)
            if article is None and key not in self._noise_pages():
                raise ValueError(f"touch_noise: {path} is not an article, front, listing, "
                                 "feed or sitemap")
            self._mutate(lambda state: state.touch(key))

    def reset(self) -> None:
        """Back to the initial content, validators and clock (the request log stays)."""
        with self._mutex:
            self._state = SiteState(self.root)
            if self._servers:
                self._rebuild(restart=True)

    def _mutate(self, change):
        """Apply ``change`` to the state, check the ground truth still holds, rebuild; on
        any error the site stays as it was."""
        with self._mutex:
            backup = copy.deepcopy(self._state)
            try:
                result = change(self._state)
                self._check()
                if self._servers:
                    self._rebuild(restart=False)
            except Exception:
                self._state = backup
                raise
            return result

    def _check(self) -> None:
        """New text must not contain page furniture (the ground truth would be void)."""
        content = self._state.content
        for article in content.articles:
            article_entry(content, article)

    def _rebuild(self, restart: bool) -> None:
        state = self._state
        routes = build_routes(state.content, self.base_url, self.arabic_url, state.noise,
                              state.sitemap_stamps, cdn_url=self.cdn_url)
        previous = self._routes or None
        if previous and not restart:  # a child sitemap changed: the index says when
            stale = [p for p in SITEMAPS[1:]
                     if routes[MAIN, p].body != previous[MAIN, p].body]
            if stale:
                state.sitemap_stamps.update(dict.fromkeys(stale, state.clock.isoformat()))
                routes[MAIN, SITEMAPS[0]] = sitemap_index_response(
                    self.base_url, state.sitemap_stamps, state.noise.get(SITEMAPS[0], 0))
        self._changes = assign_validators(routes, previous, state.clock, restart)
        self._routes = routes

    def _noise_pages(self) -> set[str]:
        return {f"/{e}" for e in EDITION_ORDER} | {*LEGACY_SECTION_PAGES, *FEEDS, *SITEMAPS}

    def _site_path(self, path_or_url: str) -> str:
        parts = urlsplit(path_or_url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _origin_of(self, path: str) -> str:
        return ARABIC if path.startswith("/arabic") else MAIN

    def write_outlet(self, dest: Path, variant: str = "default") -> Path:
        """Render an outlet YAML template with this server's real base URLs."""
        name = OUTLET_TEMPLATES[variant]
        text = (self.root / name).read_text(encoding="utf-8")
        text = text.replace(TEMPLATE_ORIGINS[MAIN], self.base_url)
        text = text.replace(TEMPLATE_ORIGINS[ARABIC], self.arabic_url)
        text = text.replace(TEMPLATE_ORIGINS[CDN], self.cdn_url)
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / name
        dest.write_text(text, encoding="utf-8")
        return dest


def serve_forever(port: int = 8700, arabic_port: int = 8701, cdn_port: int = 8702) -> None:
    """Serve the sample outlet until Ctrl-C (``newsarchive sample-site``)."""
    with SampleSite(port=port, arabic_port=arabic_port, cdn_port=cdn_port) as site:
        print(f"Rudaw sample outlet: {site.base_url}/english  (www.rudaw.net)", flush=True)
        print(f"Arabic origin:       {site.arabic_url}/arabic  (www.rudawarabia.net)", flush=True)
        print(f"Image CDN origin:    {site.cdn_url}  (images.rudaw.net)", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
