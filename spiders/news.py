"""The config-driven news spider: one class, every outlet described by YAML.

The flow of a crawl, and where each step lives:

1. seeds: start URLs (fronts), feeds and sitemaps, plus due edit re-checks
   (:meth:`NewsSpider.start_requests`, here);
2. scope and request building: whether a URL may be fetched, as which kind, at which
   priority (spiders/scope.py), asking the run's state and ``--since``
   (spiders/incremental.py);
3. response checks: error statuses, empty bodies, non-HTML (spiders/responses.py);
4. discovery: fronts, listings, feeds and sitemaps yield more requests
   (spiders/discovery.py);
5. articles: an article response becomes a plain-dict ArticlePage item
   (spiders/articles.py);
6. resources: every page's stylesheets, scripts, fonts and images (spiders/resources.py,
   added by its spider middleware);
7. generic discovery, the default when the outlet names no ``article_urls``: every
   page is classified from its content and followed by its kind (spiders/generic.py);
8. coverage: what feeds, sitemaps and listings declared against what was archived, for
   the run report (spiders/coverage.py).

Capture, extraction and storage happen in crawler/, so the spider never writes files.
This module wires the parts into :class:`NewsSpider` and picks the spider class an
outlet's ``spider`` key names.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.http import Request
from scrapy.settings import SETTINGS_PRIORITIES

from archive.outlet.config import OutletConfig
from archive.outlet.urls import article_key_rules
from crawler.outlets import resolve_outlet
from crawler.robots import robots_sitemaps_found
from crawler.samples import count_failure
from spiders import OUTLETS_DIR
from spiders.articles import ArticleCallbacks
from spiders.coverage import CoverageSignals
from spiders.discovery import DEFAULT_MAX_LISTING_HOPS, MAX_SITEMAP_DEPTH, DiscoveryCallbacks
from spiders.generic import GenericDiscovery
from spiders.incremental import IncrementalChecks
from spiders.resources import ResourceCallbacks
from spiders.responses import ResponseChecks
from spiders.scope import CrawlScope

# spider name (outlet YAML key ``spider``) -> "module:Class"; imported lazily to avoid
# import cycles (overrides subclass NewsSpider).
SPIDERS: dict[str, str] = {
    "news": "spiders.news:NewsSpider",
    "rudaw": "spiders.rudaw:RudawSpider",
}


def register_spider(name: str, dotted: str) -> None:
    """Make ``spider: <name>`` in outlet YAML select ``dotted`` ("module:Class")."""
    SPIDERS[name] = dotted


def spider_class_for(outlet: OutletConfig | str | Path) -> type[NewsSpider]:
    """The spider class an outlet's ``spider`` key selects ("news" when absent)."""
    outlet = resolve_outlet(outlet)
    dotted = SPIDERS.get(outlet.spider)
    if dotted is None:
        where = outlet.source_path or outlet.name
        raise ValueError(f"{where}: unknown spider {outlet.spider!r} "
                         f"(known: {', '.join(sorted(SPIDERS))})")
    module_name, _, class_name = dotted.partition(":")
    cls = getattr(import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, NewsSpider)):
        raise TypeError(f"{dotted} is not a NewsSpider subclass")
    return cls


