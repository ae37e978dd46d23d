"""WARC capture: every HTTP exchange Scrapy downloads goes into the archive.

An extension on ``response_downloaded`` (WARC.md §b, DESIGN.md): that signal fires straight
after the download handler, before any downloader middleware, so the body is still
Content-Encoded, every redirect hop and retry attempt is seen, and so are robots.txt
fetches.  A downloader middleware or the spider callback would see decoded bodies, one
``Set-Cookie`` and no 3xx.

Signals used and why:
- ``request_reached_downloader``: stamp a first WARC-Date and reset per-attempt state (retries
  and redirects copy ``meta`` from the previous attempt).
- ``headers_received``: refine the date to when the request was actually sent
  (``download_latency`` is measured from then), not when it entered the download queue.
- ``bytes_received``: enforce the page size limit with ``StopDownload(fail=False)``, so the
  first bytes are archived (WARC-Truncated: length) and the callback still runs.
- ``response_downloaded``: write request + response records; the record's location goes into
  ``request.meta["warc_record"]`` (the callback reads ``response.meta["warc_record"]``).

Writing never stops the crawl: a failure is logged and counted
(``newsarchive/failures/warc_write``) and ``meta["warc_record"]`` is None.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import scrapy
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload
from scrapy.http import Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro

from archive.state.base import DigestRecord
from archive.warc import httphead
from archive.warc.record import sha1_digest, warc_date
from archive.warc.writer import (
    DEFAULT_MAX_SIZE,
    PROFILE_NOT_MODIFIED,
    HttpExchange,
    RecordLocation,
    WarcWriter,
    default_warcinfo,
)
from crawler.context import RunContext
from crawler.samples import count_failure

logger = logging.getLogger(__name__)

DEFAULT_MAX_PAGE_BYTES = 20_000_000
DEFAULT_PREFIX = "newsarchive"
META_DATE = "warc_date"  # datetime (UTC) the request was sent: the capture's WARC-Date
META_RECORD = "warc_record"  # RecordLocation of the response record, or None
_META_RECEIVED = "_warc_bytes_received"
_META_OVERSIZE = "_warc_oversize"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Payloads smaller than this are stored again rather than deduplicated (robots.txt, tiny
# redirects): a revisit record would cost about as much as the payload.
MIN_DEDUP_BYTES = 512
VALIDATED_KINDS = frozenset({"front", "listing", "feed", "sitemap", "resource"})
META_REVISIT = "warc_revisit"


class WarcCaptureExtension:
    """Writes every downloaded response (and the request that fetched it) to WARC files."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.max_page_bytes = settings.getint("NEWSARCHIVE_MAX_PAGE_BYTES",
                                              DEFAULT_MAX_PAGE_BYTES)
        self.writer: WarcWriter | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.request_reached_downloader,
                                signal=signals.request_reached_downloader)
        crawler.signals.connect(self.headers_received, signal=signals.headers_received)
        crawler.signals.connect(self.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureExtension:
        return cls(crawler)

    # ---- lifecycle ----------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        if getattr(spider, "outlet", None) is None:
            logger.warning("%s has no .outlet: WARC capture is off for this crawl", spider.name)
            return
        try:
            self.writer = self._make_writer(RunContext.for_crawler(self.crawler))
        except Exception:
            logger.exception("cannot start WARC capture; closing the spider (nothing would be "
                             "archived)")
            engine = self.crawler.engine
            call_later(0, lambda: deferred_from_coro(
                engine.close_spider_async(reason="warc_capture_failed")))

    def _make_writer(self, context: RunContext) -> WarcWriter:
        settings = self.crawler.settings
        outlet = context.outlet
        if outlet.max_page_bytes:
            self.max_page_bytes = outlet.max_page_bytes
        prefix = settings.get("NEWSARCHIVE_WARC_PREFIX") or DEFAULT_PREFIX
        contact = outlet.contact_url or settings.get("NEWSARCHIVE_CONTACT_URL") or ""
        headers = settings.getdict("DEFAULT_REQUEST_HEADERS")
        user_agent = settings.get("USER_AGENT") or ""
        operator = settings.get("NEWSARCHIVE_OPERATOR") or "newsarchive crawl operator"
        warcinfo = {
            "software": f"{default_warcinfo()['software']} Scrapy/{scrapy.__version__}",
            "operator": f"{operator} ({contact})" if contact else operator,
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": user_agent,
            "http-header-from": headers.get("From") or headers.get("from") or "",
            "isPartOf": outlet.name,
            "newsarchive-run-id": context.run_id,
        }
        return WarcWriter(
            spool_dir=context.store.spool_dir,
            outlet=outlet.name,
            # the outlet in the name keeps file names unique when outlets crawl side by side
            prefix=f"{prefix}-{outlet.name}",
            host=context.crawl_host,
            max_size=int(settings.getfloat("NEWSARCHIVE_WARC_MAX_SIZE", DEFAULT_MAX_SIZE)),
            warcinfo=warcinfo,
            on_closed=lambda path, key, sha256: context.publish_warc(path, key, sha256),
        )

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                logger.exception("could not close the WARC file %s", self.writer.current_path)
                self.stats.inc_value("newsarchive/failures/warc_write")

    # ---- per request --------------------------------------------------------------------

    def request_reached_downloader(self, request: Request, spider: Spider) -> None:
        meta = request.meta
        meta[META_DATE] = datetime.now(UTC)
        meta[_META_RECEIVED] = 0
        meta.pop(_META_OVERSIZE, None)
        meta.pop(META_RECORD, None)

    def headers_received(self, headers, body_length, request: Request, spider: Spider) -> None:
        latency = request.meta.get("download_latency")
        if latency is not None:
            request.meta[META_DATE] = datetime.now(UTC) - timedelta(seconds=latency)

    def bytes_received(self, data: bytes, request: Request, spider: Spider) -> None:
        meta = request.meta
        received = meta.get(_META_RECEIVED, 0) + len(data)
        meta[_META_RECEIVED] = received
        if received > self.max_page_bytes and self.writer is not None:
            meta[_META_OVERSIZE] = True
            raise StopDownload(fail=False)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        if self.writer is None:
            return
        truncated = self._truncation(response, request)
        self._count(response, request)  # fetched is fetched, archived or not
        try:
            location = self._write(exchange_from(response, request, truncated), request)
        except Exception:
            logger.exception("could not write %s to the WARC", response.url)
            count_failure(self.crawler, "warc_write", response.url)
            request.meta[META_RECORD] = None
            return
        request.meta[META_RECORD] = location

    # ---- incremental: revisits instead of second copies --------------------------------

    def _write(self, exchange: HttpExchange, request: Request) -> RecordLocation:
        """Write a full capture, or a revisit when the state says it is archived already.

        - a 304 (answer to a conditional request) becomes a server-not-modified revisit
          of the last full capture of that URL;
        - a 200 whose payload digest was archived before becomes an
          identical-payload-digest revisit, except for an article fetched for the first
          time (its corpus record must point at a response record of its own);
        - every full 200 capture is remembered as the first capture of its digest.
        """
        assert self.writer is not None
        context = RunContext.for_crawler(self.crawler)
        state = context.state
        if state is None:
            return self.writer.write_exchange(exchange)
        meta = request.meta
        kind = meta.get("kind")
        if exchange.status == 304:
            validators = state.get_validators(exchange.url)
            if validators is not None and validators.captured:
                self.stats.inc_value("newsarchive/revisits/not_modified")
                return self.writer.write_revisit(
                    exchange, refers_to_uri=exchange.url, refers_to_date=validators.captured,
                    profile=PROFILE_NOT_MODIFIED)
            return self.writer.write_exchange(exchange)
        dedupable = (exchange.status == 200 and not exchange.truncated
                     and len(exchange.body) >= MIN_DEDUP_BYTES
                     and (kind != "article" or meta.get("recheck")))
        digest = sha1_digest(exchange.body) if exchange.status == 200 else None
        original = state.lookup_digest(digest) if dedupable else None
        if original is not None:
            location = self.writer.write_revisit(
                exchange, refers_to_uri=original.uri, refers_to_date=original.date,
                refers_to=original.record_id or None, payload_digest=digest)
            meta[META_REVISIT] = {"uri": original.uri, "date": original.date,
                                  "record_id": original.record_id}
            self.stats.inc_value("newsarchive/revisits/identical")
            captured = original.date
        else:
            location = self.writer.write_exchange(exchange)
            meta.pop(META_REVISIT, None)
            captured = warc_date(exchange.date)
            if digest is not None and not exchange.truncated:
                state.record_digest(DigestRecord(
                    digest=location.payload_digest, uri=exchange.url, date=captured,
                    record_id=location.record_id, filename=location.key,
                    offset=location.offset, outlet=context.outlet.name))
        if exchange.status == 200 and kind in VALIDATED_KINDS:
            headers = {name.lower(): value for name, value in exchange.response_headers}
            state.set_validators(exchange.url, headers.get("etag"),
                                 headers.get("last-modified"), captured)
        return location

    # ---- helpers ------------------------------------------------------------------------

    def _truncation(self, response: Response, request: Request) -> str | None:
        flags = response.flags
        if "download_stopped" in flags:
            if request.meta.get(_META_OVERSIZE):
                count_failure(self.crawler, "oversize", response.url)
                return "length"
            return "unspecified"
        if "dataloss" in flags:
            # body shorter than Content-Length (or a broken chunk): the connection was lost
            count_failure(self.crawler, "truncated", response.url)
            return "disconnect"
        # "partial" (no Content-Length, ended by close) is how HTTP/1.0 delimits bodies:
        # nothing says it is cut, so it is not marked.
        return None

    def _count(self, response: Response, request: Request) -> None:
        self.stats.inc_value("newsarchive/bytes", len(response.body))
        if response.status in REDIRECT_STATUSES:
            kind = "redirect"
        else:
            kind = request.meta.get("kind") or (
                "robots" if urlsplit(response.url).path == "/robots.txt" else "other")
        self.stats.inc_value(f"newsarchive/fetched/{kind}")


def exchange_from(response: Response, request: Request, truncated: str | None = None
                  ) -> HttpExchange:
    """The exchange as it went over the wire, rebuilt from Scrapy's request and response.

    Request headers follow Twisted's order: Content-Length (for a body), the headers Scrapy
    passed on, then Host.
    """
    url = response.url
    request_headers: list[tuple[str, str]] = []
    if request.body and b"Content-Length" not in request.headers:
        request_headers.append(("Content-Length", str(len(request.body))))
    request_headers.extend(_header_list(request.headers))
    if b"Host" not in request.headers:
        request_headers.append(("Host", httphead.host_header(url)))
    date = request.meta.get(META_DATE) or datetime.now(UTC)
    ip = response.ip_address
    return HttpExchange(
        url=url,
        method=request.method,
        request_target=httphead.request_target(url),
        request_headers=request_headers,
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        response_headers=_header_list(response.headers),
        body=response.body,
        ip_address=str(ip) if ip is not None else None,
        date=date,
        truncated=truncated,
    )


def _header_list(headers) -> list[tuple[str, str]]:
    """Every (name, value) pair; latin-1 keeps the raw octets for the writer to restore."""
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


__all__ = ["WarcCaptureExtension", "exchange_from", "RecordLocation", "META_DATE", "META_RECORD"]
