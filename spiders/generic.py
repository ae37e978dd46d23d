"""Generic discovery: follow in-scope links, and let each page say what it is.

Used when the outlet file names no ``article_urls`` (or sets ``discovery: generic``): a
name and a start URL are enough.  Every in-scope page is parsed by :meth:`parse_page`,
classified from its own content (archive/discover/pagetype.py) and then:

- an article becomes an item, and its links are followed up to two article hops from
  the last listing (the "Related coverage" that no listing shows);
- a listing (front, section, tag, author page) has its links followed; of its
  pagination only the next page is requested, and the walk stops after two pages in a
  row with no new article (archive/discover/pagination.py);
- anything else is not archived; its headline links are still tried, its navigation is
  not (calendars and other traps end there).

Cost is bounded: trap-shaped URLs are dropped, navigation pages share a per-outlet
budget (archive/discover/traps.py), listings are fetched before articles, and articles
known to the state are not fetched unless a feed, sitemap or listing shows an edit.
``article_urls``/``follow_urls``, when given, only raise a link's priority.  Without a
feed or sitemap in the outlet file, ``<link rel=alternate>`` feeds and robots.txt
``Sitemap:`` lines are used.  The latter come from the robots.txt middleware, which
reads each origin's robots.txt anyway (``robots_sitemaps_found`` in crawler/robots.py);
only when that middleware is not running does the spider fetch robots.txt itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from scrapy.http import Request, Response, TextResponse

from archive.discover.coverage import CoverageLedger
from archive.discover.pagetype import PageLink, read_page
from archive.discover.pagination import is_paginated, next_page, page_ref
from archive.discover.sitemaps import robots_sitemaps
from archive.discover.traps import PageBudget, trap_reason
from archive.outlet.urls import normalize_url
from crawler.robots import StrictRobotsTxtMiddleware
from spiders.articles import TRUNCATION_FLAGS, canonical_link
from spiders.scope import PENDING_KEY

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from archive.outlet.config import OutletConfig

MAX_ARTICLE_HOPS = 2  # article -> article links followed this far from the last listing
MAX_HELD_LINKS = 30  # headline links kept per article fetched at the hop limit
BARREN_PAGES = 2  # a pagination walk stops after this many pages without a new article
# generic priorities: seeds and listings first (the frontier stays small), then articles
PRIORITY = {"nav": 6, "article": 3, "prior": 2}
_ARTICLE_SHAPE = re.compile(r"/[^/]*[a-z0-9]+-[a-z0-9]+-[a-z0-9]+-[^/]*/?$|\d{5,}|"
                            r"/(?:19|20)\d\d/\d\d/\d\d/.", re.IGNORECASE)


def looks_like_article(url: str) -> bool:
    """URL shape alone (a long slug, a numeric id, a date path): only a priority hint."""
    return bool(_ARTICLE_SHAPE.search(urlsplit(url).path))


class GenericDiscovery:
    """NewsSpider's page-decides discovery (a mixin; see the module docstring)."""

    if TYPE_CHECKING:  # provided by NewsSpider and the other mixins
        outlet: OutletConfig
        crawler: Crawler
        logger: logging.LoggerAdapter
        generic: bool
        _canonical_seen: set[str]
        _pending: dict[str, Request]

        def _stat(self, key: str, count: int = 1) -> None: ...
        def _done(self, meta: dict[str, Any]) -> None: ...
        def usable_html(self, response: Response) -> bool: ...
        def response_ok(self, response: Response) -> bool: ...
        def in_scope(self, url: str) -> bool: ...
        def is_archived(self, url: str) -> bool: ...
        def edited_since_check(self, url: str, hints: dict[str, Any],
                               claim: bool = True) -> bool: ...
        def article_item(self, response: Response, canonical: str | None) -> dict: ...
        def make_request(self, url: str, kind: str, hints: dict[str, Any] | None = None,
                         extra_meta: dict[str, Any] | None = None, *,
                         callback: str | None = None,
                         priority: int | None = None) -> Request | None: ...

    def init_generic(self) -> None:
        """Per-crawl discovery state (called from NewsSpider.__init__)."""
        extra = self.outlet.extra or {}
        self.budget = PageBudget(floor=int(extra.get("page_budget_floor", 60)),
                                 per_article=float(extra.get("page_budget_per_article", 1.0)))
        self.ledger = CoverageLedger()
        self._candidates: set[str] = set()  # article candidates seen (the budget's base)
        self._requested: set[str] = set()  # pages requested or refused by generic discovery
        self._feeds_found: set[str] = set()
        # headline links of articles fetched at the hop limit, by URL (see _shorter_path)
        self._held: dict[str, list[PageLink]] = {}
        # start origins whose robots.txt Sitemap: lines are still to be read (once each)
        self._robots_origins: set[str] = set()
        if self.generic and not self.outlet.sitemaps:
            self._robots_origins = {urlsplit(url).netloc.lower()
                                    for url in self.outlet.start_urls}

    # ---- requests ------------------------------------------------------------------------

    def declare(self, url: str, hints: dict[str, Any]) -> None:
        """Record a feed/sitemap/listing declaration of an article (coverage, budget)."""
        via = hints.get("via")
        channel = {"feed": "feed", "sitemap": "sitemap", "flight": "listing"}.get(via or "")
        if channel is None and via in ("front", "listing") and not self.generic \
                and self.outlet.article_prior(url):
            channel = "listing"
        if channel is None:
            return
        url = normalize_url(url)
        if self.in_scope(url):
            self.ledger.declare(channel, url)
            self._candidates.add(url)

    def follow_generic(self, url: str, hints: dict[str, Any], guess: str = "article",
                       extra_meta: dict[str, Any] | None = None) -> Request | None:
        """A ``parse_page`` request for ``url`` unless it is a trap, off scope, known, or
        (navigation only) over the page budget.  ``guess``: "article" or "nav"."""
        url = normalize_url(url)
        if url in self._requested:
            pending = self._pending.get(url)
            if pending is not None:  # found again before it was fetched: keep every hint
                merged = pending.meta.setdefault("hints", {})
                for key, value in hints.items():
                    merged.setdefault(key, value)
            return None
        reason = trap_reason(url)
        if reason is not None:
            self._requested.add(url)
            self._stat(f"newsarchive/discovery/trap/{reason}")
            self.ledger.settle(url, f"trap_{reason}", overwrite=False)
            return None
        if self.outlet.is_denied_url(url) or not self.in_scope(url):
            self._requested.add(url)
            self._stat("newsarchive/discovery/offsite")
            self.ledger.settle(url, "out_of_scope", overwrite=False)
            return None
        if guess == "nav" and self.is_archived(url):
            guess = "article"  # the state knows it: an article (edits decide a re-fetch)
        meta = dict(extra_meta or {})
        if guess == "nav":
            if not self.budget.take(len(self._candidates)):
                self._stat("newsarchive/discovery/over_budget")
                self.ledger.settle(url, "page_budget", overwrite=False)
                return None
            self._requested.add(url)
            priority = (PRIORITY["nav"] + (1 if self.outlet.is_listing_url(url) else 0)
                        - min(int(meta.get("barren", 0)), 20))
            return self.make_request(url, "page", hints, meta, callback="parse_page",
                                     priority=priority)
        self._requested.add(url)
        priority = PRIORITY["article"] + (PRIORITY["prior"] if self.outlet.article_prior(url)
                                          else 0)
        return self.make_request(url, "article", hints, meta, callback="parse_page",
                                 priority=priority)

    def generic_seeds(self) -> Iterator[Request]:
        """robots.txt of each start origin, for its ``Sitemap:`` lines -- only when no
        robots.txt middleware reads it already (and announces them)."""
        if not self._robots_origins or self._robots_middleware_runs():
            return
        origins = {urlunsplit((p.scheme, p.netloc, "/robots.txt", "", ""))
                   for p in map(urlsplit, self.outlet.start_urls)}
        for url in sorted(origins):
            request = self.make_request(url, "robots", {"via": "seed"})
            if request is not None:
                yield request

    def _robots_middleware_runs(self) -> bool:
        crawler = getattr(self, "crawler", None)
        try:
            return crawler is not None and \
                crawler.get_downloader_middleware(StrictRobotsTxtMiddleware) is not None
        except RuntimeError:  # no engine (a spider built outside a crawl)
            return False

    def robots_sitemaps_read(self, netloc: str, robots_url: str, sitemaps: list[str]) -> None:
        """``robots_sitemaps_found`` handler: schedule the sitemaps that a start origin's
        robots.txt names (the middleware read it; no second download)."""
        for request in self.robots_sitemap_requests(netloc, sitemaps):
            self.crawler.engine.crawl(request)

    def robots_sitemap_requests(self, netloc: str, sitemaps: list[str]) -> Iterator[Request]:
        """Requests for the in-scope ``sitemaps`` of ``netloc``'s robots.txt, once per
        start origin (other origins' robots.txt are not discovery seeds)."""
        netloc = netloc.lower()
        if netloc not in self._robots_origins:
            return
        self._robots_origins.discard(netloc)
        yield from self._sitemap_requests(sitemaps)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """robots.txt fetched by the spider itself (no robots.txt middleware running)."""
        if not self.response_ok(response) or not isinstance(response, TextResponse):
            return
        yield from self._sitemap_requests(robots_sitemaps(response.text, response.url))

    def _sitemap_requests(self, sitemaps: list[str]) -> Iterator[Request]:
        for found in sitemaps:
            url = normalize_url(found)
            if not self.in_scope(url):
                self._stat("newsarchive/discovery/offsite")
                continue
            self._stat("newsarchive/discovery/robots_sitemaps")
            request = self.make_request(url, "sitemap", {"via": "robots"},
                                        {"sitemap_depth": 0})
            if request is not None:
                yield request

    # ---- pages ---------------------------------------------------------------------------

    def parse_page(self, response: Response) -> Iterator[Any]:
        """Classify a fetched page, then archive it, follow it, or leave it."""
        meta = response.meta
        self._done(meta)
        if not self.usable_html(response):
            return
        if TRUNCATION_FLAGS.intersection(response.flags):
            self._stat("newsarchive/discovery/skipped_truncated")
            return
        url = normalize_url(response.url)
        view = read_page(response.text, response.url)
        kind = view.kind
        if kind == "other" and self.outlet.article_prior(url) and view.prose_chars:
            kind = "article"  # the operator's rule breaks a tie
        self._stat(f"newsarchive/pages/{kind}")
        yield from self._advertised_feeds(view.feeds)
        # pages that bring no new article sink: their links wait behind productive ones
        headlines = [link for link in view.links
                     if link.is_headline and not is_paginated(link.url)]
        fresh = sum(1 for link in headlines if self._is_new(link))
        barren = 0 if fresh else int(meta.get("barren", 0)) + 1
        if kind == "article":
            self._candidates.add(url)
            canonical = canonical_link(response.text, response.url)
            if canonical:
                canonical = normalize_url(canonical)
                self._canonical_seen.add(canonical)
                self._requested.add(canonical)
            yield self.article_item(response, canonical)
            hops = int(meta.get("article_hops", 0))
            if hops < MAX_ARTICLE_HOPS:
                yield from self._follow_links(response, view.links, "article",
                                              {"article_hops": hops + 1, "barren": barren})
            else:  # kept in case a listing shows this article later (a shorter path)
                held = [link for link in view.links if link.is_headline][:MAX_HELD_LINKS]
                for source in {meta.get(PENDING_KEY), url} - {None}:
                    self._held[normalize_url(source)] = held
            return
        for source in (meta.get(PENDING_KEY), url, *(meta.get("redirect_urls") or [])):
            if source:
                self.ledger.settle(normalize_url(source), "not_an_article")
        if kind == "listing" or meta.get("seed"):
            # the pagination walk counts its own barren pages (the first page starts at 0);
            # new there means new to the archive: an article another listing showed first
            # in this run still says the older pages are worth walking
            unarchived = fresh or any(self._is_new(link, this_run=False) for link in headlines)
            series_barren = 0 if unarchived else int(meta.get("series_barren", 0)) + 1
            yield from self._walk(response, view, barren, series_barren)
        else:
            # an "other" page: its headline links are still tried, its navigation is not
            headlines = [link for link in view.links if link.is_headline]
            yield from self._follow_links(response, headlines, "other",
                                          {"article_hops": 0, "barren": barren})

    def _walk(self, response: Response, view: Any, barren: int,
              series_barren: int) -> Iterator[Request]:
        """Follow a listing's links; of its pagination, only the next page, and only
        until ``BARREN_PAGES`` pages in a row brought no new article."""
        links = [link for link in view.links if page_ref(link.url) is None
                 or page_ref(link.url).number <= 1]
        yield from self._follow_links(response, links, "listing",
                                      {"article_hops": 0, "barren": barren})
        following = next_page(response.url, [link.url for link in view.links], view.next_urls)
        if following is None:
            return
        if series_barren >= BARREN_PAGES:
            self._stat("newsarchive/discovery/pagination_stopped")
            return
        request = self.follow_generic(following, {"via": "listing", "found_on": response.url},
                                      "nav", {"barren": barren, "series_barren": series_barren,
                                              "article_hops": 0})
        if request is not None:
            yield request

    def _is_new(self, link: PageLink, this_run: bool = True) -> bool:
        """A link to an article the state does not hold (and, with ``this_run``, this run
        has not seen yet), or to an archived one whose listing shows a newer modified
        time (an edit)."""
        url = normalize_url(link.url)
        if this_run and (url in self._candidates or url in self._requested):
            return False
        if not this_run and url in self._requested:
            return True  # fetched by this run: archived now, but not before it
        if not self.is_archived(url):
            return True
        return bool(link.modified) and self.edited_since_check(url, {"modified": link.modified},
                                                               claim=False)

    def _follow_links(self, response: Response, links: list[PageLink], via: str,
                      extra_meta: dict[str, Any]) -> Iterator[Request]:
        page = normalize_url(response.url)
        for link in links:
            url = normalize_url(link.url)
            if url == page or not url.startswith(("http://", "https://")):
                continue
            candidate = link.is_headline or self.outlet.article_prior(url) \
                or (looks_like_article(url) and not self.outlet.is_listing_url(url))
            if candidate and via == "listing" and self.in_scope(url):
                self.ledger.declare("listing", url)
            if candidate and self.in_scope(url):
                self._candidates.add(url)
            if url in self._requested:
                yield from self._shorter_path(response, url, extra_meta)
                continue
            hints: dict[str, Any] = {"via": via, "found_on": response.url}
            if link.modified:
                hints["modified"] = link.modified
            request = self.follow_generic(url, hints, "article" if candidate else "nav",
                                          extra_meta)
            if request is not None:
                yield request

    def _shorter_path(self, response: Response, url: str,
                      extra_meta: dict[str, Any]) -> Iterator[Request]:
        """A known article found again closer to a listing: its hop count is the shorter
        one (a pending request is updated; the held links of one fetched at the hop
        limit are followed now), so related coverage does not depend on fetch order."""
        hops = int(extra_meta.get("article_hops", 0))
        pending = self._pending.get(url)
        if pending is not None:
            if int(pending.meta.get("article_hops", 0)) > hops:
                pending.meta["article_hops"] = hops
            return
        held = self._held.pop(url, None)
        if held and hops < MAX_ARTICLE_HOPS:
            self._stat("newsarchive/discovery/held_links_followed")
            yield from self._follow_links(response, held, "article",
                                          {**extra_meta, "article_hops": hops + 1})

    def _advertised_feeds(self, feeds: list[str]) -> Iterator[Request]:
        """``<link rel=alternate>`` feeds, when the outlet file names none."""
        if self.outlet.feeds:
            return
        for feed in feeds:
            url = normalize_url(feed)
            if url in self._feeds_found or not self.in_scope(url):
                continue
            self._feeds_found.add(url)
            self._stat("newsarchive/discovery/advertised_feeds")
            request = self.make_request(url, "feed", {"via": "alternate"})
            if request is not None:
                yield request

