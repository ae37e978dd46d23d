"""Downloader middlewares that refuse destinations the outlet did not name.

``AddressGuardMiddleware`` sits before every other downloader middleware so that a
refused request is never downloaded and so never reaches the WARC; redirects re-enter the
middleware chain as new requests, so a redirect to a metadata endpoint is caught the same
way.  It decides on what the URL itself says: IP literals (port included), loopback names,
credentials in the URL, a port that is not a port.  Host *names* are decided where they
are resolved, by the reactor's resolver (crawler/resolver.py), on the very answer the
connection uses: checking here and connecting later was the DNS-rebinding hole.

``RefusedResolutionMiddleware`` sits next to the downloader (its ``process_exception``
runs before RetryMiddleware's) and turns the resolver's refusal, which reaches Scrapy as
a plain DNS failure, into a counted, never-retried refusal.

Refusals are counted as ``newsarchive/refused/<kind>``, apart from failures: they are
the crawler keeping itself safe, not the site breaking.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

from archive.outlet.netguard import AddressPolicy
from crawler import resolver
from crawler.scrub import scrub_url

logger = logging.getLogger(__name__)

REFUSED_ADDRESS = "newsarchive/refused/address"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class RefusedAddress(IgnoreRequest):
    """The destination is private/loopback/link-local and not named by the outlet."""


def _no_lookup(host: str) -> list[str]:
    """Host names are checked by the resolver at connect time, not here."""
    return []


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._policy: AddressPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuardMiddleware:
        return cls(crawler)

    def _policy_for(self, spider: Spider | None) -> AddressPolicy:
        if self._policy is None:
            outlet = getattr(spider, "outlet", None)
            origins = outlet.named_origins() if outlet is not None else set()
            resolver.allow_hosts(o.host for o in origins if not resolver.is_ip_literal(o.host))
            self._policy = AddressPolicy(origins, resolver=_no_lookup)
        return self._policy

    def process_request(self, request: Request) -> None:
        reason = self._policy_for(self.crawler.spider).refusal_reason(request.url)
        if reason is None:
            return
        self.crawler.stats.inc_value(REFUSED_ADDRESS)
        url = scrub_url(request.url)
        logger.warning("refused %s: %s", url, reason)
        raise RefusedAddress(f"refused {url}: {reason}")


class RedirectGuardMiddleware(AddressGuardMiddleware):
    """Refuses a redirect whose Location the guard would refuse, before RedirectMiddleware
    (600) builds a request of it: a Location with a port that is not a port made it
    raise ValueError (a traceback, the page lost as a "download error")."""

    def process_request(self, request: Request) -> None:
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in REDIRECTS or not location:
            return response
        target = urljoin(response.url, location.decode("latin-1").strip())
        reason = self._policy_for(self.crawler.spider).refusal_reason(target)
        if reason is None:
            return response
        self.crawler.stats.inc_value(REFUSED_ADDRESS)
        logger.warning("refused the redirect from %s to %s: %s", scrub_url(response.url),
                       scrub_url(target), reason)
        raise RefusedAddress(f"refused redirect to {scrub_url(target)}: {reason}")


class RefusedResolutionMiddleware:
    """Counts the resolver's refusals for this crawl and stops them being retried."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RefusedResolutionMiddleware:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, (DNSLookupError, CannotResolveHostError)):
            return
        reason = resolver.refusal_for(urlparse_cached(request).hostname)
        if reason is None:
            return
        self.crawler.stats.inc_value(REFUSED_ADDRESS)
        raise RefusedAddress(f"refused {scrub_url(request.url)}: {reason}")
