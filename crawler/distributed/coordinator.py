"""This worker's side of the shared crawl: the host slots it holds, its counters, and
waking the engine when a host's slot frees up.

One ``Coordinator`` per crawler, owned by the extension (crawler.distributed.extension)
and found through it by the scheduler, the middlewares and the pipeline: they all have to
agree on which host slots this process holds, or a slot would be released twice or never.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.utils.asyncio import call_later
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed.frontier import Frontier, Popped
from crawler.distributed.seen import DEFAULT_BUCKETS
from crawler.distributed.settings import DEFAULT_TTL
from crawler.distributed.wakeup import wake_engine

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

FLIGHT = "_newsarchive_flight"  # meta: the host slot this process holds for the request
STAT = "newsarchive/distributed/"


def slot_key(request: Request) -> str:
    """The politeness key of a request: Scrapy's download slot (the host name)."""
    return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


class Coordinator:
    """This worker's side of the shared crawl (one per crawler, held by the extension)."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        outlet = crawler.spider.outlet
        self.crawler = crawler
        self.stats = crawler.stats
        self.worker: str = settings.get("NEWSARCHIVE_WORKER_ID")
        self.frontier = Frontier.from_url(settings.get("NEWSARCHIVE_REDIS_URL"), outlet.name,
                                          settings.getint("NEWSARCHIVE_SEEN_BUCKETS",
                                                          DEFAULT_BUCKETS))
        self.ttl_ms = int(settings.getfloat("NEWSARCHIVE_WORKER_TTL", DEFAULT_TTL) * 1000)
        self.delay_ms = int(round(float(outlet.download_delay) * 1000))
        self.concurrency = max(1, int(outlet.concurrency))
        self.margin_ms = int(settings.getfloat("NEWSARCHIVE_POLITENESS_MARGIN", 0.025) * 1000)
        self.throttle = settings.getbool("NEWSARCHIVE_SHARED_THROTTLE")
        self.max_delay_ms = int(settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 60) * 1000)
        self.target_concurrency = max(0.01, settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY",
                                                              1.0))
        # host slots this process holds: flight id -> (request, host)
        self.flights: dict[int, tuple[Request, str]] = {}
        self._wake: Any = None
        self._wake_at = 0.0

    def inc(self, name: str, count: int = 1) -> None:
        if count:
            self.stats.inc_value(STAT + name, count)

    # ---- waking the engine: it only asks the scheduler again every 5 s on its own

    def wake_in(self, seconds: float) -> None:
        """Have the engine ask the scheduler again in ``seconds`` (the earliest asked wins)."""
        when = time.monotonic() + max(0.0, seconds)
        if self._wake is not None and self._wake_at <= when:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = when
        self._wake = call_later(max(0.0, seconds), self._do_wake)

    def _do_wake(self) -> None:
        self._wake = None
        wake_engine(self.crawler.engine)

    def cancel_wake(self) -> None:
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None

    # ---- host slots

    def took(self, popped: Popped, request: Request, started: float) -> None:
        request.meta[FLIGHT] = {"id": popped.id, "host": popped.host, "t": started,
                                "worker": self.worker}
        self.flights[popped.id] = (request, popped.host)
        self.inc("taken")

    def holds(self, request: Request) -> dict | None:
        token = request.meta.get(FLIGHT)
        if token and token.get("worker") == self.worker and token.get("id") in self.flights:
            return token
        return None

    def release(self, request: Request) -> None:
        token = self.holds(request)
        if token is None:
            return
        self.flights.pop(token["id"], None)
        latency = request.meta.get("download_latency")
        self.frontier.release(
            self.worker, token["id"], token["host"],
            latency_ms=int(latency * 1000) if latency is not None and "status" in token else -1,
            delay_ms=self.delay_ms, max_delay_ms=self.max_delay_ms,
            target_concurrency=self.target_concurrency, ok=token.get("status") == 200,
            throttle=self.throttle)

    def sweep(self) -> None:
        """Free slots of taken requests that ended without reaching the download handler
        (dropped by a middleware: robots.txt, address guard, archived redirect)."""
        engine = self.crawler.engine
        active = engine.downloader.active if engine and engine.downloader else set()
        for flight_id, (request, host) in list(self.flights.items()):
            if request not in active:
                self.flights.pop(flight_id, None)
                self.frontier.release(self.worker, flight_id, host)
                self.inc("released_undownloaded")
