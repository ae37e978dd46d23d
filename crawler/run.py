"""Running crawls: per-outlet Scrapy settings, one CrawlerProcess, reports back.

The CLI and the tests both come through ``run_crawls`` so that what the tests exercise is
exactly what cron runs.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from archive.outlet.config import OutletConfig
from archive.runs.report import EXIT_FAILED
from crawler.context import DEFAULT_STORE, new_run_id
from crawler.report import finished_report

logger = logging.getLogger(__name__)



@dataclass
class CrawlOptions:
    store: str = DEFAULT_STORE
    max_pages: int = 0
    max_articles: int = 0
    workers: int = 0
    log_level: str = "INFO"
    log_file: str | None = None
    progress: bool = False
    run_id: str | None = None
    state: str | None = None
    since: str | None = None
    recheck: str | None = None
    extra_settings: dict[str, Any] | None = None
    # scale-out: join the outlet's shared crawl in this Redis (crawler/distributed/)
    redis_url: str | None = None
    worker_id: str | None = None


def base_settings() -> Settings:
    """The project settings, whether or not the working directory has scrapy.cfg."""
    settings = get_project_settings()
    if settings.get("BOT_NAME") != "newsarchive":
        settings.setmodule("crawler.settings", priority="project")
    return settings


def outlet_settings(outlet: OutletConfig, options: CrawlOptions) -> Settings:
    """Scrapy settings for one outlet's crawl (politeness from its YAML, caps, store)."""
    settings = base_settings()
    delay = outlet.download_delay
    hosts = {urlsplit(u).netloc for u in outlet.seed_urls()} | set(outlet.hosts())
    values: dict[str, Any] = {
        "DOWNLOAD_DELAY": delay,
        "AUTOTHROTTLE_START_DELAY": delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": outlet.concurrency,
        # per-host slots, so an outlet on two hosts (rudaw.net, rudawarabia.net) is polite
        # to each; keyed by the slot key Scrapy uses (the hostname)
        "DOWNLOAD_SLOTS": {
            (urlsplit(f"//{h}").hostname or h): {"delay": delay, "concurrency": outlet.concurrency}
            for h in hosts
        },
        "NEWSARCHIVE_STORE": options.store,
        "NEWSARCHIVE_RUN_ID": options.run_id or new_run_id(),
        "NEWSARCHIVE_MAX_ARTICLES": options.max_articles,
        "CLOSESPIDER_PAGECOUNT": options.max_pages,
        "NEWSARCHIVE_PROGRESS": options.progress,
        "LOG_LEVEL": options.log_level,
        "LOG_FILE": options.log_file,
        "NEWSARCHIVE_SINCE": options.since,
    }
    if options.state:
        values["NEWSARCHIVE_STATE"] = options.state
    if options.recheck is not None:
        values["NEWSARCHIVE_RECHECK"] = options.recheck
    if options.workers:
        values["NEWSARCHIVE_EXTRACT_WORKERS"] = options.workers
    if outlet.max_page_bytes:
        values["NEWSARCHIVE_MAX_PAGE_BYTES"] = outlet.max_page_bytes
    if outlet.contact_url:
        values["NEWSARCHIVE_CONTACT_URL"] = outlet.contact_url
        values["USER_AGENT"] = (f"newsarchive/{settings.get('NEWSARCHIVE_VERSION')} "
                                f"(+{outlet.contact_url})")
    settings.setdict(values, priority="cmdline")
    if options.redis_url:
        from crawler.distributed.settings import distributed_settings

        settings.setdict(distributed_settings(outlet, options, settings), priority="cmdline")
    if options.extra_settings:
        settings.setdict(options.extra_settings, priority="cmdline")
    return settings


def run_crawls(outlets: list[OutletConfig], options: CrawlOptions) -> list[dict[str, Any]]:
    """Crawl every outlet in one process; return one run report per outlet.

    An outlet whose crawl died before writing its report gets a minimal failed report, so
    the caller can always compute an exit status.
    """
    from spiders.news import spider_class_for

    process_settings = base_settings()
    process_settings.setdict({"LOG_LEVEL": options.log_level, "LOG_FILE": options.log_file,
                              "LOG_INSTALL_ROOT_HANDLER": True}, priority="cmdline")
    process = CrawlerProcess(process_settings)
    crawlers: list[tuple[OutletConfig, Crawler]] = []
    for index, outlet in enumerate(outlets):
        settings = outlet_settings(outlet, options)
        crawler = Crawler(spider_class_for(outlet), settings, init_reactor=index == 0)
        process.crawl(crawler, outlet=outlet)
        crawlers.append((outlet, crawler))
    process.start()
    reports = []
    for outlet, crawler in crawlers:
        report = finished_report(crawler)
        if report is None:
            report = {"outlet": outlet.name, "run_id": crawler.settings.get("NEWSARCHIVE_RUN_ID"),
                      "finish_reason": "crashed", "exit_status": EXIT_FAILED,
                      "pages": {"fetched": 0, "by_kind": {}}, "articles": 0,
                      "failures": {"total": 0, "by_kind": {}}, "bytes": 0,
                      "pending_uploads": 0, "duration_seconds": 0, "files": []}
        reports.append(report)
    return reports


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
