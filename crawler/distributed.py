"""Scale-out: several crawl workers sharing one Redis frontier (``crawl --redis URL``).

The engine is scrapy-redis: its Scheduler and RFP dupefilter give every worker the same
queue and seen-set.  What scrapy-redis leaves open is added through its own extension
points (queue class, dupefilter class) and ordinary Scrapy components:

- Run id: the first worker of an outlet's crawl creates it in Redis, later ones join it
  (``join`` in crawler.distributed_redis; decided before Scrapy starts, in
  ``distributed_settings``).  The per-host file lock is replaced by the membership:
  every worker heartbeats ``{P}:crawl:O:workers``.
- Politeness across workers: requests wait in one queue per host; a worker only takes a
  request of a host whose shared slot is free (``next`` allowed send time and in-flight
  count, booked atomically when the request is taken), so all workers together keep
  the outlet's ``download_delay`` and ``concurrency`` per host.  The local Scrapy
  slots then have no delay of their own; a request held up after it was taken (it
  waited for robots.txt) books its slot again just before it is sent
  (``PolitenessMiddleware``), and so do requests that never went through the queue
  (robots.txt itself).  AutoThrottle's rule (raise the delay towards latency / target
  concurrency, never below the outlet's delay) runs on the shared per-host delay.
- Dead workers: everything a worker takes is journalled until its files are published
  at the end of its run; a worker whose heartbeat expires has its journal put back in
  the queue by whichever worker notices first, its host slots and article claims freed.
- Done: a worker that runs out of requests stays until nothing is queued and every
  live worker is idle since its last take; the last one out ends the run.
- Exactly once: the dupefilter stops a URL being fetched twice; the run's article claims
  (``DistributedArticlePipeline``) stop one article reached by two URLs from being
  written twice; state writes wait for the worker's files (crawler.distributed_state).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import call_later, create_looping_call, is_asyncio_available
from scrapy.utils.httpobj import urlparse_cached
from scrapy_redis.queue import Base as RedisQueueBase
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler.context import RunContext, new_run_id
from crawler.distributed_redis import (
    DistributedError,
    Frontier,
    Popped,
    WorkerIdInUse,
    check_worker_id,
    split_redis_url,
)
from crawler.distributed_seen import DEFAULT_BUCKETS
from crawler.keepalive import KeepAlive
from crawler.pipelines import ArticlePipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

    from archive.outlet.config import OutletConfig

logger = logging.getLogger(__name__)

__all__ = ["DistributedError", "WorkerIdInUse", "distributed_settings", "default_worker_id"]

FLIGHT = "_newsarchive_flight"  # meta: the host slot this process holds for the request
DEFAULT_TTL = 30.0
IDLE_POLL = 0.25  # s between "is the crawl done?" checks of an idle worker
READY_POLL = 0.25  # s at most between takes while requests wait for their host
OK_REASONS = ("finished", "max_articles", "shutdown")
STAT = "newsarchive/distributed/"


def default_worker_id() -> str:
    """``<host>-<pid>``: unique per process, readable in file names and logs."""
    host = "".join(c for c in socket.gethostname().split(".")[0] if c.isalnum() or c == "-")
    return f"{host.strip('-') or 'host'}-{os.getpid()}"


def slot_key(request: Request) -> str:
    """The politeness key of a request: Scrapy's download slot (the host name)."""
    return request.meta.get("download_slot") or urlparse_cached(request).hostname or ""


# ---- settings ----------------------------------------------------------------------------


