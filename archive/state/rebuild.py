"""Rebuild the crawl state from a store: the state is a cache, the store is the truth.

``newsarchive state rebuild`` calls ``rebuild_state``.  It reads

1. the corpus (``corpus/{outlet}/{YYYY}/{MM}/{run}.jsonl.gz``, each generation read
   once, newest winning: ``archive.state.rebuild_corpus``): every article version ->
   archived keys, versions, content hashes, first/last capture times, publication dates,
   and the template side (stores, unsettled marks, source hashes:
   ``archive.state.rebuild_templates``);
2. the CDXJ indexes under ``indexes/`` when present (cdxj-indexer format), else the
   WARCs themselves (``warc/**/*.warc.gz``): every response record -> the first capture
   of its payload digest (earliest date wins); every later fetch of a young article's
   URL (a revisit from an unchanged re-check) -> its last-check time; the latest
   ETag/Last-Modified of the feed/sitemap/front URLs given in ``validator_urls``.

CDXJ lines carry no record id (unless indexed with ``-f warc-record-id,warc-date``), so
for those lines the record head is read at its offset: a few hundred bytes per record
instead of decompressing every payload.  WARCs no index mentions are scanned in full.

All writes are the state's order-independent merges, so the result does not depend on
listing order and rebuilding into a non-empty state only adds what is missing.  For an
exact copy of the store's knowledge rebuild into an empty state (``state.clear()``).
"""

from __future__ import annotations

import gzip
import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from archive.outlet.config import OutletConfig
from archive.outlet.urls import article_key
from archive.state.aliases import AliasIndex
from archive.state.base import ArticleRecord, DigestRecord, StateStore
from archive.state.captures import (
    WARC_ERRORS,
    SeenCapture,
    parse_index_line,
    read_heads,
    records,
)
from archive.state.rebuild_corpus import CorpusPass, outlet_of
from archive.state.schedule import parse_datetime
from archive.store.base import Store
from archive.warc.cdxj import WARC_SUFFIXES

INDEX_SUFFIXES = (".cdxj", ".cdxj.gz", ".cdx", ".cdx.gz")
DEFAULT_RECHECK_WINDOW = timedelta(days=366)
SAME_RUN = timedelta(seconds=60)  # fetches this close to the capture are not re-checks
# index lines held before their record heads are read: small enough that memory does not
# depend on the size of the store (a batch costs one pass of seeks over its WARCs)
PENDING_LIMIT = 10_000
# the state's SQLite page cache during a rebuild: bulk upserts gain nothing from the crawl's
# 32 MB (measured: 4 MB is as fast), and a cache that fills only on big stores is what
# made the rebuild's peak memory grow with the archive (issue 19)
REBUILD_CACHE_MB = 4
VALIDATOR_CANDIDATES = 4  # newest captures of a page kept to find its latest validators


@dataclass
class RebuildResult:
    """What a rebuild read and restored (printed by the CLI, asserted by tests)."""

    corpus_files: int = 0
    corpus_records: int = 0
    articles: dict[str, int] = field(default_factory=dict)  # outlet -> keys in the state
    index_files: int = 0
    index_lines: int = 0
    warc_files_scanned: int = 0
    warc_records: int = 0
    record_heads_read: int = 0  # heads read at an offset to complete CDXJ lines
    captures: int = 0  # response captures offered to the digest table
    digests: int = 0  # distinct digests in the state afterwards
    rechecks: int = 0  # articles whose last-check time came from a later fetch
    aliases: int = 0  # alias keys: other URLs that led to an article
    validators: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        articles = sum(self.articles.values())
        return (f"{articles} articles ({self.corpus_records} corpus records in "
                f"{self.corpus_files} files), {self.digests} payload digests from "
                f"{self.captures} captures ({self.index_files} CDXJ indexes, "
                f"{self.warc_files_scanned} WARCs scanned), {self.rechecks} re-check times, "
                f"{self.validators} validators, {self.aliases} alias keys, "
                f"{len(self.problems)} problems, "
                f"{self.seconds:.1f} s")


