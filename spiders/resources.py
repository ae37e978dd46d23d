"""Page resources: every archived HTML page's stylesheets, scripts, fonts and images.

Without them a page replays unstyled, without its photo, and a front drawn by script is an
empty shell.  Two parts:

- :class:`ResourceSpiderMiddleware` (a spider middleware, wired in crawler/settings.py) adds
  resource requests after whatever the callback yielded for every 200 HTML response of a
  front, listing or article, so no discovery callback (nor an outlet override) needs to
  know about resources;
- :class:`ResourceCallbacks` (a NewsSpider mixin) builds those requests and handles their
  responses: a stylesheet's ``@import`` and ``url()`` are followed two levels deep.

Each resource is fetched once per run: the requests go through the scheduler's
dupefilter (scrapy-redis's shared one in a distributed crawl, so once across workers).
Later runs revalidate it (crawler/conditional.py sends the validators of the last
capture; the capture extension writes a 304 as a ``server-not-modified`` revisit).
Stylesheets are the exception: they are fetched in full every run, because a 304 carries
no body and the body names the fonts and images to revalidate; an unchanged stylesheet
becomes an ``identical-payload-digest`` revisit (counted as revalidated too).  The
WARC capture extension archives every exchange; resources never become items, so never
corpus records or pages in pages.jsonl.

Scope: resources embedded by the outlet's pages (and by their stylesheets) may be on any
public host under ``resources: all`` (CDNs, font hosts), one hop away from the pages:
a resource never leads to pages.  Private and loopback destinations pass the address guard
only when the outlet names their origin (``resource_hosts``); robots.txt and per-host
politeness apply as for pages.  Counters: ``newsarchive/resources/{fetched,revalidated}``,
``.../skipped/<reason>`` and ``.../failed/<reason>`` (summed in the run report).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, StopDownload
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.url import url_is_from_any_domain

from archive.discover.resources import Resource, css_resources, html_resources
from archive.outlet.config import Origin
from crawler.guard import RefusedAddress

if TYPE_CHECKING:
    import logging

    from archive.outlet.config import OutletConfig

PAGE_KINDS = frozenset({"front", "listing", "article", "page"})  # "page": generic discovery
RESOURCE_KIND = "resource"  # request meta "kind" (capture, conditional requests, report)
# Above articles (10): a page's resources are fetched close to the page, so the replay
# shows what the page showed then.
RESOURCE_PRIORITY = 20
MAX_CSS_DEPTH = 2  # stylesheet -> @import/url() -> @import/url()
STAT = "newsarchive/resources/"
ACCEPT = {"stylesheet": "text/css,*/*;q=0.1",
          "image": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
          "icon": "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"}
# response types skipped as audio/video when the URL did not tell (HLS/DASH playlists too)
MEDIA_TYPES = (b"audio/", b"video/", b"application/vnd.apple.mpegurl",
               b"application/x-mpegurl", b"application/dash+xml")
SKIP_META = "resource_skip"  # why a download was stopped at its headers
# statuses that reach parse_resource to be counted (304: revalidated)
_STATUSES = (304, *range(400, 600))


class ResourceCallbacks:
    """NewsSpider's resource requests and their callbacks (a mixin)."""

    if TYPE_CHECKING:  # provided by NewsSpider
        outlet: OutletConfig
        allowed_domains: list[str]
        logger: logging.LoggerAdapter

        def _stat(self, key: str, count: int = 1) -> None: ...
        def is_html(self, response: Response) -> bool: ...

    def page_resource_requests(self, response: Response) -> list[Request]:
        """Requests for the resources of a 200 HTML page (none under ``resources: none``)."""
        policy = self.outlet.resources
        if (not policy.enabled or response.status != 200
                or not isinstance(response, TextResponse) or not self.is_html(response)):
            return []
        try:
            found = html_resources(response.text, response.url)
        except Exception as exc:  # noqa: BLE001 - a malformed page must not stop the crawl
            self._stat(STAT + "failed/unparsable_page")
            self.logger.warning("could not read the resources of %s: %s", response.url, exc)
            return []
        return self._resource_requests(found, depth=1)

    def _resource_requests(self, found: Iterable[Resource], depth: int) -> list[Request]:
        policy = self.outlet.resources
        requests: list[Request] = []
        for resource in found:
            reason = self.resource_skip_reason(resource)
            if reason is not None:
                self._stat(f"{STAT}skipped/{reason}")
                continue
            if len(requests) >= policy.budget:
                self._stat(f"{STAT}skipped/page_budget")
                continue
            requests.append(self.resource_request(resource, depth))
        return requests

    def resource_request(self, resource: Resource, depth: int) -> Request:
        meta = {"kind": RESOURCE_KIND, "resource_kind": resource.kind, "resource_depth": depth,
                "handle_httpstatus_list": _STATUSES, "allow_offsite": True,
                "download_maxsize": self.outlet.resources.max_bytes}
        if resource.kind == "stylesheet":
            # a 304 has no body, and the body names the fonts and images to revalidate in
            # turn: fetched in full, an unchanged one is stored as a digest revisit
            meta["unconditional"] = True
        return Request(resource.url, callback=self.parse_resource,
                       errback=self.on_resource_error, meta=meta, priority=RESOURCE_PRIORITY,
                       headers={"Accept": ACCEPT.get(resource.kind, "*/*")})

    def resource_skip_reason(self, resource: Resource) -> str | None:
        """Why a resource is not requested (a counter name), or None to request it."""
        policy = self.outlet.resources
        if resource.kind == "media" and not policy.media:
            return "media"
        if policy.mode == "same-site" and not self.is_own_site(resource.url):
            return "offsite"
        return None

    def is_own_site(self, url: str) -> bool:
        """On the outlet's hosts, or on an origin the outlet names (seeds, resource hosts)."""
        return (Origin.of(url) in self.outlet.named_origins()
                or url_is_from_any_domain(url, self.allowed_domains))

    def parse_resource(self, response: Response) -> Iterator[Request]:
        """Count the answer; a stylesheet's own resources are requested in turn."""
        status = response.status
        if status == 304:
            self._stat(STAT + "revalidated")
            return
        if status != 200:
            self._stat(f"{STAT}failed/http_{status}")
            return
        # this URL's archived bytes again (the capture wrote an identical-payload revisit
        # of its earlier capture): revalidated; the same bytes at another URL: fetched
        revisit = response.meta.get("warc_revisit") or {}
        self._stat(STAT + ("revalidated" if revisit.get("uri") == response.url else "fetched"))
        depth = int(response.meta.get("resource_depth", 1))
        if depth > MAX_CSS_DEPTH or not self._is_stylesheet(response):
            return
        try:
            css = response.text
        except (AttributeError, UnicodeDecodeError):
            css = response.body.decode("utf-8", "replace")
        yield from self._resource_requests(css_resources(css, response.url), depth + 1)

    @staticmethod
    def _is_stylesheet(response: Response) -> bool:
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        return "text/css" in ctype or (response.meta.get("resource_kind") == "stylesheet"
                                       and not ctype.startswith(("image/", "font/")))

    def on_resource_error(self, failure: Any) -> None:
        """Refused, disallowed, too large or failed: counted by reason, the crawl goes on."""
        request = getattr(failure, "request", None)
        if failure.check(StopDownload) and request is not None:
            reason, kind = request.meta.get(SKIP_META, "stopped"), "skipped"
        elif failure.check(RefusedAddress):
            reason, kind = "refused_address", "skipped"
        elif failure.check(DownloadCancelledError):
            reason, kind = "too_large", "skipped"
        elif failure.check(IgnoreRequest):
            message = str(failure.value).lower()
            reason, kind = ("robots" if "robots" in message else "ignored"), "skipped"
        else:
            reason, kind = failure.type.__name__, "failed"
        self._stat(f"{STAT}{kind}/{reason}")
        self.logger.info("resource %s %s: %s", request.url if request else "?", kind, reason)


