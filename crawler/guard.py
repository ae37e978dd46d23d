"""Downloader middleware that refuses private destinations the outlet did not name.

It sits before every other downloader middleware so that a refused request is never
downloaded and so never reaches the WARC; redirects re-enter the middleware chain as new
requests, so a redirect to a metadata endpoint is caught the same way.
"""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from archive.outlet.netguard import AddressPolicy
from crawler.samples import count_failure

logger = logging.getLogger(__name__)


class RefusedAddress(IgnoreRequest):
    """The destination is private/loopback/link-local and not named by the outlet."""


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
            self._policy = AddressPolicy(origins)
        return self._policy

    def process_request(self, request: Request) -> None:
        reason = self._policy_for(self.crawler.spider).refusal_reason(request.url)
        if reason is None:
            return
        count_failure(self.crawler, "refused_address", request.url)
        logger.warning("refused %s: %s", request.url, reason)
        raise RefusedAddress(f"refused {request.url}: {reason}")
