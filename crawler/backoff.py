"""Polite retries: Retry-After honoured, exponential back-off per host, a host that keeps
answering 429/503 slowed down as a whole, and robots.txt's Crawl-delay obeyed.

Scrapy's RetryMiddleware re-queues a 429 or 503 at once, so a server asking for three
seconds got the retry 0.2 s later.  Waiting is done where Scrapy already waits: the
host's download slot.  A slot sends its next request ``slot.delay`` seconds after the
last one (``lastseen``), so after a 429/503 this middleware sets the slot's delay to the
pause and ``lastseen`` to now: the retry, and every other request to that host, waits.
AutoThrottle then eases the delay back down, but never below the host's floor:

    floor(host) = max(outlet download_delay, robots.txt Crawl-delay, back-off floor)

The pause after the n-th 429/503 in a row from a host is
``max(floor, min(Retry-After, NEWSARCHIVE_RETRY_AFTER_MAX), BASE * 2**(n-1))`` capped at
NEWSARCHIVE_BACKOFF_MAX.  When a host has given m >= NEWSARCHIVE_BACKOFF_SLOW_AFTER such
answers within a minute (in a row or not), its floor itself rises to
``max(delay, BASE) * 2**(m - SLOW_AFTER + 1)`` (same cap); each good answer halves it
again, back down to the outlet's delay.  A Retry-After
longer than the cap is not retried at all (retrying sooner than asked is rude); the
request is counted as ``newsarchive/failures/retry_after_too_long``.

It sits at 560, so its ``process_response`` runs just before RetryMiddleware's (550).
The per-host state is this process's: workers of a shared crawl (``--redis``) each back
off on their own.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.samples import count_failure

logger = logging.getLogger(__name__)

BACKOFF_STATUSES = frozenset({429, 503})


def parse_retry_after(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


SLOW_WINDOW = 60.0  # seconds: 429/503 answers this recent count as "repeated"


@dataclass
class HostPace:
    strikes: int = 0  # 429/503 answers in a row
    recent: deque = field(default_factory=deque)  # monotonic times of recent 429/503s
    backoff_floor: float = 0.0
    crawl_delay: float = 0.0


class HostPacer:
    """Per-host pacing for one crawl: floors, strikes and the slot adjustments.

    An extension, so that the back-off middleware, the robots.txt middleware (Crawl-delay)
    and the decoding middleware (refetch pause) share one instance through
    ``crawler.get_extension``.
    """

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler = crawler
        self.base = settings.getfloat("NEWSARCHIVE_BACKOFF_BASE", 1.0)
        self.max_pause = settings.getfloat("NEWSARCHIVE_BACKOFF_MAX", 300.0)
        self.retry_after_max = settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX", 120.0)
        self.slow_after = settings.getint("NEWSARCHIVE_BACKOFF_SLOW_AFTER", 3)
        self.crawl_delay_max = settings.getfloat("NEWSARCHIVE_CRAWL_DELAY_MAX", 60.0)
        self.default_delay = settings.getfloat("DOWNLOAD_DELAY", 1.0)
        self.slot_delays = {k: float(v.get("delay", self.default_delay))
                            for k, v in settings.getdict("DOWNLOAD_SLOTS").items()}
        self.autothrottle = settings.getbool("AUTOTHROTTLE_ENABLED")
        self.hosts: dict[str, HostPace] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostPacer:
        return cls(crawler)

    @staticmethod
    def of(crawler: Crawler) -> HostPacer | None:
        """The crawl's pacer (an extension, see crawler/settings.py); None when not wired."""
        try:
            return crawler.get_extension(HostPacer)
        except RuntimeError:  # asked before the extensions exist
            return None

    def _pace(self, host: str) -> HostPace:
        return self.hosts.setdefault(host, HostPace())

    def outlet_delay(self, host: str) -> float:
        return self.slot_delays.get(host, self.default_delay)

    def floor(self, host: str) -> float:
        pace = self.hosts.get(host)
        delay = self.outlet_delay(host)
        if pace is None:
            return delay
        return max(delay, pace.crawl_delay, pace.backoff_floor)

    def set_crawl_delay(self, host: str, seconds: float) -> float:
        """robots.txt's Crawl-delay for ``host`` (capped); returns the delay now in force."""
        capped = min(max(0.0, seconds), self.crawl_delay_max)
        if capped < seconds:
            logger.warning("%s asks for Crawl-delay %.0f s; using the cap of %.0f s",
                           host, seconds, capped)
        self._pace(host).crawl_delay = capped
        self._hold(host, self.floor(host), restart=False)
        return self.floor(host)

    def pause(self, request: Request, seconds: float) -> None:
        """Hold the request's host for at least ``seconds`` (and its floor) from now."""
        host = _host(request)
        self._hold(host, max(self.floor(host), seconds), restart=True, request=request)

    def on_request(self, request: Request) -> None:
        """Make sure the slot never runs faster than the host's floor."""
        host = _host(request)
        if host in self.hosts:
            self._hold(host, self.floor(host), restart=False, request=request)

    def on_response(self, request: Request, response: Response) -> float | None:
        """Adjust the host's pace; the pause when the answer asks to back off."""
        host = _host(request)
        if response.status not in BACKOFF_STATUSES:
            pace = self.hosts.get(host)
            if pace is not None:
                pace.strikes = 0
                if pace.backoff_floor:  # the host answers well again: ease off by half
                    half = pace.backoff_floor / 2
                    pace.backoff_floor = half if half > self.outlet_delay(host) else 0.0
                self._hold(host, self.floor(host), restart=False, request=request)
            return None
        pace = self._pace(host)
        pace.strikes += 1
        now = time.monotonic()
        pace.recent.append(now)
        while pace.recent and pace.recent[0] < now - SLOW_WINDOW:
            pace.recent.popleft()
        asked = parse_retry_after(response.headers.get(b"Retry-After"))
        delay = max(self.outlet_delay(host), self.base)
        repeated = len(pace.recent)
        if repeated >= self.slow_after:  # the whole host slows down, not just this URL
            pace.backoff_floor = max(pace.backoff_floor, min(
                self.max_pause, delay * 2 ** (repeated - self.slow_after + 1)))
        pause = max(self.floor(host), self.base * 2 ** (pace.strikes - 1))
        if asked is not None:
            pause = max(pause, min(asked, self.retry_after_max))
        pause = min(pause, self.max_pause)
        self._hold(host, pause, restart=True, request=request)
        self.crawler.stats.inc_value("newsarchive/backoff/pauses")
        logger.info("%s answered %d (Retry-After: %s): next request to it in %.1f s",
                    host, response.status, asked, pause)
        return pause

    def _hold(self, host: str, delay: float, restart: bool,
              request: Request | None = None) -> None:
        """Set the slot's delay (at least ``delay``); ``restart`` counts it from now."""
        slot = self._slot(host, request)
        if slot is None:
            return
        if restart:
            slot.delay = max(delay, slot.delay)
            slot.lastseen = time.monotonic()  # the clock Scrapy's slots use
        elif slot.delay < delay:
            slot.delay = delay
        elif not self.autothrottle and slot.delay > delay:
            slot.delay = max(delay, slot.delay / 2)  # ease back (AutoThrottle does otherwise)

    def _slot(self, host: str, request: Request | None):
        engine = self.crawler.engine
        downloader = getattr(engine, "downloader", None) if engine else None
        if downloader is None:
            return None
        if request is None:
            return downloader.slots.get(host)
        try:
            return downloader._get_slot(request)[1]  # creates it, as fetching would
        except Exception:  # pragma: no cover - private API changed: no pacing, no crash
            return None


def _host(request: Request) -> str:
    from scrapy.utils.httpobj import urlparse_cached

    return (urlparse_cached(request).hostname or "").lower()


class BackoffMiddleware:
    """Downloader middleware wiring HostPacer to requests and responses."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.retry_after_max = crawler.settings.getfloat("NEWSARCHIVE_RETRY_AFTER_MAX", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        pacer = HostPacer.of(self.crawler)
        if pacer is not None:
            pacer.on_request(request)

    def process_response(self, request: Request, response: Response) -> Response:
        pacer = HostPacer.of(self.crawler)
        if pacer is not None:
            pacer.on_response(request, response)
        if response.status in BACKOFF_STATUSES:
            asked = parse_retry_after(response.headers.get(b"Retry-After"))
            if asked is not None and asked > self.retry_after_max:
                request.meta["dont_retry"] = True
                count_failure(self.crawler, "retry_after_too_long", request.url)
                logger.warning("%s asks to retry in %.0f s, beyond the %.0f s cap: not "
                               "retried", request.url, asked, self.retry_after_max)
        return response
