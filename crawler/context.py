"""The run context: one object per crawl that every Scrapy component shares.

Scrapy components are built independently (``from_crawler``), but capture, corpus
writing and the run report must agree on one run id, one store and one manifest of
published files.  The first component that asks creates the context; it is kept per
crawler in a weak mapping (not as an attribute hung on the crawler), and the CLI may
pre-seed it through the ``NEWSARCHIVE_*`` settings.
"""

from __future__ import annotations

import logging
import socket
import threading
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archive.corpus.records import parse_since
from archive.runs.report import new_run_id
from archive.state import open_state
from archive.state.base import default_state_path
from archive.state.deferred import DeferredState
from archive.state.journal import RunJournal
from archive.state.recovery import RecoveryResult, recover
from archive.state.schedule import RecheckSchedule
from archive.store import open_store
from archive.store.base import Store, StoredObject
from archive.store.writable import describe

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from archive.outlet.config import OutletConfig

logger = logging.getLogger(__name__)

DEFAULT_STORE = "./archive"

# The context of each live crawl; weak keys, so a finished crawler takes its context along.
_CONTEXTS: weakref.WeakKeyDictionary[Crawler, RunContext] = weakref.WeakKeyDictionary()


@dataclass
class RunContext:
    run_id: str
    outlet: OutletConfig
    store: Store
    started: datetime
    crawl_host: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    manifest: list[StoredObject] = field(default_factory=list)
    # incremental crawling: where the state lives ("off" disables it), the edit-check
    # schedule, and the --since cut-off for feed and sitemap entries
    # several workers of one distributed crawl share a run id; each writes its own files
    worker_id: str | None = None
    state_location: str | None = None
    schedule: RecheckSchedule = field(default_factory=RecheckSchedule.parse)
    since: datetime | None = None
    store_uri: str = ""
    journal: RunJournal | None = None
    recovery: RecoveryResult | None = None
    unwritable: str | None = None  # the one error line once the store refused a write
    publish_failed: bool = False
    redirects: list[tuple[str, str]] = field(default_factory=list)  # from article URLs
    _state: DeferredState | None = None
    _background: list[threading.Thread] = field(default_factory=list)

    @property
    def state(self) -> DeferredState | None:
        """The state store, opened on first use (None when incremental mode is off).

        Writes are held back until the run's files are published (``flush_state``): the
        state follows publication, in a single process and in a shared crawl alike.
        """
        if self._state is None and self.state_location and self.state_location != "off":
            location = self.state_location
            if "://" not in location:
                Path(location).parent.mkdir(parents=True, exist_ok=True)
            self._state = DeferredState(open_state(location))
        return self._state

    def opened_state(self) -> DeferredState | None:
        """The state if this run has opened it, else None -- never opens it.

        For the end of a run (flushing or discarding held-back writes, recording redirect
        aliases): a run that never touched the state has nothing to write, and opening a
        database or connecting to Redis just to find that out would be wasted, or fail.
        """
        return self._state

    @property
    def file_stem(self) -> str:
        """Name of this process's corpus and report files: the run id (+ worker id)."""
        return f"{self.run_id}-{self.worker_id}" if self.worker_id else self.run_id

    def close_state(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None

    @classmethod
    def existing(cls, crawler: Crawler) -> RunContext | None:
        """The crawl's context if a component created it; None for a bare spider.

        For readers that must not create one (opening a store): the spider asks for the
        state and ``--since`` only when the newsarchive components run.
        """
        return _CONTEXTS.get(crawler)

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> RunContext:
        """The crawl's context, created on first use from settings and the spider."""
        existing = _CONTEXTS.get(crawler)
        if existing is not None:
            return existing
        settings = crawler.settings
        spider = crawler.spider
        outlet = getattr(spider, "outlet", None)
        if outlet is None:
            raise RuntimeError("newsarchive components need a NewsSpider with an .outlet")
        store_uri = settings.get("NEWSARCHIVE_STORE") or DEFAULT_STORE
        recheck = settings.get("NEWSARCHIVE_RECHECK")
        schedule = (RecheckSchedule.parse(recheck) if recheck is not None
                    else RecheckSchedule.from_mapping(outlet.extra.get("recheck")))
        since = settings.get("NEWSARCHIVE_SINCE")
        context = cls(
            run_id=settings.get("NEWSARCHIVE_RUN_ID") or new_run_id(),
            outlet=outlet,
            store=open_store(store_uri, **settings.getdict("NEWSARCHIVE_STORE_OPTIONS")),
            started=datetime.now(UTC),
            state_location=str(settings.get("NEWSARCHIVE_STATE")
                               or default_state_path(store_uri)),
            schedule=schedule,
            since=parse_since(since),
            worker_id=settings.get("NEWSARCHIVE_WORKER_ID") or None,
            store_uri=str(store_uri),
        )
        if settings.get("NEWSARCHIVE_CRAWL_HOST"):
            context.crawl_host = settings.get("NEWSARCHIVE_CRAWL_HOST")
        _CONTEXTS[crawler] = context
        return context

    # ---- the run's life: journal, recovery of dead runs, refused writes --------------------

    def start_run(self) -> RecoveryResult | None:
        """Journal this run, then recover what dead runs of the outlet left behind.

        Runs before the first request: recovered articles are in the state (so they are
        not fetched again) and their files are listed in this run's manifest.
        """
        if self.journal is not None:
            return self.recovery
        from archive.outlet.urls import article_key

        self.journal = RunJournal(self.store_uri or self.store.uri, self.outlet.name,
                                  self.run_id, self.file_stem, self.started.isoformat())
        try:
            self.journal.begin()
        except OSError as exc:
            logger.error("cannot write the run journal %s: %s", self.journal.path, exc)
            self.journal = None
            return None
        state = self.state
        outlet = self.outlet
        self.recovery = recover(
            self.store, self.store_uri or self.store.uri, outlet.name,
            state.inner if state is not None else None,
            is_article_url=outlet.is_article_url,
            article_key=lambda url: article_key(outlet, url),
            adopt=self.journal.opened, own=self.journal.path)
        self.manifest.extend(self.recovery.files)
        return self.recovery

    def journal_file(self, key: str) -> None:
        if self.journal is not None:
            self.journal.opened(key)

    def refuse_writes(self, path, exc: BaseException) -> bool:
        """Note that the store refused a write; True the first time (log and stop then)."""
        if self.unwritable is not None:
            return False
        self.unwritable = describe(path, exc)
        return True

    def problem(self, message: str, *args) -> None:
        """Log a failure; after the store refused a write, its consequences are warnings
        (the operator reads one error line, not a cascade)."""
        log = logger.warning if self.unwritable is not None else logger.error
        log(message, *args)

    def publish_warc(self, local_path: Path, key: str, sha256: str | None = None) -> None:
        """Index a closed WARC (CDXJ under indexes/), then publish both, off the reactor.

        cdxj-indexer reads the whole file (seconds for a 1 GB WARC): a background thread
        keeps the crawl going; ``wait_background`` joins it before the run report.
        """
        thread = threading.Thread(target=self._index_and_publish, args=(local_path, key, sha256),
                                  name=f"index-{Path(key).name}", daemon=False)
        self._background.append(thread)
        thread.start()

    def _index_and_publish(self, local_path: Path, key: str, sha256: str | None) -> None:
        from archive.warc.cdxj import index_key_for, index_warc

        index_key = index_key_for(key)
        index_path = self.store.spool_dir / index_key
        try:
            index_warc(local_path, index_path, filename=Path(key).name)
        except Exception as exc:  # the WARC matters more than its index: publish it regardless
            self.problem("could not index %s (%s); `newsarchive wacz` builds it when needed",
                         key, exc)
            Path(f"{index_path}.open").unlink(missing_ok=True)
            index_path = None
        try:
            self.publish(local_path, key, sha256)
            if self._state is not None:
                self._state.published(key)  # its records may now be revisited
            if index_path is not None:
                self.publish(index_path, index_key)
        except Exception as exc:
            self.problem("could not publish %s: %s; the next run recovers it", key, exc)

    def wait_background(self) -> None:
        for thread in self._background:
            thread.join()
        self._background.clear()

    def publish(self, local_path: Path, key: str, sha256: str | None = None) -> StoredObject:
        """Publish a closed file to the store and record it in the run manifest."""
        try:
            stored = self.store.publish(local_path, key, sha256=sha256)
        except Exception:
            self.publish_failed = True  # the journal stays: the next run publishes it
            raise
        self.manifest.append(stored)
        logger.info("stored %s (%d bytes)", stored.key, stored.size)
        return stored


def stop_unwritable(crawler: Crawler, path, exc: BaseException) -> None:
    """The store refused a write (disk full, read-only): one error line, stop the crawl.

    The run ends with finish reason ``store_unwritable`` (exit 3); what was archived
    before stays and the run report lists it.
    """
    context = RunContext.for_crawler(crawler)
    if not context.refuse_writes(path, exc):
        return
    logger.error("%s", context.unwritable)
    from scrapy.utils.defer import deferred_from_coro

    deferred_from_coro(crawler.engine.close_spider_async(reason="store_unwritable"))
