"""Incremental fetching: conditional requests, and no second fetch of archived articles.

Conditional re-fetches of fronts, feeds, sitemaps and page resources (If-None-Match,
If-Modified-Since):

Listing pages are fetched every run; when the server supports validators an unchanged one
costs a 304 instead of the whole page, and the capture extension records that 304 as a
``server-not-modified`` revisit.  The validators come from the previous 200 capture.
A request with ``meta["unconditional"]`` is sent without them (a stylesheet: its body is
needed to revalidate the fonts and images it names).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from archive.outlet.urls import article_key
from crawler.context import RunContext

CONDITIONAL_KINDS = frozenset({"front", "listing", "feed", "sitemap", "resource"})


class ConditionalRequestMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("kind") not in CONDITIONAL_KINDS or request.meta.get(
                "unconditional"):
            return
        state = RunContext.for_crawler(self.crawler).state
        if state is None:
            return
        validators = state.get_validators(request.url)
        if validators is None or not validators.captured:
            return  # without the original capture's date a 304 could not be resolved
        if validators.etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = validators.etag
        if validators.last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = validators.last_modified


class ArchivedRedirectMiddleware:
    """Drops a redirect hop that lands on an article archived already.

    The spider skips archived articles by URL, but a legacy URL that redirects to a known
    article is only recognised once the redirect arrives: RedirectMiddleware's new request
    would fetch the article again.  Here that hop is dropped, and the legacy URL is
    remembered as an alias so the next run does not even request it.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivedRedirectMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get("kind") != "article" or meta.get("recheck") or not meta.get("redirect_urls"):
            return
        context = RunContext.for_crawler(self.crawler)
        state, outlet = context.state, context.outlet
        if state is None or not outlet.is_article_url(request.url):
            return
        key = article_key(outlet, request.url)
        info = state.article_info(outlet.name, key)
        if info is None:
            return
        for source in meta["redirect_urls"]:
            alias = article_key(outlet, source)
            if alias != key and outlet.is_article_url(source):
                state.record_article(outlet.name, alias, source, info.content_sha256,
                                     info.version, info.last_fetched, info.published)
        self.crawler.stats.inc_value("newsarchive/discovery/archived")
        raise IgnoreRequest(f"redirect to an archived article: {request.url}")