def distributed_settings(outlet: OutletConfig, options: Any, settings: Settings
                         ) -> dict[str, Any]:
    """Join (or start) the outlet's shared crawl; the settings that make this process a
    worker of it.  Raises DistributedError (WorkerIdInUse: exit 75)."""
    url = options.redis_url
    clean_url, _prefix = split_redis_url(url)
    ttl = settings.getfloat("NEWSARCHIVE_WORKER_TTL", DEFAULT_TTL)
    buckets = settings.getint("NEWSARCHIVE_SEEN_BUCKETS", DEFAULT_BUCKETS)
    frontier = Frontier.from_url(url, outlet.name, buckets)
    worker = check_worker_id(options.worker_id or default_worker_id())
    # a worker that dies while starting (before its heartbeat runs) is forgotten after this
    grace_ms = int((ttl + 60) * 1000)
    run_id, fresh, worker, requeued = frontier.join(worker, options.run_id or new_run_id(),
                                                    grace_ms)
    frontier.client.close()
    logger.info("%s: %s crawl %s as worker %s (%d requests of dead workers requeued)",
                outlet.name, "started" if fresh else "joined", run_id, worker, requeued)
    concurrency = max(1, int(outlet.concurrency))
    downloader_mw = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    downloader_mw["crawler.distributed.PolitenessMiddleware"] = 980  # last before sending
    spider_mw = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    spider_mw["crawler.distributed.SeedOnceMiddleware"] = 10
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.distributed.DistributedCrawlExtension"] = 850  # after capture
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    order = pipelines.pop("crawler.pipelines.ArticlePipeline", 300)
    pipelines["crawler.pipelines.ArticlePipeline"] = None
    pipelines["crawler.distributed.DistributedArticlePipeline"] = order
    base = frontier.keys.base
    values: dict[str, Any] = {
        # scrapy-redis: shared queue and dupefilter, kept when a worker finishes
        "SCHEDULER": "crawler.distributed.DistributedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.HostQueue",
        "SCHEDULER_QUEUE_KEY": base + "q",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "SCHEDULER_SERIALIZER": "crawler.distributed_codec",
        "SCHEDULER_DUPEFILTER_KEY": base + "seen",
        "DUPEFILTER_CLASS": ("crawler.distributed_seen.BucketDupeFilter" if buckets > 0
                             else "scrapy_redis.dupefilter.RFPDupeFilter"),
        "REDIS_URL": clean_url,
        # this worker's identity: one run id, its own file names
        "NEWSARCHIVE_REDIS_URL": url,
        "NEWSARCHIVE_RUN_ID": run_id,
        "NEWSARCHIVE_WORKER_ID": worker,
        "NEWSARCHIVE_CRAWL_HOST": worker,
        # politeness is shared (Redis): the local slots must not add delays of their own,
        # or a request would leave later than the slot it booked
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "NEWSARCHIVE_SHARED_THROTTLE": settings.getbool("AUTOTHROTTLE_ENABLED"),
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency + 1,
        "DOWNLOAD_SLOTS": {host: {**slot, "delay": 0, "concurrency": concurrency + 1}
                           for host, slot in settings.getdict("DOWNLOAD_SLOTS").items()},
        "DOWNLOADER_MIDDLEWARES": downloader_mw,
        "SPIDER_MIDDLEWARES": spider_mw,
        "EXTENSIONS": extensions,
        "ITEM_PIPELINES": pipelines,
    }
    if not options.state:
        values["NEWSARCHIVE_STATE"] = url  # the shared state, on the same Redis and prefix
    return values


# ---- the per-crawler coordinator ---------------------------------------------------------


class Coordinator:
    """This worker's side of the shared crawl: one per crawler (``for_crawler``)."""

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

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> Coordinator:
        existing = getattr(crawler, "_newsarchive_distributed", None)
        if existing is None:
            existing = cls(crawler)
            crawler._newsarchive_distributed = existing  # type: ignore[attr-defined]
        return existing

    def inc(self, name: str, count: int = 1) -> None:
        if count:
            self.stats.inc_value(STAT + name, count)

    # ---- waking the engine: it only asks the scheduler again every 5 s on its own

    def wake_in(self, seconds: float) -> None:
        when = time.monotonic() + max(0.0, seconds)
        if self._wake is not None and self._wake_at <= when:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_at = when
        self._wake = call_later(max(0.0, seconds), self._do_wake)

    def _do_wake(self) -> None:
        self._wake = None
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and slot.closing is None:
            slot.nextcall.schedule()

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


# ---- scrapy-redis components ---------------------------------------------------------------


