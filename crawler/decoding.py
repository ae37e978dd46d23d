"""Decoding bodies safely: a size cap on what gzip/deflate inflate to, and one retry for
bodies that arrived broken.

``DOWNLOAD_MAXSIZE = 0`` (capture must never abort a body it could archive) also switches
off Scrapy's decompressed-size limit, and the page limit counts wire bytes: a 2 MB gzip
body inflated to 1 GiB in memory.  Capture (crawler/capture.py) measures every encoded
body as it writes it (``archive.warc.encoding.check_body``: bounded steps, output only
counted) and leaves the verdict in ``request.meta["body_encoding"]``; this middleware,
in the place of Scrapy's HttpCompressionMiddleware, acts on it before decoding:

- too large (a decompression bomb): never decoded; refused and counted as
  ``newsarchive/refused/decompression_bomb``.  The raw bytes are archived as received.
- corrupt or stopping short, or cut off by the connection (``dataloss``): fetched once
  more (``newsarchive/refetched/<kind>``); a second corrupt copy is dropped and counted as
  ``failures/corrupt_encoding``, a second cut-off copy goes on to the spider, which skips
  it (capture counts ``failures/truncated``).

Scrapy's own cap is set to the same limit as a second line of defence.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from archive.warc.encoding import BodyEncoding, check_body
from archive.warc.writer import HttpExchange
from crawler.backoff import HostPacer
from crawler.samples import count_failure
from crawler.scrub import scrub_url

logger = logging.getLogger(__name__)

DEFAULT_MAX_DECODED_BYTES = 50 * 1024 * 1024  # also the sitemaps.org limit per file
META_ENCODING = "body_encoding"  # BodyEncoding value set by capture
META_REFETCHED = "newsarchive_refetched"  # this request is the one extra try
REFETCH_PAUSE = 1.0  # seconds before the one extra fetch of a broken body
RENAMED_PREFIX = "X-Crawler-"  # WARC.md §a-9: a header that no longer describes the body


class DecompressionBomb(IgnoreRequest):
    """The body inflates beyond NEWSARCHIVE_MAX_DECODED_BYTES."""


class BrokenBody(IgnoreRequest):
    """The body was corrupt or cut short twice."""


def max_decoded_bytes(crawler: Crawler) -> int:
    return crawler.settings.getint("NEWSARCHIVE_MAX_DECODED_BYTES", DEFAULT_MAX_DECODED_BYTES)


def classify_capture(exchange: HttpExchange, max_decoded: int) -> tuple[HttpExchange, str]:
    """The exchange as it should be archived, and the body's BodyEncoding value.

    The body stays byte for byte as received.  A stream that stops short is marked
    ``WARC-Truncated: unspecified`` (readers then decode what there is); a stream that does
    not decode at all has its Content-Encoding renamed ``X-Crawler-Content-Encoding``, so
    replay serves the bytes instead of failing on them (WARC.md §a-9).
    """
    header = ", ".join(v for k, v in exchange.response_headers
                       if k.lower() == "content-encoding")
    if exchange.method == "HEAD" or exchange.status in (204, 304):
        return exchange, BodyEncoding.OK.value
    verdict = check_body(exchange.body, header, max_decoded)
    if verdict is BodyEncoding.SHORT and exchange.truncated is None:
        exchange = replace(exchange, truncated="unspecified")
    elif verdict is BodyEncoding.CORRUPT:
        exchange = replace(exchange, response_headers=[
            (RENAMED_PREFIX + k if k.lower() == "content-encoding" else k, v)
            for k, v in exchange.response_headers])
    return exchange, verdict.value


class SafeDecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware with a decoded-size cap and broken-body retries."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler=crawler)
        self.crawler = crawler
        self._max_size = max_decoded_bytes(crawler)
        self._warn_size = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafeDecompressionMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response
                         ) -> Request | Response:
        stats = self.crawler.stats
        verdict = request.meta.get(META_ENCODING)
        url = scrub_url(response.url)
        if verdict == BodyEncoding.TOO_LARGE.value:
            stats.inc_value("newsarchive/refused/decompression_bomb")
            logger.warning("refused %s: its body inflates beyond %d bytes (decompression "
                           "bomb); archived as received, not decoded", url, self._max_size)
            raise DecompressionBomb(f"{url}: body inflates beyond {self._max_size} bytes")
        if "download_stopped" in response.flags:  # cut at the page limit on purpose
            return self._decoded(request, response, url)
        broken = verdict in (BodyEncoding.CORRUPT.value, BodyEncoding.SHORT.value)
        if response.status == 200 and not request.meta.get(META_REFETCHED):
            if "dataloss" in response.flags:
                return self._refetch(request, url, "truncated")
            if broken:
                return self._refetch(request, url, "corrupt_encoding")
        if broken and "dataloss" not in response.flags:
            count_failure(self.crawler, "corrupt_encoding", response.url)
            logger.warning("%s: the body does not decode as its Content-Encoding says; "
                           "archived as received, not used", url)
            raise BrokenBody(f"{url}: corrupt Content-Encoding")
        # a body cut short again goes on to the spider, which skips it (capture counted it)
        return self._decoded(request, response, url)

    def _decoded(self, request: Request, response: Response, url: str) -> Response:
        stats = self.crawler.stats
        try:
            return super().process_response(request, response)
        except IgnoreRequest:  # Scrapy's own cap: counted the same way
            stats.inc_value("newsarchive/refused/decompression_bomb")
            raise
        except (OSError, EOFError, ValueError) as exc:  # missed by capture's check
            count_failure(self.crawler, "corrupt_encoding", response.url)
            logger.warning("%s: the body does not decode (%s); not used", url, exc)
            raise BrokenBody(f"{url}: corrupt Content-Encoding") from None

    def _refetch(self, request: Request, url: str, kind: str) -> Request:
        """The same request once more (counted); capture archived the broken copy."""
        self.crawler.stats.inc_value(f"newsarchive/refetched/{kind}")
        logger.info("%s: the body arrived broken (%s); fetching it once more", url,
                    kind.replace("_", " "))
        # a second later at least: two captures of a URL within one second share a
        # 14-digit timestamp, and replay tools could then show only one of them
        pacer = HostPacer.of(self.crawler)
        if pacer is not None:
            pacer.pause(request, REFETCH_PAUSE)
        meta = {**request.meta, META_REFETCHED: True}
        meta.pop(META_ENCODING, None)
        return request.replace(dont_filter=True, meta=meta)
