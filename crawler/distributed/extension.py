"""The shared crawl's extension: heartbeat, dead-worker recovery, done detection, leaving.

It is also the one place the other components (scheduler, middlewares, pipeline) find
this worker's ``Coordinator``: through ``crawler.get_extension`` (``coordinator_of``),
the public Scrapy lookup, instead of an attribute hung on the crawler.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call

from crawler.context import RunContext
from crawler.distributed.coordinator import Coordinator
from crawler.keepalive import KeepAlive

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

IDLE_POLL = 0.25  # s between "is the crawl done?" checks of an idle worker
OK_REASONS = ("finished", "max_articles", "shutdown")


def coordinator_of(crawler: Crawler) -> Coordinator:
    """This crawler's Coordinator, held by its DistributedCrawlExtension.

    Callable once the extensions are built (from ``from_crawler`` of middlewares,
    pipelines and the scheduler on); a crawler without the extension is a settings error.
    """
    extension = crawler.get_extension(DistributedCrawlExtension)
    if extension is None:
        raise RuntimeError("the distributed crawl components need "
                           "crawler.distributed.extension.DistributedCrawlExtension in "
                           "EXTENSIONS (crawler.distributed.settings sets it)")
    return extension.coordinator


class DistributedCrawlExtension:
    """Heartbeat, dead-worker recovery, done detection and leaving the crawl."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._coordinator: Coordinator | None = None
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
        """Made on first use (the scheduler's ``open``), so joining Redis fails where it
        did before: when the spider opens, not while the extensions are built."""
        if self._coordinator is None:
            self._coordinator = Coordinator(self.crawler)
        return self._coordinator

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
            state = context.opened_state()
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
