"""Extension that writes the run report when the spider closes.

It is wired after the capture extension (crawler/settings.py), so by the time it runs
the corpus (pipelines close first) and the last WARC have been published and listed in
the run context's manifest.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from scrapy import signals
from scrapy.crawler import Crawler

from archive.runs.report import build_report, report_key, write_report
from crawler.context import RunContext
from crawler.samples import samples_for

logger = logging.getLogger(__name__)


def settled(store, manifest: list) -> list:
    """The manifest with each upload's outcome: S3 publishes return ``pending`` at spool
    time; after ``store.close()`` only what is still in the spool is pending."""
    is_pending = getattr(store, "is_pending", None)
    if is_pending is None:
        return manifest
    return [replace(f, pending=is_pending(f.key)) if f.pending else f for f in manifest]


def coverage_of(spider) -> dict:
    """Per channel, what was declared against what was archived (spiders/coverage.py)."""
    report = getattr(spider, "coverage_report", None)
    return report() if callable(report) else {}


class RunReportExtension:
    """Writes the run report when the spider closes, and keeps it for the CLI's summary
    line (``finished_report``)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.report: dict | None = None
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunReportExtension:
        return cls(crawler)

    def spider_closed(self, spider, reason: str) -> None:
        context = RunContext.for_crawler(self.crawler)
        context.wait_background()  # WARC indexing and publishing
        context.store.close()  # wait for uploads so the pending count is true
        stats = self.crawler.stats.get_stats()
        key = report_key(context.outlet.name, context.file_stem)
        report = build_report(
            run_id=context.run_id, outlet=context.outlet.name, store_uri=context.store.uri,
            started=context.started, stats=stats, files=settled(context.store, context.manifest),
            finish_reason=reason,
            extra={"report_key": key, "crawl_host": context.crawl_host,
                   "worker_id": context.worker_id,
                   "responses": int(stats.get("downloader/response_count", 0)),
                   "store_reachable_at_start": self.crawler.settings.getbool(
                       "NEWSARCHIVE_STORE_REACHABLE", True),
                   "outlet_file": str(context.outlet.source_path or ""),
                   "coverage": coverage_of(spider),
                   **samples_for(self.crawler).report_fields()},
        )
        path = write_report(report, context.store.spool_dir / key)
        context.store.publish(path, key)
        context.store.close()
        context.close_state()
        self.report = report
        logger.info("run report %s", key)


def finished_report(crawler: Crawler) -> dict | None:
    """The report the crawl wrote, or None when it died before writing one."""
    try:
        extension = crawler.get_extension(RunReportExtension)
    except RuntimeError:  # the crawl never got as far as creating its extensions
        return None
    return extension.report if extension is not None else None
