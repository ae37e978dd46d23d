"""Joining the shared crawl, and the Scrapy settings that make this process a worker of it.

This runs before Scrapy starts (crawler.run), because the run id decides file names and
the report: the first worker of an outlet's crawl creates it in Redis, later ones join
it.  Everything the components need afterwards travels in these settings.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from crawler.context import new_run_id
from crawler.distributed.frontier import Frontier, check_worker_id, split_redis_url
from crawler.distributed.seen import DEFAULT_BUCKETS

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from archive.outlet.config import OutletConfig

logger = logging.getLogger(__name__)

DEFAULT_TTL = 30.0  # s: NEWSARCHIVE_WORKER_TTL, a worker silent this long is dead


def default_worker_id() -> str:
    """``<host>-<pid>``: unique per process, readable in file names and logs."""
    host = "".join(c for c in socket.gethostname().split(".")[0] if c.isalnum() or c == "-")
    return f"{host.strip('-') or 'host'}-{os.getpid()}"


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
    # last before sending
    downloader_mw["crawler.distributed.middlewares.PolitenessMiddleware"] = 980
    spider_mw = dict(settings.getdict("SPIDER_MIDDLEWARES"))
    spider_mw["crawler.distributed.middlewares.SeedOnceMiddleware"] = 10
    extensions = dict(settings.getdict("EXTENSIONS"))
    extensions["crawler.distributed.extension.DistributedCrawlExtension"] = 850  # after capture
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    order = pipelines.pop("crawler.pipelines.ArticlePipeline", 300)
    pipelines["crawler.pipelines.ArticlePipeline"] = None
    pipelines["crawler.distributed.pipeline.DistributedArticlePipeline"] = order
    base = frontier.keys.base
    values: dict[str, Any] = {
        # scrapy-redis: shared queue and dupefilter, kept when a worker finishes
        "SCHEDULER": "crawler.distributed.scheduler.DistributedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawler.distributed.scheduler.HostQueue",
        "SCHEDULER_QUEUE_KEY": base + "q",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
        "SCHEDULER_SERIALIZER": "crawler.distributed.codec",
        "SCHEDULER_DUPEFILTER_KEY": base + "seen",
        "DUPEFILTER_CLASS": ("crawler.distributed.seen.BucketDupeFilter" if buckets > 0
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
