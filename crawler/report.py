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

from archive.runs.recent import recent_reports
from archive.runs.report import build_report, report_key, write_report
from archive.runs.samples import scrub_url
from archive.store.faults import pause_point
from crawler.context import RunContext
from crawler.redirects import record_redirect_aliases
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
    """Per channel, what was declared against what was archived (spiders/coverage.py).

    The missing URLs are scrubbed like the failing ones: a link with ``user:pass@`` in it
    is refused, and its password must not reach the report either."""
    report = getattr(spider, "coverage_report", None)
    coverage = report() if callable(report) else {}
    for entry in coverage.get("missing", []):
        if isinstance(entry, dict) and "url" in entry:
            entry["url"] = scrub_url(entry["url"])
    return coverage


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
        if context.unwritable is not None:
            reason = "store_unwritable"
        pause_point("files_published")
        state_written = self.write_state(context)
        pause_point("state_written")
        stats = self.crawler.stats.get_stats()
        key = report_key(context.outlet.name, context.file_stem)
        extra = {"report_key": key, "crawl_host": context.crawl_host,
                 "worker_id": context.worker_id,
                 "responses": int(stats.get("downloader/response_count", 0)),
                 "store_reachable_at_start": self.crawler.settings.getbool(
                     "NEWSARCHIVE_STORE_REACHABLE", True),
                 "outlet_file": str(context.outlet.source_path or ""),
                 "coverage": coverage_of(spider),
                 **samples_for(self.crawler).report_fields()}
        if context.recovery is not None and context.recovery.runs:
            extra["recovered"] = context.recovery.to_dict()
        if context.unwritable is not None:
            extra["store_error"] = context.unwritable
        report = build_report(
            run_id=context.run_id, outlet=context.outlet.name, store_uri=context.store.uri,
            started=context.started, stats=stats, files=settled(context.store, context.manifest),
            finish_reason=reason, extra=extra,
            history=recent_reports(context.store, context.outlet.name, exclude_key=key),
        )
        self.report = report
        published = self.publish_report(context, report, key)
        context.store.close()
        context.close_state()
        pause_point("report_published")
        if published and state_written and not context.publish_failed \
                and context.journal is not None:
            context.journal.finish()  # complete in the store: nothing to recover
        logger.info("run report %s", key)

    @staticmethod
    def write_state(context: RunContext) -> bool:
        """State follows publication: flush the run's held-back writes, or keep them back
        (the journal stays and the next run derives them from the files)."""
        state = context.opened_state()
        if state is None:
            return True
        if context.publish_failed:
            state.discard()
            return False
        try:
            record_redirect_aliases(context)
            state.flush()
        except Exception as exc:
            context.problem("could not write the state %s (%s); the next run brings it "
                            "up to date from the store", state.inner.location, exc)
            state.discard()
            return False
        return True

    @staticmethod
    def publish_report(context: RunContext, report: dict, key: str) -> bool:
        path = context.store.spool_dir / key
        try:
            write_report(report, path)
            context.store.publish(path, key)
        except OSError as exc:
            path.with_name(path.name + ".open").unlink(missing_ok=True)
            context.problem("could not write the run report %s (%s); its summary follows "
                            "on stdout", path, exc)
            return False
        return True


def finished_report(crawler: Crawler) -> dict | None:
    """The report the crawl wrote, or None when it died before writing one."""
    try:
        extension = crawler.get_extension(RunReportExtension)
    except RuntimeError:  # the crawl never got as far as creating its extensions
        return None
    return extension.report if extension is not None else None
