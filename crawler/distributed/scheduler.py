"""scrapy-redis's scheduler and queue, adapted to the shared, polite crawl.

``HostQueue`` keeps one priority queue per host and hands out a request only when its
host's shared politeness slot is free (crawler.distributed.frontier), so all workers
together keep each host's delay and concurrency.  ``DistributedScheduler`` wakes the
engine when such a slot frees up (the engine would otherwise look again only every 5 s),
never flushes what belongs to every worker, and holds this worker's state writes back
until its files are published (crawler.distributed.state).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import redis
from scrapy import Request
from scrapy_redis.queue import Base as RedisQueueBase
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.context import RunContext
from crawler.distributed.coordinator import FLIGHT, slot_key
from crawler.distributed.extension import coordinator_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

READY_POLL = 0.25  # s at most between takes while requests wait for their host


class DistributedScheduler(RedisScheduler):
    """scrapy-redis's scheduler, plus: wake the engine when a host's slot frees up, and
    give this worker's state writes a hold until its files are published."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedScheduler:
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        return instance

    def open(self, spider) -> None:
        context = RunContext.for_crawler(self.crawler)
        if context._state is None and context.state_location not in (None, "", "off"):
            from archive.state import open_state
            from crawler.distributed.state import DeferredState

            context._state = DeferredState(open_state(context.state_location))
        self.coordinator = coordinator_of(self.crawler)
        super().open(spider)

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        self.queue.push(request)
        return True

    def next_request(self) -> Request | None:
        try:
            request = self.queue.pop()
        except redis.RedisError as exc:  # Redis away for a moment: ask again in a second
            logger.error("cannot take a request from the shared queue: %s", exc)
            self.coordinator.inc("redis_errors")
            self.coordinator.wake_in(1.0)
            return None
        if request is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
            return request
        wait_ms = getattr(self.queue, "wait_ms", -1)
        if wait_ms >= 0:  # requests wait for their host: ask again when one may be ready
            self.coordinator.wake_in(min(wait_ms / 1000, READY_POLL))
        return None

    def close(self, reason: str) -> None:
        """Never flush: the queue and seen-set belong to every worker of the crawl."""


class HostQueue(RedisQueueBase):
    """The scrapy-redis queue class for the shared crawl: one priority queue per host,
    taken only when the host's shared politeness slot is free (crawler.distributed.lua)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.coordinator = coordinator_of(spider.crawler)
        self.frontier = self.coordinator.frontier
        self.wait_ms = -1

    def __len__(self) -> int:
        return self.frontier.queued()

    def push(self, request: Request) -> None:
        request.meta.pop(FLIGHT, None)  # process-local; a requeued copy books its own slot
        self.frontier.push(slot_key(request), -request.priority, self._encode_request(request))

    def pop(self, timeout: int = 0) -> Request | None:
        coordinator = self.coordinator
        started = time.monotonic()
        result = self.frontier.pop(coordinator.worker, coordinator.delay_ms,
                                   coordinator.concurrency, coordinator.margin_ms)
        if isinstance(result, int):
            self.wait_ms = result
            return None
        try:
            request = self._decode_request(result.data)
        except Exception:
            logger.exception("unreadable request in the shared queue (host %s); dropped",
                             result.host)
            self.frontier.release(coordinator.worker, result.id, result.host)
            coordinator.inc("unreadable")
            self.wait_ms = 0
            return None
        coordinator.took(result, request, started)
        return request

    def clear(self) -> None:
        """One worker never empties the shared queue (the crawl's last worker ends it)."""
