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

Rules are matched on the path as a server will understand it, not as written:
``/./private/x``, ``//private/x`` and ``/a/../private/x`` all mean ``/private/x`` and were
fetched despite ``Disallow: /private``.  A URL is refused when either form is disallowed.
robots.txt's ``Crawl-delay`` is obeyed: the host's delay becomes the larger of the
outlet's and the site's (crawler/backoff.py keeps it, capped).

The ``Sitemap:`` lines of every robots.txt read with a 200 are announced with the
``robots_sitemaps_found`` signal, so generic discovery (spiders/generic.py) learns them
from this one download instead of fetching robots.txt a second time.
"""

from __future__ import annotations

import logging
import posixpath
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from archive.discover.sitemaps import robots_sitemaps
from crawler.backoff import HostPacer
from crawler.samples import count_failure

logger = logging.getLogger(__name__)

REFUSED_ROBOTS = "newsarchive/refused/robots"
_SLASHES = re.compile(r"/{2,}")
_UNRESERVED = re.compile(r"%(2[DdEe]|5[Ff]|7[Ee]|[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9])")

# Sent once per robots.txt read with a 200 that names sitemaps; handlers get
# ``netloc`` (the origin's, as the middleware keys it), ``robots_url`` and ``sitemaps``
# (absolute URLs, in file order).
robots_sitemaps_found = object()


def normalised_url(url: str) -> str:
    """``url`` with its path as a server resolves it: dot segments removed, runs of
    slashes collapsed, percent-encoded unreserved characters decoded (RFC 3986 6.2.2)."""
    parts = urlsplit(url)
    path = _UNRESERVED.sub(lambda m: unquote(m.group(0)), parts.path or "/")
    path = _SLASHES.sub("/", path)
    trailing = path.endswith(("/", "/.", "/.."))
    path = posixpath.normpath(path)
    if path.startswith("//"):  # normpath keeps a leading "//" (POSIX)
        path = "/" + path.lstrip("/")
    if trailing and path != "/":
        path += "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


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

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._unreachable(netloc)
        logger.warning("robots.txt for %s could not be fetched (%s): treating the site as "
                       "disallowed", netloc, exc)
        self._install(netloc, DisallowAll(f"robots.txt unreachable: {exc}"))

    def _unreachable(self, netloc: str) -> None:
        """Counted twice: for the outcome (robots/) and as a failure (the site is down)."""
        self.crawler.stats.inc_value("newsarchive/robots/unreachable")
        count_failure(self.crawler, "robots_unreachable", f"//{netloc}/robots.txt")

    def _install(self, netloc: str, parser: RobotParser) -> None:
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if pending is not None and hasattr(pending, "callback") and not pending.called:
            pending.callback(parser)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            self._unreachable(netloc)
            logger.warning("robots.txt for %s answered %d: treating the site as disallowed",
                           netloc, response.status)
            self._install(netloc, DisallowAll(f"robots.txt answered {response.status}"))
            return
        self.crawler.stats.inc_value("newsarchive/robots/fetched")
        await super()._parse_robots(response, netloc, request)
        self._obey_crawl_delay(self._parsers.get(netloc), request)
        await self._announce_sitemaps(response, netloc)

    async def _announce_sitemaps(self, response: Response, netloc: str) -> None:
        """Send ``robots_sitemaps_found`` for a robots.txt that answered 200 and names any."""
        if response.status != 200:
            return
        sitemaps = robots_sitemaps(response.body, response.url)
        if sitemaps:
            await self.crawler.signals.send_catch_log_async(
                signal=robots_sitemaps_found, netloc=netloc, robots_url=response.url,
                sitemaps=sitemaps)

    def _obey_crawl_delay(self, rp, request: Request) -> None:
        crawl_delay = getattr(rp, "crawl_delay", None)
        if crawl_delay is None:
            return
        try:
            seconds = crawl_delay(self._useragent(request))
        except Exception:  # a parser that cannot say: no Crawl-delay
            return
        if seconds:
            pacer = HostPacer.of(self.crawler)
            if pacer is None:
                return
            host = (urlparse_cached(request).hostname or "").lower()
            delay = pacer.set_crawl_delay(host, float(seconds))
            logger.info("robots.txt of %s asks for Crawl-delay %s s: %s is now paced at "
                        "%.2f s", host, seconds, host, delay)

    def _useragent(self, request: Request) -> str | bytes:
        return (self._robotstxt_useragent
                or request.headers.get(b"User-Agent", self._default_useragent) or "")

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
            normalised = normalised_url(request.url)
            if rp is not None and normalised != request.url.split("#")[0] and \
                    not rp.allowed(normalised, self._useragent(request)):
                raise IgnoreRequest("Forbidden by robots.txt (normalised path)")
        except IgnoreRequest:
            self.crawler.stats.inc_value(REFUSED_ROBOTS)
            logger.info("robots.txt forbids %s", request.url)
            raise
