"""robots.txt, obeyed strictly from the very first request.

Scrapy's RobotsTxtMiddleware treats a robots.txt that could not be fetched (network
error, 5xx) as "allow everything".  RFC 9309 §2.3.1.4 says the opposite: an unreachable
robots.txt means *complete disallow* until it can be read, while a 4xx means there are
no rules.  This subclass keeps Scrapy's machinery (one robots.txt download per origin,
every other request to that origin waits for it) and fixes that policy, and counts every
refusal in the run report.

It also fixes a race in Scrapy 2.19: while robots.txt downloads, every other request to
that origin awaits the same Deferred through ``maybe_deferred_to_future``, and Twisted's
``Deferred.asFuture`` does not pass the result on to later callbacks, so only the first
waiter got the parser and the others got ``None`` — "no robots.txt, allow everything".
Concurrent start URLs, feeds and sitemaps under a disallowed path were fetched.  Here
each waiter gets a Deferred of its own and reads the installed parser afterwards.
"""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.samples import count_failure

logger = logging.getLogger(__name__)


class DisallowAll(RobotParser):
    """Stands in for a robots.txt that could not be read (server or network error)."""

    def __init__(self, reason: str):
        self.reason = reason

    @classmethod
    def from_crawler(cls, crawler, robotstxt_body):  # pragma: no cover - not built by Scrapy
        return cls("constructed")

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False


class StrictRobotsTxtMiddleware(RobotsTxtMiddleware):
    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        entry = self._parsers.get(netloc)
        while isinstance(entry, Deferred):
            arrived: Deferred = Deferred()

            def relay(result, arrived=arrived):
                arrived.callback(None)
                return result  # keep the result for every other waiter

            entry.addBoth(relay)
            await maybe_deferred_to_future(arrived)
            entry = self._parsers.get(netloc)
        if netloc in self._parsers:
            return entry
        return await super().robot_parser(request)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            logger.warning("robots.txt for %s answered %d: treating the site as disallowed",
                           netloc, response.status)
            self._install(netloc, DisallowAll(f"robots.txt answered {response.status}"))
            return
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        logger.warning("robots.txt for %s could not be fetched (%s): treating the site as "
                       "disallowed", netloc, exc)
        self._install(netloc, DisallowAll(f"robots.txt unreachable: {exc}"))

    def _install(self, netloc: str, parser: RobotParser) -> None:
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if pending is not None and hasattr(pending, "callback") and not pending.called:
            pending.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest:
            count_failure(self.crawler, "robots_forbidden", request.url)
            logger.info("robots.txt forbids %s", request.url)
            raise
