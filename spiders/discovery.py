"""Discovery callbacks: fronts, listings, feeds and sitemaps turned into more requests.

Start URLs (fronts), feeds and sitemaps are the seeds; fronts and listing pages are
mined for links to articles and to more listings (that is how pagination is followed);
feeds and sitemaps give article URLs with hints (title, dates) that travel with the
request to the corpus record.  Whether a found URL is fetched is decided in
spiders/scope.py; this module only says what was found and where.

Why link extraction only on fronts and listings: pulling every link out of an article
page costs ~24 ms of CPU per page and mostly finds navigation; article pages only have
their ``<link rel=canonical>`` read (spiders/articles.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy.http import Request, Response, TextResponse

from archive.discover.feeds import FeedError, parse_feed
from archive.discover.sitemaps import SitemapEntry, SitemapError, parse_sitemap
from archive.outlet.urls import normalize_url

if TYPE_CHECKING:
    from archive.outlet.config import OutletConfig

MAX_SITEMAP_DEPTH = 3  # index -> index -> index -> urlset; a loop stops here
DEFAULT_MAX_LISTING_HOPS = 50  # listing -> listing chains (pagination) per front
_SKIPPED_HREFS = ("#", "javascript:", "mailto:", "tel:", "data:")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _present(hints: dict[str, Any]) -> dict[str, Any]:
    """Hints without the empty ones (a feed entry without a summary adds no key)."""
    return {k: v for k, v in hints.items() if v}


class DiscoveryCallbacks:
    """NewsSpider's callbacks for fronts, listings, feeds and sitemaps (a mixin)."""

    if TYPE_CHECKING:  # provided by NewsSpider and the other mixins
        outlet: OutletConfig
        logger: logging.LoggerAdapter
        max_sitemap_depth: int

        def _stat(self, key: str, count: int = 1) -> None: ...
        def fail(self, kind: str, url: str, detail: str = "") -> None: ...
        def response_ok(self, response: Response) -> bool: ...
        def usable_html(self, response: Response) -> bool: ...
        def in_scope(self, url: str) -> bool: ...
        def too_old(self, *moments: datetime | None) -> bool: ...
        def follow(self, url: str, hints: dict[str, Any],
                   listing_hops: int) -> Request | None: ...
        def make_request(self, url: str, kind: str, hints: dict[str, Any] | None = None,
                         extra_meta: dict[str, Any] | None = None) -> Request | None: ...

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        """Default callback (requests without one): treat as a front page."""
        return self.parse_front(response)

    def parse_front(self, response: Response) -> Iterator[Any]:
        yield from self._parse_page(response, "front")

    def parse_listing(self, response: Response) -> Iterator[Any]:
        yield from self._parse_page(response, "listing")

    def _parse_page(self, response: Response, kind: str) -> Iterator[Any]:
        if not self.usable_html(response):
            return
        hops = int(response.meta.get("listing_hops", 0)) + 1
        yield from self.discover_on_page(response, kind, hops)
        for href in self.page_links(response):
            request = self.follow(href, {"via": kind, "found_on": response.url}, hops)
            if request is not None:
                yield request

    def page_links(self, response: TextResponse) -> list[str]:
        """Absolute link targets on a front/listing page (<a href>, <link rel=next>)."""
        hrefs = response.xpath("//a/@href | //link[@rel='next']/@href").getall()
        links = []
        for href in hrefs:
            href = href.strip()
            if not href or href.startswith(_SKIPPED_HREFS):
                continue
            links.append(response.urljoin(href))
        return links

    def discover_on_page(self, response: TextResponse, kind: str,
                         listing_hops: int) -> Iterable[Request]:
        """Hook for outlet overrides: extra requests from a front/listing page."""
        return ()

    def parse_feed(self, response: Response) -> Iterator[Request]:
        if not self.response_ok(response):
            return
        try:
            entries = parse_feed(response.body, response.url)
        except FeedError as exc:
            self.fail("broken_feed", response.url, str(exc).replace(response.url + ": ", ""))
            return
        self._stat("newsarchive/discovery/feed_entries", len(entries))
        for entry in entries:
            if self.too_old(entry.published, entry.updated):
                continue
            hints = {"via": "feed", "found_on": response.url, "title": entry.title,
                     "published": _iso(entry.published), "updated": _iso(entry.updated),
                     "summary": entry.summary, "image": entry.image}
            request = self.follow(entry.url, _present(hints), 1)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if not self.response_ok(response):
            return
        try:
            sitemap = parse_sitemap(response.body, response.url)
        except SitemapError as exc:
            self.fail("broken_sitemap", response.url,
                      str(exc).replace(response.url + ": ", ""))
            return
        if sitemap.truncated:
            self.logger.warning("sitemap %s: more entries than the limit, rest ignored",
                                response.url)
        depth = int(response.meta.get("sitemap_depth", 0))
        if sitemap.is_index:
            yield from self._sitemap_index(response, sitemap.entries, depth)
            return
        self._stat("newsarchive/discovery/sitemap_entries", len(sitemap.entries))
        for entry in sitemap.entries:
            if self.too_old(entry.lastmod, entry.published):
                continue
            hints = {"via": "sitemap", "found_on": response.url, "title": entry.title,
                     "published": _iso(entry.published), "lastmod": _iso(entry.lastmod)}
            request = self.follow(entry.url, _present(hints), 1)
            if request is not None:
                yield request

    def _sitemap_index(self, response: Response, entries: list[SitemapEntry],
                       depth: int) -> Iterator[Request]:
        """Requests for the child sitemaps of an index, up to ``max_sitemap_depth``."""
        if depth >= self.max_sitemap_depth:
            self._stat("newsarchive/discovery/sitemap_depth_cap")
            self.logger.warning("sitemap %s: index nested deeper than %d, not followed",
                                response.url, self.max_sitemap_depth)
            return
        for entry in entries:
            url = normalize_url(entry.url)
            if self.too_old(entry.lastmod):
                continue
            if self.outlet.is_denied_url(url) or not self.in_scope(url):
                self._stat("newsarchive/discovery/offsite")
                continue
            hints = {"via": "sitemap", "found_on": response.url, "lastmod": _iso(entry.lastmod)}
            request = self.make_request(url, "sitemap", _present(hints),
                                        {"sitemap_depth": depth + 1})
            if request is not None:
                yield request
