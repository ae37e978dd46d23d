"""The config-driven news spider: one class, every outlet described by YAML.

Discovery, in the order an operator expects: start URLs (fronts), feeds and sitemaps
are seeds; fronts and listing pages are mined for links to articles and to more
listings (that is how pagination is followed); feeds and sitemaps give article URLs
with hints (title, dates).  Article responses become plain-dict items (ArticlePage,
fields in :func:`NewsSpider.article_item`); capture, extraction and storage happen
elsewhere (crawler/), so this module never writes files.

Why link extraction only on fronts and listings: pulling every link out of an
article page costs ~24 ms of CPU per page and mostly finds navigation; article pages
only have their ``<link rel=canonical>`` read.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.url import url_is_from_any_domain

from archive.discover.feeds import FeedError, parse_feed
from archive.discover.sitemaps import SitemapError, parse_sitemap
from archive.extract.charset import header_charset
from archive.outlet.config import Origin, OutletConfig, load_outlet
from archive.outlet.netguard import is_restricted_address
from archive.outlet.urls import article_key, article_key_rules, normalize_url
from spiders import OUTLETS_DIR

# Statuses that reach the callbacks (to be counted) instead of being dropped by
# HttpErrorMiddleware.  Not ``handle_httpstatus_all``: that also switches off
# RedirectMiddleware, and redirects must still be followed (and captured).
ERROR_STATUSES = tuple(range(400, 600))
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_SITEMAP_DEPTH = 3  # index -> index -> index -> urlset; a loop stops here
DEFAULT_MAX_LISTING_HOPS = 50  # listing -> listing chains (pagination) per front
TRUNCATION_FLAGS = frozenset({"dataloss", "download_stopped"})  # Scrapy response.flags
PENDING_KEY = "newsarchive_discovered_url"  # meta: the URL as the spider scheduled it

KIND_PRIORITY = {"article": 10, "feed": 5, "sitemap": 5, "front": 0, "listing": 0}
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HEAD_END = re.compile(r"</head\s*>|<body\b", re.IGNORECASE)
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head)\b",
    re.IGNORECASE | re.DOTALL)
_LOCAL_NAMES = {"localhost", "localhost.localdomain"}

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
    if not isinstance(outlet, OutletConfig):
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


def resolve_outlet(outlet: OutletConfig | str | Path) -> OutletConfig:
    """An OutletConfig from itself, a YAML path, or a registered outlet name."""
    if isinstance(outlet, OutletConfig):
        return outlet
    path = Path(outlet)
    if not path.exists() and re.fullmatch(r"[a-z0-9_-]+", str(outlet)):
        registered = OUTLETS_DIR / f"{outlet}.yaml"
        if registered.exists():
            path = registered
    return load_outlet(path)


def _is_local_host(host: str) -> bool:
    """IP literals and localhost: only reachable when their origin is named explicitly."""
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def canonical_link(html: str, base_url: str) -> str | None:
    """The absolute ``<link rel=canonical href>`` from the page head, or None.

    A regex over the head instead of a DOM parse: this runs on every article in the
    Scrapy process, and the full parse happens later in the extraction pool.
    """
    end = _HEAD_END.search(html)
    head = html[: end.start()] if end else html[:200_000]
    for tag in _LINK_TAG.findall(head):
        attrs = {}
        for name, v1, v2, v3 in _ATTR.findall(tag):
            attrs[name.lower()] = v1 or v2 or v3
        if "canonical" in attrs.get("rel", "").lower().split() and attrs.get("href"):
            href = attrs["href"].strip().replace("&amp;", "&")
            absolute = urljoin(base_url, href)
            if absolute.startswith(("http://", "https://")):
                return absolute
    return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class NewsSpider(scrapy.Spider):
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
        return spider

    def _stat(self, key: str, count: int = 1) -> None:
        crawler = getattr(self, "crawler", None)
        if crawler is not None and crawler.stats is not None:
            crawler.stats.inc_value(key, count)

    def fail(self, kind: str, url: str, detail: str = "") -> None:
        """Count ``newsarchive/failures/<kind>`` and log one clear line."""
        self._stat(f"newsarchive/failures/{kind}")
        self.logger.warning("%s: %s%s", kind, url, f" ({detail})" if detail else "")

    def _log_summary(self, spider: scrapy.Spider, reason: str) -> None:
        if spider is self:
            self.logger.info("%s: %d article requests scheduled", self.outlet.name,
                             self._articles_scheduled)

    async def start(self):
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[Request]:
        for url in self.outlet.start_urls:
            request = self.make_request(url, "front", {"via": "seed"})
            if request is not None:
                yield request
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

    # ---- incremental crawling ------------------------------------------------------------

    def _run_context(self) -> Any:
        """The crawl's RunContext when the newsarchive pipeline runs (None for a bare spider)."""
        crawler = getattr(self, "crawler", None)
        return getattr(crawler, "_newsarchive_context", None) if crawler else None

    def is_archived(self, url: str) -> bool:
        """True when the state says the article behind ``url`` is archived already."""
        context = self._run_context()
        state = context.state if context is not None else None
        if state is None:
            return False
        return state.is_archived(self.outlet.name, article_key(self.outlet, url))

    def recheck_requests(self) -> Iterator[Request]:
        """Archived articles whose edit re-check is due (the outlet's recheck schedule)."""
        context = self._run_context()
        state = context.state if context is not None else None
        if state is None or not context.schedule.intervals:
            return
        due = state.due_rechecks(self.outlet.name, datetime.now(UTC), context.schedule)
        self._stat("newsarchive/discovery/rechecks_due", len(due))
        for _key, url in due:
            request = self.make_request(url, "article", {"via": "recheck"}, {"recheck": True})
            if request is not None:
                yield request

    def too_old(self, *moments: datetime | None) -> bool:
        """True when ``--since`` is set and the entry's newest date is before it."""
        context = self._run_context()
        since = context.since if context is not None else None
        known = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments if m is not None]
        if since is None or not known:
            return False
        if max(known) < since:
            self._stat("newsarchive/discovery/older_than_since")
            return True
        return False

    # ---- scope and request building ------------------------------------------------------

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
            self._stat("newsarchive/refused/address")
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
                     extra_meta: dict[str, Any] | None = None) -> Request | None:
        """A request of ``kind`` for ``url`` (normalised), or None when it must not be sent.

        Seeds go through the same deny check as discovered links: an operator's
        start URL on a denied path is still not requested.
        """
        url = normalize_url(url)
        if self.outlet.is_denied_url(url):
            self._stat("newsarchive/discovery/denied")
            return None
        if kind == "article":
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
            if not (extra_meta or {}).get("recheck") and self.is_archived(url):
                self._stat("newsarchive/discovery/archived")
                return None
            if self.max_articles is not None and self._articles_scheduled >= self.max_articles:
                if not self._cap_logged:
                    self._cap_logged = True
                    self.logger.info("max_articles=%d reached: no more article requests",
                                     self.max_articles)
                return None
            self._articles_scheduled += 1
        callback = {
            "front": self.parse_front, "listing": self.parse_listing, "feed": self.parse_feed,
            "sitemap": self.parse_sitemap, "article": self.parse_article,
        }[kind]
        meta = {"kind": kind, "hints": dict(hints or {}),
                "handle_httpstatus_list": ERROR_STATUSES, PENDING_KEY: url}
        meta.update(extra_meta or {})
        self._stat(f"newsarchive/discovered/{kind}")
        request = Request(url, callback=callback, errback=self.on_error, meta=meta,
                          priority=KIND_PRIORITY.get(kind, 0))
        if kind == "article":
            self._pending[url] = request
        return request

    def _done(self, meta: dict[str, Any]) -> None:
        self._pending.pop(meta.get(PENDING_KEY, ""), None)

    def follow(self, url: str, hints: dict[str, Any], listing_hops: int) -> Request | None:
        """A request for a discovered link if it is an article or listing in scope."""
        kind = self.classify(normalize_url(url))
        if kind is None:
            return None
        if kind == "listing":
            if listing_hops > self.max_listing_hops:
                self._stat("newsarchive/discovery/listing_hops_cap")
                return None
            return self.make_request(url, kind, hints, {"listing_hops": listing_hops})
        return self.make_request(url, kind, hints)

    # ---- response checks -----------------------------------------------------------------

    def response_ok(self, response: Response) -> bool:
        """Count and drop non-200 responses (they never become items)."""
        if response.status != 200:
            self.fail(f"http_{response.status}", response.url)
            return False
        return True

    @staticmethod
    def content_type(response: Response) -> str | None:
        value = response.headers.get(b"Content-Type")
        return value.decode("latin-1").strip() if value else None

    def is_html(self, response: Response) -> bool:
        """HTML by header, or by sniffing when the header is missing or generic."""
        ctype = (self.content_type(response) or "").split(";", 1)[0].strip().lower()
        if ctype in HTML_TYPES:
            return True
        if ctype in ("", "application/octet-stream", "text/plain", "binary/octet-stream"):
            return bool(_HTML_START.match(response.body[:4096]))
        return False

    # ---- callbacks -----------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        """Default callback (requests without one): treat as a front page."""
        return self.parse_front(response)

    def parse_front(self, response: Response) -> Iterator[Any]:
        yield from self._parse_page(response, "front")

    def parse_listing(self, response: Response) -> Iterator[Any]:
        yield from self._parse_page(response, "listing")

    def usable_html(self, response: Response) -> bool:
        """A 200 HTML page with a body; anything else is counted as a failure of its kind."""
        if not self.response_ok(response):
            return False
        if not response.body:
            self.fail("empty_body", response.url)
            return False
        if not isinstance(response, TextResponse) or not self.is_html(response):
            self.fail("not_html", response.url, self.content_type(response) or "no type")
            return False
        return True

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
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
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
            request = self.follow(entry.url, {k: v for k, v in hints.items() if v}, 1)
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
            if depth >= self.max_sitemap_depth:
                self._stat("newsarchive/discovery/sitemap_depth_cap")
                self.logger.warning("sitemap %s: index nested deeper than %d, not followed",
                                    response.url, self.max_sitemap_depth)
                return
            for entry in sitemap.entries:
                url = normalize_url(entry.url)
                if self.too_old(entry.lastmod):
                    continue
                if self.outlet.is_denied_url(url) or not self.in_scope(url):
                    self._stat("newsarchive/discovery/offsite")
                    continue
                hints = {"via": "sitemap", "found_on": response.url,
                         "lastmod": _iso(entry.lastmod)}
                request = self.make_request(url, "sitemap",
                                            {k: v for k, v in hints.items() if v},
                                            {"sitemap_depth": depth + 1})
                if request is not None:
                    yield request
            return
        self._stat("newsarchive/discovery/sitemap_entries", len(sitemap.entries))
        for entry in sitemap.entries:
            if self.too_old(entry.lastmod, entry.published):
                continue
            hints = {"via": "sitemap", "found_on": response.url, "title": entry.title,
                     "published": _iso(entry.published), "lastmod": _iso(entry.lastmod)}
            request = self.follow(entry.url, {k: v for k, v in hints.items() if v}, 1)
            if request is not None:
                yield request

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        self._done(response.meta)
        if not self.usable_html(response):
            return
        cut = TRUNCATION_FLAGS.intersection(response.flags)
        if cut:
            # Counted (truncated/oversize) and archived by the capture extension; a cut
            # page must not become a corpus record.
            self._stat("newsarchive/discovery/skipped_truncated")
            self.logger.info("not extracting %s: body cut short (%s)", response.url,
                             ", ".join(sorted(cut)))
            return
        canonical = canonical_link(response.text, response.url)
        if canonical:
            canonical = normalize_url(canonical)
            # A later discovery of the canonical URL is not requested again.
            self._canonical_seen.add(canonical)
        yield self.article_item(response, canonical)

    def article_item(self, response: Response, canonical: str | None) -> dict[str, Any]:
        """The ArticlePage item (a plain dict) the capture/extraction pipelines consume."""
        content_type = self.content_type(response)
        redirects = response.meta.get("redirect_urls") or []
        return {
            "outlet": self.outlet.name,
            "url": response.url,
            "request_url": redirects[0] if redirects else response.url,
            "canonical_url": canonical,
            "status": response.status,
            "body": response.body,
            "encoding": header_charset(content_type),
            "content_type": content_type,
            "warc_record": response.meta.get("warc_record"),
            "fetched_at": utc_now(),
            "kind": "article",
            "hints": dict(response.meta.get("hints") or {}),
            "recheck": bool(response.meta.get("recheck")),
            "revisit": response.meta.get("warc_revisit"),
        }

    def on_error(self, failure) -> None:
        """Download errors (DNS, refused, timeout, truncated): count, log, go on."""
        request = getattr(failure, "request", None)
        if request is not None:
            self._done(request.meta)
        if failure.check(IgnoreRequest):
            return  # offsite/robots/guard drops: counted by the middleware that dropped it
        url = request.url if request is not None else "?"
        self.fail("download_error", url, f"{failure.type.__name__}: {failure.getErrorMessage()}")