class _Rebuild:
    def __init__(self, store: Store, state: StateStore, outlets: set[str] | None,
                 validator_urls: set[str], window_start: datetime,
                 progress: Callable[[str], None] | None,
                 configs: dict[str, OutletConfig] | None = None):
        self.store, self.state = store, state
        self.outlets = outlets
        self.validator_urls = validator_urls
        self.window_start = window_start
        self.progress = progress or (lambda message: None)
        self.result = RebuildResult()
        self.configs = configs or {}
        # per-article bookkeeping (young URLs, fetch times, aliases) lives on disk
        self.index = AliasIndex()
        self.redirect_candidates: list[SeenCapture] = []
        self.latest_validators: dict[
            str, tuple[datetime, str | None, str | None, str | None]] = {}
        self.validator_candidates: dict[str, list[SeenCapture]] = {}

    def wanted(self, outlet: str) -> bool:
        return self.outlets is None or outlet in self.outlets

    def problem(self, message: str) -> None:
        self.result.problems.append(message)

    # ---- captures: indexes first, then the WARCs no index covers ----------------------

    def read_captures(self) -> None:
        warc_keys = [k for k in self.store.list_keys("warc/")
                     if k.endswith(WARC_SUFFIXES) and self.wanted(outlet_of(k))]
        by_name: dict[str, str] = {}
        for key in warc_keys:
            by_name.setdefault(key.rsplit("/", 1)[-1], key)
        known = set(warc_keys)
        covered: set[str] = set()
        index_keys = [k for k in self.store.list_keys("indexes/") if k.endswith(INDEX_SUFFIXES)]
        for index_key in index_keys:
            self.result.index_files += 1
            self.progress(f"index {index_key}")
            pending: dict[str, list[SeenCapture]] = {}
            held = 0
            for capture in self._index_lines(index_key, known, by_name):
                covered.add(capture.warc_key)
                if capture.digest and not capture.revisit and not capture.record_id:
                    pending.setdefault(capture.warc_key, []).append(capture)
                    held += 1
                    if held >= PENDING_LIMIT:  # bound memory on huge indexes
                        self._complete_all(pending)
                        pending, held = {}, 0
                else:
                    self.take(capture)
            self._complete_all(pending)
        for warc_key in warc_keys:
            if warc_key not in covered:
                self.progress(f"warc {warc_key}")
                self.result.warc_files_scanned += 1
                for capture in self._scan_warc(warc_key):
                    self.take(capture)
        self.flush_digests()

    def _index_lines(self, key: str, known: set[str], by_name: dict[str, str]
                     ) -> Iterator[SeenCapture]:
        try:
            with self.store.open_read(key) as raw:
                stream = gzip.open(raw, "rt", encoding="utf-8") if key.endswith(".gz") else \
                    io.TextIOWrapper(raw, encoding="utf-8")
                for number, line in enumerate(stream, 1):
                    try:
                        capture = self._index_line(line, known, by_name)
                    except ValueError:
                        self.problem(f"{key}:{number}: not a CDXJ line")
                        continue
                    if capture is not None:
                        self.result.index_lines += 1
                        yield capture
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            self.problem(f"{key}: unreadable index ({exc})")

    def _index_line(self, line: str, known: set[str], by_name: dict[str, str]
                    ) -> SeenCapture | None:
        """One CDXJ line -> a capture, None for lines to ignore; ValueError if malformed."""
        capture, unknown = parse_index_line(line, known, by_name)
        if unknown is not None and self.outlets is None:
            self.problem(f"index names {unknown!r}, which is not in the store")
        return capture

    def _complete_all(self, pending: dict[str, list[SeenCapture]]) -> None:
        for warc_key, captures in pending.items():
            for capture in self._complete(warc_key, captures):
                self.take(capture)

    def _complete(self, warc_key: str, captures: list[SeenCapture]) -> Iterator[SeenCapture]:
        """Read the head of each record an index line points at (record id, exact date)."""
        try:
            with self.store.open_read(warc_key) as raw:
                for capture, found in read_heads(raw, warc_key, captures):
                    self.result.record_heads_read += 1
                    if found is None or found.url != capture.url:
                        self.problem(f"{warc_key}: no record for {capture.url} at offset "
                                     f"{capture.offset}, where an index puts it")
                        continue
                    yield found
        except WARC_ERRORS as exc:
            self.problem(f"{warc_key}: cannot read records listed in an index ({exc})")

    def _count_record(self) -> None:
        self.result.warc_records += 1

    def _scan_warc(self, warc_key: str) -> Iterator[SeenCapture]:
        try:
            with self.store.open_read(warc_key) as raw:
                yield from records(raw, warc_key, 0, self._count_record)
        except WARC_ERRORS as exc:
            self.problem(f"{warc_key}: unreadable WARC ({exc})")

    # ---- what a capture tells ----------------------------------------------------------

    def take(self, capture: SeenCapture) -> None:
        when = parse_datetime(capture.date)
        if when is None:
            self.problem(f"{capture.warc_key}: bad date {capture.date!r} for {capture.url}")
            return
        if capture.digest and not capture.revisit and capture.record_id \
                and not capture.truncated and capture.status == "200":
            self.index.digest(DigestRecord(capture.digest, capture.url, capture.date,
                                           capture.record_id, capture.warc_key,
                                           capture.offset, outlet_of(capture.warc_key)))
            self.result.captures += 1
        self.index.fetch(capture.url, when.timestamp())
        config = self.configs.get(outlet_of(capture.warc_key))
        is_article = config is not None and config.is_article_url(capture.url)
        if is_article and capture.status.startswith("3"):
            if capture.location:
                self.index.redirect(capture.url, capture.location)
            elif not capture.has_headers:
                self.redirect_candidates.append(capture)
        elif is_article and capture.status == "200" and capture.digest:
            self.index.page(capture.url, capture.digest)
        if self._validated(capture, config, is_article):
            if capture.has_headers:
                self._validator(capture.url, when, capture.etag, capture.last_modified,
                                capture.date if capture.status == "200" else None)
            else:
                kept = self.validator_candidates.setdefault(capture.url, [])
                kept.append(capture)
                if len(kept) > VALIDATOR_CANDIDATES:  # hourly runs: not every capture
                    kept.sort(key=lambda c: c.date, reverse=True)
                    del kept[VALIDATOR_CANDIDATES:]

    def _validated(self, capture: SeenCapture, config: OutletConfig | None,
                   is_article: bool) -> bool:
        """Pages whose validators a crawl keeps: fronts, listings, feeds and sitemaps
        (every non-article page of an outlet but robots.txt), and the given seed URLs."""
        if capture.status not in ("200", "304"):
            return False
        if capture.url in self.validator_urls:
            return True
        return (config is not None and not is_article
                and urlsplit(capture.url).path != "/robots.txt")

    def flush_digests(self) -> None:
        """Hand the first-capture candidates to the state, in digest order and batches."""
        self.progress("payload digests")
        batch: list[DigestRecord] = []
        for record in self.index.digests():
            batch.append(record)
            if len(batch) >= 5000:
                self.state.record_digests(batch)
                batch = []
        if batch:
            self.state.record_digests(batch)

    def _validator(self, url: str, when: datetime, etag: str | None, modified: str | None,
                   captured: str | None = None) -> None:
        if etag is None and modified is None:
            return
        current = self.latest_validators.get(url)
        if current is None or when > current[0]:
            if captured is None and current is not None:
                captured = current[3]  # a 304 keeps pointing at the last full capture
            self.latest_validators[url] = (when, etag, modified, captured)

    def finish(self) -> None:
        self.progress("validators")
        for url, candidates in self.validator_candidates.items():
            candidates.sort(key=lambda c: c.date, reverse=True)
            for capture in candidates:  # newest first, until one carries validators
                heads = list(self._complete(capture.warc_key, [capture]))
                when = parse_datetime(heads[0].date) if heads else None
                if when and (heads[0].etag or heads[0].last_modified):
                    self._validator(url, when, heads[0].etag, heads[0].last_modified,
                                    heads[0].date)
                    break
        for url, (_, etag, modified, captured) in self.latest_validators.items():
            self.state.set_validators(url, etag, modified, captured)
            self.result.validators += 1
        self.progress("re-check times")
        for outlet, key, epoch in self.index.last_fetches():
            when = datetime.fromtimestamp(int(epoch), UTC)  # whole seconds, as fetched_at
            info = self.state.article_info(outlet, key)
            # another URL of the article fetched in the same run is no re-check
            if info is not None and when > info.last_checked + SAME_RUN:
                self.state.mark_checked(outlet, key, when)
                self.result.rechecks += 1
        self.restore_aliases()

    def restore_aliases(self) -> None:
        """Alias keys: every URL that led to an article (see archive.state.aliases)."""
        self.progress("alias keys")
        by_warc: dict[str, list[SeenCapture]] = {}
        for capture in self.redirect_candidates:
            by_warc.setdefault(capture.warc_key, []).append(capture)
        for warc_key, captures in by_warc.items():
            for found in self._complete(warc_key, captures):
                if found.location:
                    self.index.redirect(found.url, found.location)
        self.redirect_candidates = []

        def key_of(outlet: str, url: str) -> str | None:
            config = self.configs.get(outlet)
            if config is None or not config.is_article_url(url):
                return None
            return article_key(config, url)

        batch: list[ArticleRecord] = []
        current = ""
        for outlet, row in self.index.aliases(key_of):
            if outlet != current and batch:
                self.state.record_articles(current, batch)
                batch = []
            current = outlet
            batch.append(row)
            self.result.aliases += 1
            if len(batch) >= 5000:
                self.state.record_articles(current, batch)
                batch = []
        if batch:
            self.state.record_articles(current, batch)

    def close(self) -> None:
        self.index.close()