class ResourceSpiderMiddleware:
    """Adds the resource requests of every page response, after the callback's output.

    It also stops a resource download at its headers when they say audio or video (and
    the outlet does not archive media): such a response is never downloaded nor archived,
    and is counted as skipped.
    """

    def __init__(self, crawler: Any = None) -> None:
        if crawler is not None:
            crawler.signals.connect(self.headers_received, signal=signals.headers_received)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ResourceSpiderMiddleware:
        return cls(crawler)

    def headers_received(self, headers: Any, body_length: int, request: Request,
                         spider: Any) -> None:
        if request.meta.get("kind") != RESOURCE_KIND:
            return
        outlet = getattr(spider, "outlet", None)
        if outlet is None or outlet.resources.media:
            return
        ctype = (headers.get(b"Content-Type") or b"").strip().lower()
        if ctype.startswith(MEDIA_TYPES):
            request.meta[SKIP_META] = "media"
            raise StopDownload(fail=True)

    def process_spider_output(self, response: Response, result: Iterable[Any],
                              spider: Any) -> Iterator[Any]:
        yield from result
        yield from self._page_requests(response, spider)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any],
                                          spider: Any) -> AsyncIterator[Any]:
        async for item in result:
            yield item
        for request in self._page_requests(response, spider):
            yield request

    @staticmethod
    def _page_requests(response: Response, spider: Any) -> list[Request]:
        if response.meta.get("kind") not in PAGE_KINDS:
            return []
        build = getattr(spider, "page_resource_requests", None)
        return build(response) if build is not None else []
