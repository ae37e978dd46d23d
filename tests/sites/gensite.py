"""Serves a generated news site (tests/sites/newsgen.py) over real HTTP on one port.

``with GeneratedSite(articles=120) as site:`` starts it; ``site.expected_urls()`` is the
ground truth (every article's canonical URL), ``site.requests`` the request log (path,
status), ``site.edit(i)`` changes article ``i`` (text and modified time everywhere),
``site.write_outlet(path)`` writes the minimal outlet file (``name`` + ``start_urls``)
and ``site.write_rules_outlet(path)`` the hand-tuned one with URL rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .newsgen import (
    AUTHORS,
    PER_PAGE,
    SECTIONS,
    TAGS,
    GenArticle,
    make_articles,
    render_article,
    render_calendar,
    render_feed,
    render_listing,
    render_plain,
    render_sitemap,
)

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Served:
    path: str
    status: int


def _pages(items: list[GenArticle]) -> list[list[GenArticle]]:
    return [items[i:i + PER_PAGE] for i in range(0, len(items), PER_PAGE)] or [[]]


class GeneratedSite:
    """One generated outlet on 127.0.0.1:<port>; see the module docstring."""

    def __init__(self, articles: int = 120, *, calendar_trap: bool = False, seed: int = 11,
                 deleted: int = 0):
        self.articles = make_articles(articles, seed)
        self.calendar_trap = calendar_trap
        # sitemap entries of articles taken down since (they answer 404)
        self.deleted = [f"/news/2026/01/0{n + 1}/withdrawn-story-{n}" for n in range(deleted)]
        self.routes: dict[str, tuple[int, str, bytes, list[tuple[str, str]]]] = {}
        self.requests: list[Served] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base = ""

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> GeneratedSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                status, ctype, body, headers = site.lookup(self.path)
                site.log(self.path, status)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._build()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> GeneratedSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- what the tests ask ----------------------------------------------------------

    def log(self, path: str, status: int) -> None:
        with self._lock:
            self.requests.append(Served(path, status))

    def expected_urls(self) -> set[str]:
        return {self.base + a.path for a in self.articles}

    def edit(self, index: int, when: datetime | None = None) -> str:
        """Add a paragraph to article ``index`` and move its modified time to ``when``."""
        article = self.articles[index]
        article.paragraphs.append(f"Correction issued: the figure was revised ({index}).")
        article.modified = (when or datetime.now(UTC)).replace(microsecond=0)
        self._build()
        return self.base + article.path

    def write_outlet(self, dest: Path, name: str = "gazette") -> Path:
        dest.write_text(f"name: {name}\nstart_urls: ['{self.base}/']\n", encoding="utf-8")
        return dest

    def write_rules_outlet(self, dest: Path, name: str = "gazette") -> Path:
        """The hand-tuned outlet a newcomer writes after studying the site."""
        dest.write_text(
            f"name: {name}\nstart_urls: ['{self.base}/']\n"
            f"feeds: ['{self.base}/feed.xml']\nsitemaps: ['{self.base}/sitemap.xml']\n"
            "article_urls:\n  - '/news/\\d{4}/\\d\\d/\\d\\d/[a-z0-9-]+$'\n"
            "  - '/a/\\d+-[a-z0-9-]+$'\n  - '/stories/[a-z]+/[a-z0-9-]+\\.html$'\n"
            f"  - '/({'|'.join(SECTIONS)})/[a-z0-9-]+-\\d+$'\n  - '/old/story\\.php/\\d+$'\n"
            "follow_urls:\n  - '/section/[a-z]+(\\?page=\\d+)?$'\n"
            "  - '/tag/[a-z]+(/page/\\d+)?$'\n  - '/author/[a-z-]+(\\?offset=\\d+)?$'\n"
            "download_delay: 0\nconcurrency: 8\n", encoding="utf-8")
        return dest

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.requests if r.path.startswith(prefix))

    # ---- routes ----------------------------------------------------------------------

    def lookup(self, raw: str) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        parts = urlsplit(raw)
        key = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            found = self.routes.get(key)
        if found is not None:
            return found
        if self.calendar_trap and parts.path.startswith("/calendar/"):
            bits = parts.path.strip("/").split("/")
            if len(bits) == 3 and bits[1].isdigit() and bits[2].isdigit():
                page = render_calendar(int(bits[1]), int(bits[2]), self.articles[:6])
                return 200, HTML, page.encode(), []
        return 404, HTML, b"<html><body><h1>Not found</h1></body></html>", []

    def _build(self) -> None:
        routes: dict[str, tuple[int, str, bytes, list[tuple[str, str]]]] = {}
        by_index = {a.index: a for a in self.articles}

        def html(path: str, text: str) -> None:
            routes[path] = (200, HTML, text.encode("utf-8"), [])

        listed = [a for a in self.articles if a.reach in ("listed", "redirect_only")]
        front_links = "".join(f'<a href="/tag/{t}">{t}</a> ' for t in TAGS[:4])
        html("/", render_listing("Gazette: latest news", listed[:10], [], None)
             .replace("</main>", f"<div>Trending: {front_links}</div></main>"))
        for section in SECTIONS:
            self._series(html, f"Section {section}", [a for a in listed if a.section == section],
                         lambda n, s=section: f"/section/{s}" + (f"?page={n}" if n > 1 else ""))
        for tag in TAGS:
            items = [a for a in self.articles if tag in a.tags
                     and a.reach in ("listed", "redirect_only", "tag_only")]
            self._series(html, f"Topic {tag}", items,
                         lambda n, t=tag: f"/tag/{t}" + (f"/page/{n}" if n > 1 else ""))
        for author in AUTHORS:
            items = [a for a in self.articles if a.author == author
                     and a.reach in ("listed", "author_only")]
            self._series(html, f"Articles by {author}", items,
                         lambda n, w=author: f"/author/{w}"
                         + (f"?offset={(n - 1) * PER_PAGE}" if n > 1 else ""))
        html("/tags", render_plain("All topics", "Browse by topic.", " ".join(
            f'<a href="/tag/{t}">{t}</a>' for t in TAGS)))
        for path, title in (("/about", "About us"), ("/contact", "Contact"),
                            ("/privacy", "Privacy"), ("/login", "Sign in"),
                            ("/search?q=news", "Search")):
            html(path, render_plain(title, "The Gazette is an invented newspaper."))
        if not self.calendar_trap:
            html("/calendar/2026/11", render_plain("Events", "No events this month."))
        for article in self.articles:
            html(article.path, render_article(article, by_index, self.base))
            if article.reach == "redirect_only" or article.index % 10 == 5:
                routes[article.old_path] = (301, HTML, b"moved",
                                            [("Location", self.base + article.path)])
        recent = [a for a in self.articles[: max(10, len(self.articles) * 2 // 5)]
                  if a.reach in ("listed", "tag_only", "author_only")]
        sitemap = render_sitemap(recent, self.base).replace("</urlset>", "".join(
            f"<url><loc>{self.base}{path}</loc></url>" for path in self.deleted) + "</urlset>")
        routes["/sitemap.xml"] = (200, "application/xml", sitemap.encode(), [])
        routes["/feed.xml"] = (200, "application/rss+xml", render_feed(
            self.articles[:15], self.base).encode(), [])
        routes["/robots.txt"] = (200, "text/plain", (
            f"User-agent: *\nAllow: /\nSitemap: {self.base}/sitemap.xml\n").encode(), [])
        with self._lock:
            self.routes = routes

    @staticmethod
    def _series(html, title: str, items: list[GenArticle], path_of) -> None:
        pages = _pages(items)
        numbers = range(1, len(pages) + 1)
        for n, chunk in zip(numbers, pages, strict=True):
            links = [(str(m), path_of(m)) for m in numbers if m != n]
            nxt = path_of(n + 1) if n < len(pages) else None
            html(path_of(n), render_listing(f"{title} (page {n})", chunk, links, nxt))