class NewsSpider(GenericDiscovery, CoverageSignals, DiscoveryCallbacks, ArticleCallbacks,
                 ResourceCallbacks, ResponseChecks, CrawlScope, IncrementalChecks, scrapy.Spider):
    """Generic outlet spider.  ``NewsSpider(outlet=OutletConfig | path | name)``.

    ``scrapy crawl news -a outlet=path/to/outlet.yaml`` works; so does passing an
    OutletConfig from the CLI.  Optional ``max_articles`` stops scheduling article
    requests after that many (the hard caps are CLOSESPIDER settings).
    """

    name = "news"
    default_outlet: str | None = None  # file in spiders/outlets/ used when none is given

    def __init__(self, outlet: OutletConfig | str | Path | None = None,
                 max_articles: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if outlet is None:
            if not self.default_outlet:
                raise ValueError(f"{type(self).__name__} needs outlet=<OutletConfig | YAML path "
                                 "| registered outlet name>")
            outlet = OUTLETS_DIR / self.default_outlet
        self.outlet: OutletConfig = resolve_outlet(outlet)
        article_key_rules(self.outlet)  # fail at start-up on malformed rules
        self.allowed_domains = self.outlet.hosts()
        self.start_urls = list(self.outlet.start_urls)
        self._named_origins = self.outlet.named_origins()
        self.max_articles = int(max_articles) if max_articles not in (None, "") else None
        extra = self.outlet.extra or {}
        self.max_listing_hops = int(extra.get("max_listing_hops", DEFAULT_MAX_LISTING_HOPS))
        self.max_sitemap_depth = int(extra.get("max_sitemap_depth", MAX_SITEMAP_DEPTH))
        self._articles_scheduled = 0
        self._cap_logged = False
        self._canonical_seen: set[str] = set()
        self._refused_urls: set[str] = set()
        # article requests scheduled but not answered yet, by normalised URL
        self._pending: dict[str, Request] = {}
        self._edit_rechecks: set[str] = set()
        # generic discovery (pages decide) unless the outlet file chose URL rules
        self.generic = self.outlet.discovery == "generic"
        self.init_generic()

    # ---- Scrapy wiring -------------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Per-outlet politeness, unless the operator set it explicitly (cmdline/-s wins).
        settings = crawler.settings
        if not settings.frozen:
            for setting, value in (("DOWNLOAD_DELAY", spider.outlet.download_delay),
                                   ("CONCURRENT_REQUESTS_PER_DOMAIN",
                                    spider.outlet.concurrency)):
                if (settings.getpriority(setting) or 0) < SETTINGS_PRIORITIES["spider"]:
                    settings.set(setting, value, priority="spider")
        crawler.signals.connect(spider._log_summary, signal=signals.spider_closed)
        crawler.signals.connect(spider.item_archived, signal=signals.item_scraped)
        crawler.signals.connect(spider.item_not_archived, signal=signals.item_dropped)
        crawler.signals.connect(spider.robots_sitemaps_read, signal=robots_sitemaps_found)
        return spider

    def _stat(self, key: str, count: int = 1) -> None:
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value(key, count)

    def fail(self, kind: str, url: str, detail: str = "") -> None:
        """Count ``newsarchive/failures/<kind>`` and log one clear line."""
        count_failure(getattr(self, "crawler", None), kind, url)
        self.logger.warning("%s: %s%s", kind, url, f" ({detail})" if detail else "")

    def _log_summary(self, spider: scrapy.Spider, reason: str) -> None:
        if spider is self:
            self.logger.info("%s: %d article requests scheduled", self.outlet.name,
                             self._articles_scheduled)

    # ---- seeds ---------------------------------------------------------------------------

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[Request]:
        """Fronts, feeds and sitemaps of the outlet, then the due edit re-checks."""
        for url in self.outlet.start_urls:
            if self.generic:  # the page decides what a start page is
                request = self.make_request(url, "page", {"via": "seed"}, {"seed": True},
                                            callback="parse_page", priority=10)
            else:
                request = self.make_request(url, "front", {"via": "seed"})
            if request is not None:
                self._requested.add(request.url)
                yield request
        if self.generic:
            yield from self.generic_seeds()
        for url in self.outlet.feeds:
            request = self.make_request(url, "feed", {"via": "seed"})
            if request is not None:
                yield request
        for url in self.outlet.sitemaps:
            request = self.make_request(url, "sitemap", {"via": "seed"},
                                        extra_meta={"sitemap_depth": 0})
            if request is not None:
                yield request
        yield from self.recheck_requests()
