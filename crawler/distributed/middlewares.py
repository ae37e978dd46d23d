"""The shared crawl's Scrapy middlewares: send only inside the host's slot, seed once.

A request booked its host's slot when it was taken from the queue, but a downloader
middleware may hold it up afterwards (robots.txt first), and some requests never pass
through the queue at all (robots.txt itself).  ``PolitenessMiddleware``, the last one
before the download handler, makes sure every request still leaves inside a slot booked
in Redis.  ``SeedOnceMiddleware`` keeps later workers from queueing the start requests
again (they would be dupefiltered, but each would cost a Redis round trip).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.utils.asyncio import is_asyncio_available

from crawler.distributed.coordinator import FLIGHT, Coordinator, slot_key
from crawler.distributed.extension import coordinator_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


async def _sleep(seconds: float) -> None:
    """Wait without blocking the reactor, on asyncio or on a plain Twisted reactor."""
    if seconds <= 0:
        return
    if is_asyncio_available():
        await asyncio.sleep(seconds)
        return
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    await maybe_deferred_to_future(deferLater(reactor, seconds, lambda: None))


class PolitenessMiddleware:
    """The last downloader middleware: a request leaves only inside its host's slot.

    A request taken from the queue booked its slot when it was taken; if it reaches this
    point within the booking margin it goes at once (one Redis call per request in all).
    Otherwise (it waited for robots.txt, say) the slot is booked again and the request
    waits for it.  Requests that never were in the queue (robots.txt) book one here; they
    keep the delay but not the concurrency limit (the request waiting for them holds a
    place already).
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        coordinator = coordinator_of(self.crawler)
        frontier = coordinator.frontier
        token = coordinator.holds(request)
        if token is None:
            host = slot_key(request)
            started = time.monotonic()
            flight_id, wait_ms = frontier.acquire(coordinator.worker, host,
                                                  coordinator.delay_ms, coordinator.margin_ms)
            token = {"id": flight_id, "host": host, "t": started + wait_ms / 1000,
                     "worker": coordinator.worker}
            request.meta[FLIGHT] = token
            coordinator.flights[flight_id] = (request, host)
            await self._wait(coordinator, wait_ms)
        # The booking is good for `margin` after its start; a request that comes later
        # (it waited for robots.txt, or the event loop was busy) books the next slot.
        while (time.monotonic() - token["t"]) * 1000 > coordinator.margin_ms:
            started = time.monotonic()
            _, wait_ms = frontier.acquire(coordinator.worker, token["host"],
                                          coordinator.delay_ms, coordinator.margin_ms,
                                          token["id"])
            token["t"] = started + wait_ms / 1000
            coordinator.inc("rebooked")
            await self._wait(coordinator, wait_ms)
        return None

    @staticmethod
    async def _wait(coordinator: Coordinator, wait_ms: int) -> None:
        if wait_ms > 0:
            coordinator.inc("polite_waits")
            await _sleep(wait_ms / 1000)


class SeedOnceMiddleware:
    """Start requests are queued by the first worker only (later ones find them seen)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SeedOnceMiddleware:
        return cls(crawler)

    async def process_start(self, start):
        coordinator = coordinator_of(self.crawler)
        if coordinator.frontier.is_seeded():
            coordinator.inc("joined_seeded")
            return
        async for item_or_request in start:
            yield item_or_request
        coordinator.frontier.mark_seeded()