def rebuild_state(store: Store, state: StateStore, *, outlets: Iterable[str] | None = None,
                  validator_urls: Iterable[str] = (),
                  recheck_window: timedelta = DEFAULT_RECHECK_WINDOW,
                  now: datetime | None = None,
                  progress: Callable[[str], None] | None = None,
                  configs: Iterable[OutletConfig] = ()) -> RebuildResult:
    """Repopulate ``state`` from ``store``; see the module docstring for what is read.

    ``outlets`` limits the rebuild to those outlets' corpus files and WARCs.
    ``configs``: the outlets' configurations; with them the rebuild restores what a crawl
    writes from them too: the alias key of every URL that led to an article, and the
    validators of every front, listing, feed and sitemap page (not only the seeds).
    ``validator_urls``: the feed/sitemap/front URLs of the outlets (their latest ETag and
    Last-Modified are restored).  Re-check times are restored for articles first captured
    within ``recheck_window`` before ``now`` (older ones are never re-checked again).
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    job = _Rebuild(store, state, set(outlets) if outlets is not None else None,
                   set(validator_urls), now - recheck_window, progress,
                   {config.name: config for config in configs})
    try:
        # article rows, template stores, source hashes: one read of each generation
        CorpusPass(store, state, job.index, job.result, job.wanted, job.window_start,
                   job.progress).run()
        job.read_captures()
        job.finish()
    finally:
        job.close()
    result = job.result
    seen_outlets = {outlet_of(k) for k in store.list_keys("corpus/")}
    for outlet in sorted(o for o in seen_outlets if o and job.wanted(o)):
        result.articles[outlet] = state.count_articles(outlet)
    result.digests = state.count_digests()
    result.seconds = time.monotonic() - started
    return result