class DistributedScheduler(RedisScheduler):
    """scrapy-redis's scheduler, plus: wake the engine when a host's slot frees up, and
    give this worker's state writes a hold until its files are published."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedScheduler:
        instance = super().from_crawler(crawler)
        instance.crawler = crawler
        return instance

    def open(self, spider) -> None:
        # the state's writes wait for this worker's files: RunContext.state (both modes)
        self.coordinator = Coordinator.for_crawler(self.crawler)
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
    taken only when the host's shared politeness slot is free (crawler.distributed_redis)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.coordinator = Coordinator.for_crawler(spider.crawler)
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


# ---- Scrapy components --------------------------------------------------------------------


async def _sleep(seconds: float) -> None:
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
        coordinator = Coordinator.for_crawler(self.crawler)
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
        coordinator = Coordinator.for_crawler(self.crawler)
        if coordinator.frontier.is_seeded():
            coordinator.inc("joined_seeded")
            return
        async for item_or_request in start:
            yield item_or_request
        coordinator.frontier.mark_seeded()


class DistributedCrawlExtension:
    """Heartbeat, dead-worker recovery, done detection and leaving the crawl."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.heartbeat: Any = None
        self.keepalive: KeepAlive | None = None
        self.abandon = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self.request_left_downloader,
                                signal=signals.request_left_downloader)
        # runs before the run report extension (connected later): decide whether this
        # worker's results will be published
        crawler.signals.connect(self.before_report, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedCrawlExtension:
        return cls(crawler)

    @property
    def coordinator(self) -> Coordinator:
        return Coordinator.for_crawler(self.crawler)

    def spider_opened(self, spider) -> None:
        coordinator = self.coordinator
        # connected now, so it runs after every handler connected at start-up (the run
        # report publishes the files and flushes the state first)
        self.crawler.signals.connect(self.after_report, signal=signals.spider_closed)
        self.heartbeat = create_looping_call(self.beat)
        self.heartbeat.start(max(0.2, coordinator.ttl_ms / 3000), now=True)

    def beat(self) -> None:
        coordinator = self.coordinator
        try:
            requeued, lost = coordinator.frontier.poll(coordinator.worker, coordinator.ttl_ms)
            coordinator.sweep()
        except Exception:
            logger.exception("heartbeat to the shared crawl failed")
            coordinator.inc("heartbeat_errors")
            return
        if lost:
            logger.error("this worker (%s) had been declared dead by the others (stalled "
                         "longer than NEWSARCHIVE_WORKER_TTL): requests it held were crawled "
                         "again", coordinator.worker)
            coordinator.inc("declared_dead")
        if requeued:
            logger.warning("requeued %d requests of dead workers", requeued)
            coordinator.inc("requeued", requeued)
            coordinator.wake_in(0)

    def spider_idle(self, spider) -> None:
        coordinator = self.coordinator
        try:
            done, requeued = coordinator.frontier.idle(coordinator.worker, coordinator.ttl_ms)
        except redis.RedisError as exc:
            logger.error("cannot reach the shared crawl: %s", exc)
            coordinator.inc("redis_errors")
            coordinator.wake_in(1.0)
            raise DontCloseSpider from None
        if requeued:
            logger.warning("requeued %d requests of dead workers", requeued)
            coordinator.inc("requeued", requeued)
        if done:
            return
        coordinator.wake_in(0 if requeued else IDLE_POLL)
        raise DontCloseSpider

    def response_downloaded(self, response, request, spider) -> None:
        token = self.coordinator.holds(request)
        if token is not None:
            token["status"] = response.status

    def request_left_downloader(self, request, spider) -> None:
        try:
            self.coordinator.release(request)
        except Exception:
            logger.exception("could not release the host slot of %s", request.url)

    def before_report(self, spider, reason: str) -> None:
        coordinator = self.coordinator
        coordinator.cancel_wake()
        if self.heartbeat is not None and self.heartbeat.running:
            self.heartbeat.stop()
        # publishing blocks the reactor (S3 close can take minutes): beat from a thread
        self.keepalive = KeepAlive(
            lambda: coordinator.frontier.poll(coordinator.worker, coordinator.ttl_ms),
            max(0.2, coordinator.ttl_ms / 3000)).start()
        self.abandon = not (reason in OK_REASONS or reason.startswith("closespider_"))
        if self.abandon:
            # nothing of this worker's results can be trusted to reach the store: keep its
            # state writes back, and put every request it took back in the queue
            context = RunContext.for_crawler(self.crawler)
            state = context._state
            if state is not None and hasattr(state, "discard"):
                state.discard()

    def after_report(self, spider, reason: str) -> None:
        coordinator = self.coordinator
        if self.keepalive is not None:
            self.keepalive.stop()
        try:
            outcome, requeued = coordinator.frontier.leave(coordinator.worker,
                                                           requeue=self.abandon)
        except Exception:
            logger.exception("could not leave the shared crawl cleanly; the others will "
                             "requeue this worker's requests when its heartbeat expires")
            return
        logger.info("worker %s %s the crawl (%s; %d requests requeued)", coordinator.worker,
                    "abandoned" if self.abandon else "left", outcome, requeued)
        coordinator.frontier.client.close()


class ClaimSet:
    """The pipeline's "articles written this run", shared by every worker of the run.

    Membership is decided by an atomic claim in Redis: the first worker to ask about an
    article id owns it (``x in claims`` claims ``x`` when nobody has); every other worker
    then sees it as already written.  ``len`` counts this worker's own articles.
    """

    def __init__(self, coordinator: Coordinator):
        self.coordinator = coordinator
        self._mine: set[str] = set()

    def __contains__(self, article_id: object) -> bool:
        if article_id in self._mine:
            return True
        outcome = self.coordinator.frontier.claim(self.coordinator.worker, str(article_id))
        if outcome == 0:
            self.coordinator.inc("claimed_elsewhere")
            return True
        self._mine.add(str(article_id))
        return False

    def add(self, article_id: str) -> None:
        self._mine.add(article_id)

    def __len__(self) -> int:
        return len(self._mine)


class DistributedArticlePipeline(ArticlePipeline):
    """The article pipeline with the run's article claims instead of a local set."""

    def open_spider(self, spider=None) -> None:
        super().open_spider(spider)
        self.seen_ids = ClaimSet(Coordinator.for_crawler(self.crawler))  # type: ignore
