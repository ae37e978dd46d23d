"""Item pipeline: article pages -> extraction worker processes -> one corpus record each.

trafilatura costs ~20-30 ms of CPU per page; on the reactor thread it would halve the
crawl rate, so pages are handed to a process pool and the pipeline awaits the future
(Scrapy's scraper slot limits how many responses wait, which is the back-pressure).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from archive.corpus.records import CorpusWriter, find_records
from archive.corpus.templating import TemplatePass, source_sha256
from archive.extract.workers import default_workers
from archive.outlet.config import OutletConfig
from archive.outlet.urls import article_key, key_of_id, record_id
from archive.state.source_hashes import remember_sources, source_of
from archive.state.templates import StateTemplates
from archive.store.faults import pause_point
from archive.store.writable import is_unwritable
from crawler.context import RunContext, stop_unwritable
from crawler.samples import count_failure, samples_for

logger = logging.getLogger(__name__)

# what became of a record handed to ArticlePipeline.write
WRITTEN, UNCHANGED, REFUSED = "written", "unchanged", "refused"

_worker_outlet: OutletConfig | None = None
_worker_run_id: str = ""


def _init_worker(outlet: OutletConfig, run_id: str) -> None:
    global _worker_outlet, _worker_run_id
    _worker_outlet, _worker_run_id = outlet, run_id
    import archive.extract.article  # noqa: F401  (pay the trafilatura import once per worker)


def _build(page: dict[str, Any]) -> tuple[dict | None, list[str | None]]:
    from archive.extract.article import build_record_and_fingerprints

    assert _worker_outlet is not None
    return build_record_and_fingerprints(page, _worker_outlet, _worker_run_id)


class ArticlePipeline:
    """Extracts each article page once per run and writes the corpus record."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.workers = crawler.settings.getint("NEWSARCHIVE_EXTRACT_WORKERS") or default_workers()
        self.max_articles = crawler.settings.getint("NEWSARCHIVE_MAX_ARTICLES")
        self.pool: ProcessPoolExecutor | None = None
        self.writer: CorpusWriter | None = None
        self.context: RunContext | None = None
        self.seen_ids: set[str] = set()
        self.closing = False
        self.templating: TemplatePass | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArticlePipeline:
        return cls(crawler)

    def open_spider(self, spider=None) -> None:
        self.context = RunContext.for_crawler(self.crawler)
        # spawn, not fork: forking a process that runs the reactor and threads is unsafe
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.context.outlet, self.context.run_id),
        )
        self.writer = CorpusWriter(self.context.store.spool_dir, self.context.outlet.name,
                                   self.context.file_stem, self.context.started,
                                   on_opening=self.context.journal_file)
        if self.crawler.settings.getbool("NEWSARCHIVE_TEMPLATES", True):
            self.templating = TemplatePass(self.context.outlet,
                                           StateTemplates(self.context.state),
                                           reader=self.corpus_records)

    async def process_item(self, item: dict[str, Any], spider=None) -> dict[str, Any]:
        assert self.pool is not None and self.writer is not None and self.context is not None
        outlet = self.context.outlet
        state = self.context.state
        if item.get("revisit") and item.get("recheck") and state is not None:
            # the re-checked page is byte-identical to an archived capture: unchanged
            key = key_of_id(record_id(outlet, item["url"], item.get("canonical_url")), outlet.name)
            state.mark_checked(outlet.name, key, datetime.now(UTC))
            self.stats.inc_value("newsarchive/unchanged")
            raise DropItem(f"unchanged since the last capture: {item['url']}", log_level="DEBUG")
        page = {k: item.get(k) for k in ("url", "status", "body", "encoding", "fetched_at",
                                         "warc_record", "hints")}
        if dataclasses.is_dataclass(page["warc_record"]):
            page["warc_record"] = dataclasses.asdict(page["warc_record"])
        try:
            record, fingerprints = await asyncio.wrap_future(self.pool.submit(_build, page))
        except BrokenProcessPool as exc:
            # not a bad page: the workers cannot run at all (e.g. a missing dependency).
            # Going on would archive pages without a corpus; stop and say so.
            self.stats.inc_value("newsarchive/failures/extraction_error")
            if not self.closing:
                self.closing = True
                logger.error("extraction workers died (%s); stopping the crawl: check the "
                             "installation (pip install -e .) and the log above", exc)
                deferred_from_coro(
                    self.crawler.engine.close_spider_async(reason="extraction_pool_broken"))
            raise DropItem("extraction workers unavailable", log_level="DEBUG") from None
        except Exception as exc:  # a crashing page must not stop the crawl
            count_failure(self.crawler, "extraction_error", item.get("url"))
            logger.error("extraction failed for %s: %s", item.get("url"), exc)
            raise DropItem(f"extraction failed: {exc}", log_level="DEBUG") from None
        pause_point("extracted")
        if self.context.unwritable is not None and not item.get("warc_record"):
            # the store refused its WARC record: a corpus record must point at its source
            count_failure(self.crawler, "not_archived", item.get("url"))
            raise DropItem(f"not archived (store full): {item.get('url')}", log_level="DEBUG")
        if record is None:
            self.stats.inc_value("newsarchive/non_articles")
            raise DropItem(f"not an article: {item.get('url')}", log_level="DEBUG")
        if self.max_articles and len(self.seen_ids) >= self.max_articles:
            self.stats.inc_value("newsarchive/over_cap")
            raise DropItem("--max-articles reached", log_level="DEBUG")
        if record["id"] in self.seen_ids:
            if state is not None:
                self.remember_aliases(record, item, state)
            self.stats.inc_value("newsarchive/duplicates")
            raise DropItem(f"already extracted this run: {record['id']}", log_level="DEBUG")
        self.seen_ids.add(record["id"])
        if self.templating is None:
            ready = [(record, item)]
        else:  # a held record keeps only what remembering it needs, not the page body
            slim = {k: item.get(k) for k in ("url", "request_url")}
            ready = self.templating.accept(record, fingerprints, slim)
        written = {r["id"]: self.write(r, it) for r, it in ready}
        for done, _ in ready:
            self.settle_outcome(done, written[done["id"]])
        if written.get(record["id"]) == UNCHANGED:
            raise DropItem(f"text unchanged: {record['id']}", log_level="DEBUG")
        if written.get(record["id"]) == REFUSED:
            raise DropItem(f"not written (store refused the write): {record['id']}",
                           log_level="DEBUG")
        if self.max_articles and len(self.seen_ids) >= self.max_articles and not self.closing:
            self.closing = True
            # scheduled, not awaited: closing waits for the items in flight, this one included
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="max_articles"))
        return {"id": record["id"], "url": record["url"], "title": record["title"]}

    def write(self, record: dict[str, Any], item: dict[str, Any], again: bool = False) -> str:
        """Version, write and remember one record: WRITTEN, UNCHANGED (same text as the
        archived version) or REFUSED (the store refused the write: the crawl stops).
        ``again``: the record replaces the one of the same (id, version) written earlier
        in this run (cleaned again by the template pass: a later line wins)."""
        assert self.writer is not None and self.context is not None
        state = self.context.state
        if not again and state is not None and not self.apply_history(record, state):
            return UNCHANGED
        try:
            self.writer.write(record, replaces=again)
        except OSError as exc:
            if not is_unwritable(exc):
                raise
            stop_unwritable(self.crawler, self.writer.path.with_name(
                self.writer.path.name + ".open"), exc)
            count_failure(self.crawler, "not_archived", item.get("url"))
            return REFUSED
        pause_point("corpus_line")
        if state is not None and not (again and self.superseded(record, state)):
            self.remember(record, item, state)
        if again:
            return WRITTEN
        self.stats.inc_value("newsarchive/articles")
        samples_for(self.crawler).add_text_length(len(record.get("text") or ""))
        return WRITTEN

    def settle_outcome(self, record: dict[str, Any], outcome: str) -> None:
        """Tell the template pass what became of a record it released: a written one is
        marked until a settled store cleaned it; of any other there is nothing to clean."""
        if self.templating is None:
            return
        if outcome == WRITTEN:
            self.templating.written(record)
        else:
            self.templating.forget(record["id"])

    def superseded(self, record: dict[str, Any], state: Any) -> bool:
        """True when the state knows a later version than ``record``'s (cleaned again)."""
        info = state.article_info(self.context.outlet.name,
                                  key_of_id(record["id"], self.context.outlet.name))
        return info is not None and info.version > int(record.get("version") or 1)

    def sole_writer(self) -> bool:
        """True when every corpus record of the outlet's earlier runs is in the store by
        now: no other worker of a shared crawl writes (the run lock keeps other runs out,
        recovery ran at the start) and none of the outlet's corpus files waits for upload."""
        assert self.context is not None
        if self.context.worker_id is not None:
            return False
        waiting = f"/corpus/{self.context.outlet.name}/"
        return not any(waiting in Path(path).as_posix() for path in self.context.store.pending())

    def corpus_records(self, wanted: set[tuple[str, int]]) -> Iterator[dict[str, Any]]:
        """The outlet's corpus records of the given (id, version) pairs (earlier runs')."""
        assert self.context is not None
        yield from find_records(self.context.store, self.context.outlet.name, wanted)

    def remember(self, record: dict[str, Any], item: dict[str, Any], state: Any) -> None:
        """Mark the article archived under its key and under every URL that led to it.

        Alias keys (a legacy URL that redirects, a second category slug) let the next
        run skip those URLs too instead of fetching them to find a known article.
        """
        outlet = self.context.outlet
        key = key_of_id(record["id"], self.context.outlet.name)
        fetched = record["fetched_at"] or datetime.now(UTC)
        state.record_article(outlet.name, key, record["url"], record["content_sha256"],
                             record["version"], fetched, record.get("published"))
        remember_sources(state, outlet.name,
                         [(key, record["content_sha256"], source_sha256(record))])
        self.remember_aliases(record, item, state)

    def remember_aliases(self, record: dict[str, Any], item: dict[str, Any], state: Any) -> None:
        outlet = self.context.outlet
        key = key_of_id(record["id"], self.context.outlet.name)
        fetched = record["fetched_at"] or datetime.now(UTC)
        for url in {item.get("url"), item.get("request_url")} - {None}:
            alias = article_key(outlet, url)
            if alias != key and outlet.is_article_url(url):
                state.record_article(outlet.name, alias, url, record["content_sha256"],
                                     record["version"], fetched, record.get("published"))

    def apply_history(self, record: dict[str, Any], state: Any) -> bool:
        """Set version/previous_sha256 from the state; False when the text is unchanged.

        A page can change without its article changing (a rotating widget, a new ad):
        then there is a new capture in the WARC but no new corpus version.  Nor does a
        template learnt since the archived version was cleaned: the hashes before template
        removal are compared too (``archive.state.source_hashes``).
        """
        outlet = self.context.outlet.name
        key = key_of_id(record["id"], self.context.outlet.name)
        info = state.article_info(outlet, key)
        if info is None:
            return True
        if info.content_sha256 == record["content_sha256"] or source_sha256(record) == \
                source_of(state, outlet, key, info.content_sha256):
            state.mark_checked(outlet, key, datetime.now(UTC))
            self.stats.inc_value("newsarchive/unchanged")
            return False
        record["version"] = info.version + 1
        record["previous_sha256"] = info.content_sha256
        self.stats.inc_value("newsarchive/new_versions")
        return True

    def close_spider(self, spider=None) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self.templating is not None and self.writer is not None:
            for record, item in self.templating.finish():  # records held at a cold start
                self.settle_outcome(record, self.write(record, item))
            self.templating.drop_lost = self.sole_writer()
            for record, item in self.templating.reclean():  # cleaned by a young store
                record["run_id"] = self.context.run_id if self.context else record["run_id"]
                self.write(record, item or {}, again=True)
            self.stats.set_value("newsarchive/template_blocks_removed",
                                 self.templating.removed_blocks)
            self.stats.set_value("newsarchive/template_recleaned",
                                 self.templating.recleaned_records)
            self.stats.set_value("newsarchive/template_lost_marks",
                                 self.templating.lost_marks)
        if self.writer is not None and self.context is not None:
            try:
                path = self.writer.close()
            except OSError as exc:
                self.context.problem("could not close the corpus file %s (%s); the next "
                                     "run recovers it", self.writer.path, exc)
                self.context.publish_failed = True
                return
            if path is not None:
                self.context.publish(path, self.writer.key)
