"""Scope and request building: which discovered URLs the crawl may request, and how.

Every URL the spider wants (seed, link, feed or sitemap entry, re-check) goes through
:meth:`CrawlScope.make_request`, so the deny list, the article cap, the de-duplication of
pending and canonical articles and the kind priorities are enforced in one place, for
seeds as much as for links.  Discovery callbacks (spiders/discovery.py) only say *what*
they found; this module decides *whether* and *how* it is fetched.

The address checks here stop links to private/loopback hosts before they reach the
scheduler; crawler/guard.py refuses them again at download time (redirects included).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.http import Request
from scrapy.utils.url import url_is_from_any_domain

from archive.discover.coverage import CoverageLedger
from archive.outlet.config import Origin, OutletConfig
from archive.outlet.netguard import is_restricted_address
from archive.outlet.urls import normalize_url
from crawler.samples import count_failure

# Statuses that reach the callbacks (to be counted) instead of being dropped by
# HttpErrorMiddleware.  Not ``handle_httpstatus_all``: that also switches off
# RedirectMiddleware, and redirects must still be followed (and captured).
ERROR_STATUSES = tuple(range(400, 600))
PENDING_KEY = "newsarchive_discovered_url"  # meta: the URL as the spider scheduled it
# Articles first (they are the point of the crawl), then the feeds and sitemaps that list
# many articles each, then fronts and listings, which mostly lead to more listings.
KIND_PRIORITY = {"article": 10, "feed": 5, "sitemap": 5, "robots": 5, "front": 0,
                 "listing": 0, "page": 0}
# kind -> the callback that parses a response of that kind (a method of the spider)
KIND_CALLBACK = {"front": "parse_front", "listing": "parse_listing", "feed": "parse_feed",
                 "sitemap": "parse_sitemap", "article": "parse_article",
                 "robots": "parse_robots", "page": "parse_page"}
# "page": a start page or navigation link under generic discovery, fetched in full every
# run (not conditionally): a 304 would hide the links of a front whose sections changed
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _is_local_host(host: str) -> bool:
    """IP literals and localhost: only reachable when their origin is named explicitly."""
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class CrawlScope:
    """NewsSpider's scope checks and request building (a mixin; state set in NewsSpider)."""

    if TYPE_CHECKING:  # provided by NewsSpider and the other mixins
        outlet: OutletConfig
        allowed_domains: list[str]
        logger: logging.LoggerAdapter
        max_articles: int | None
        max_listing_hops: int
        generic: bool
        _named_origins: set[Origin]
        _refused_urls: set[str]
        _canonical_seen: set[str]
        _pending: dict[str, Request]
        _articles_scheduled: int
        _cap_logged: bool

        def _stat(self, key: str, count: int = 1) -> None: ...
        ledger: CoverageLedger

        def is_archived(self, url: str) -> bool: ...
        def edited_since_check(self, url: str, hints: dict[str, Any]) -> bool: ...
        def declare(self, url: str, hints: dict[str, Any]) -> None: ...
        def follow_generic(self, url: str, hints: dict[str, Any]) -> Request | None: ...
        def on_error(self, failure: Any) -> None: ...

    def in_scope(self, url: str) -> bool:
        """True when the crawl may request ``url``: an http(s) URL on the outlet's hosts.

        IP literals and localhost only count when their exact origin (scheme, host,
        port) is one the outlet names, so a link to another local port or to
        169.254.169.254 is never requested.
        """
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False
        if Origin.of(url) in self._named_origins:
            return True
        if _is_local_host(host):
            self._refuse_private(url, host)
            return False
        return url_is_from_any_domain(url, self.allowed_domains)

    def _refuse_private(self, url: str, host: str) -> None:
        """Count (once per URL) a link to a private/loopback address the outlet did not name.

        The address guard middleware refuses such requests too (redirects included); links
        are stopped here already so they never reach the scheduler.
        """
        if url in self._refused_urls:
            return
        self._refused_urls.add(url)
        if host in _LOCAL_NAMES or host.endswith(".localhost") or is_restricted_address(host):
            count_failure(getattr(self, "crawler", None), "refused_address", url)
            self.logger.warning("refused link to %s: private/loopback address not named by "
                                "the outlet", url)

    def classify(self, url: str) -> str | None:
        """"article", "listing" or None (not wanted) for a discovered absolute URL."""
        if self.outlet.is_denied_url(url):
            self._stat("newsarchive/discovery/denied")
            return None
        if not self.in_scope(url):
            self._stat("newsarchive/discovery/offsite")
            return None
        if self.outlet.is_article_url(url):
            return "article"
        if self.outlet.is_listing_url(url):
            return "listing"
        return None

    def make_request(self, url: str, kind: str, hints: dict[str, Any] | None = None,
                     extra_meta: dict[str, Any] | None = None, *, callback: str | None = None,
                     priority: int | None = None) -> Request | None:
        """A request of ``kind`` for ``url`` (normalised), or None when it must not be sent.

        Seeds go through the same deny check as discovered links: an operator's
        start URL on a denied path is still not requested.  ``callback`` (a method name)
        and ``priority`` override the kind's defaults (generic discovery parses every
        page with ``parse_page`` and fetches listings first).
        """
        url = normalize_url(url)
        if self.outlet.is_denied_url(url):
            self._stat("newsarchive/discovery/denied")
            self.ledger.settle(url, "denied", overwrite=False)
            return None
        extra_meta = dict(extra_meta or {})
        if kind == "article":
            admitted = self._admit_article(url, hints, extra_meta)
            if not admitted:
                return None
            if admitted == "edited":
                extra_meta["recheck"] = True
        method = getattr(self, callback or KIND_CALLBACK[kind])
        meta = {"kind": kind, "hints": dict(hints or {}),
                "handle_httpstatus_list": ERROR_STATUSES, PENDING_KEY: url}
        meta.update(extra_meta)
        self._stat(f"newsarchive/discovered/{kind}")
        request = Request(url, callback=method, errback=self.on_error, meta=meta,
                          priority=KIND_PRIORITY.get(kind, 0) if priority is None else priority)
        if kind == "article":
            self._pending[url] = request
        return request

    def _admit_article(self, url: str, hints: dict[str, Any] | None,
                       extra_meta: dict[str, Any] | None) -> str | None:
        """"new" (or "edited": an archived article whose feed, sitemap or listing shows a
        newer modified time) when an article request for ``url`` should be scheduled
        (and counts it); None when not."""
        pending = self._pending.get(url)
        if pending is not None:
            # Same article found again before it was fetched (feed + listing + sitemap):
            # keep one request but give it every hint (a feed's date is worth having).
            merged = pending.meta.setdefault("hints", {})
            for key, value in (hints or {}).items():
                merged.setdefault(key, value)
            self._stat("newsarchive/discovery/merged_hints")
            return None
        if url in self._canonical_seen:
            self._stat("newsarchive/discovery/canonical_seen")
            return None
        status = "new"
        if not (extra_meta or {}).get("recheck") and self.is_archived(url):
            if not self.edited_since_check(url, hints or {}):
                self._stat("newsarchive/discovery/archived")
                self.ledger.settle(url, "already_archived", overwrite=False)
                return None
            status = "edited"
        if self.max_articles is not None and self._articles_scheduled >= self.max_articles:
            if not self._cap_logged:
                self._cap_logged = True
                self.logger.info("max_articles=%d reached: no more article requests",
                                 self.max_articles)
            self.ledger.settle(url, "max_articles", overwrite=False)
            return None
        self._articles_scheduled += 1
        return status

    def _done(self, meta: dict[str, Any]) -> None:
        """Forget a pending article request once it was answered (or failed)."""
        self._pending.pop(meta.get(PENDING_KEY, ""), None)

    def follow(self, url: str, hints: dict[str, Any], listing_hops: int) -> Request | None:
        """A request for a discovered link if it is an article or listing in scope.

        Under generic discovery every in-scope link is a candidate page and the page
        decides (spiders/generic.py); otherwise the outlet's URL rules do.
        """
        self.declare(url, hints)
        if self.generic:
            return self.follow_generic(url, hints)
        kind = self.classify(normalize_url(url))
        if kind is None:
            return None
        if kind == "listing":
            if listing_hops > self.max_listing_hops:
                self._stat("newsarchive/discovery/listing_hops_cap")
                return None
            return self.make_request(url, kind, hints, {"listing_hops": listing_hops})
        return self.make_request(url, kind, hints)
