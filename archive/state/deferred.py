"""State writes that follow publication: reads go through, writes wait for the files.

Every fact in the state points into the store ("article X is archived, here is its
record", "payload D was first captured in WARC F").  If a fact reached the state before
the WARC and corpus files holding it were closed and published, a run killed in between
would leave the next run skipping those articles as archived and writing revisit records
that point into files that were never published (issue 10).  So every crawl, single
process or one worker of a shared crawl, keeps its state writes here, answers its own
reads from them first (its revisits may refer to its own WARCs: they are published
together), and flushes them on ``close`` -- which the run report extension calls only
after the run's files are published.  A run that dies loses only these in-memory facts;
the recovery at the start of the next run (``archive.state.recovery``) derives them again
from the files it recovers.  The merges are order-independent (see archive.state), so
flushing late changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import datetime

from archive.state.base import (
    ArticleRecord,
    ArticleState,
    DigestRecord,
    Recheck,
    StateStore,
    Validators,
    to_datetime,
)
from archive.state.schedule import RecheckSchedule, anchor_time

logger = logging.getLogger(__name__)


class DeferredState:
    """A ``StateStore`` that buffers writes until ``flush``/``close``."""

    def __init__(self, inner: StateStore):
        self.inner = inner
        self.location = f"{inner.location} (writes deferred until the run's files publish)"
        self._lock = threading.RLock()
        self._articles: dict[tuple[str, str], list[ArticleRecord]] = {}
        self._checked: dict[tuple[str, str], datetime] = {}
        self._digests: dict[tuple[str, str], DigestRecord] = {}
        self._validators: dict[str, tuple[str | None, str | None, str | None]] = {}
        self._published: set[str] = set()  # this run's WARC keys that are published

    # ---- articles

    def is_archived(self, outlet: str, key: str) -> bool:
        with self._lock:
            if (outlet, key) in self._articles:
                return True
        return self.inner.is_archived(outlet, key)

    def archived_among(self, outlet: str, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        with self._lock:
            local = {k for k in keys if (outlet, k) in self._articles}
        return local | self.inner.archived_among(outlet, keys - local)

    def record_article(self, outlet: str, key: str, url: str, content_sha256: str,
                       version: int, fetched_at: datetime, published: str | None = None) -> None:
        record = ArticleRecord(key, url, content_sha256, int(version), to_datetime(fetched_at),
                               published)
        with self._lock:
            self._articles.setdefault((outlet, key), []).append(record)

    def record_articles(self, outlet: str, records: Iterable[ArticleRecord]) -> int:
        count = 0
        for record in records:
            self.record_article(outlet, record.key, record.url, record.content_sha256,
                                record.version, record.fetched_at, record.published)
            count += 1
        return count

    def article_info(self, outlet: str, key: str) -> ArticleState | None:
        remote = self.inner.article_info(outlet, key)
        with self._lock:
            local = list(self._articles.get((outlet, key), ()))
            checked = self._checked.get((outlet, key))
        if not local:
            if remote is not None and checked is not None and checked > remote.last_checked:
                return _replace(remote, last_checked=checked)
            return remote
        best = max(local, key=lambda r: (r.version, r.fetched_at))
        if remote is not None and remote.version > best.version:
            return remote
        first = min(r.fetched_at for r in local)
        last = max(r.fetched_at for r in local)
        published = best.published or next((r.published for r in local if r.published), None)
        if remote is not None:
            first = min(first, remote.first_fetched)
            last = max(last, remote.last_fetched)
            published = published or remote.published
        last_checked = max(last, checked or last, remote.last_checked if remote else last)
        return ArticleState(outlet=outlet, key=key, url=best.url, version=best.version,
                            content_sha256=best.content_sha256, first_fetched=first,
                            last_fetched=last, last_checked=last_checked, published=published,
                            anchor=anchor_time(published, first))

    def mark_checked(self, outlet: str, key: str, checked_at: datetime) -> None:
        when = to_datetime(checked_at)
        with self._lock:
            previous = self._checked.get((outlet, key))
            if previous is None or when > previous:
                self._checked[(outlet, key)] = when

    def due_rechecks(self, outlet: str, now: datetime, schedule: RecheckSchedule,
                     limit: int | None = None) -> list[Recheck]:
        return self.inner.due_rechecks(outlet, now, schedule, limit)

    def count_articles(self, outlet: str) -> int:
        return self.inner.count_articles(outlet)

    # ---- digests

    def lookup_digest(self, digest: str, outlet: str | None = None) -> DigestRecord | None:
        """The first capture of ``digest`` that a revisit may point at: one in a WARC that
        is closed and published (an earlier run's, or one of this run's after
        ``published``), never one still open."""
        remote = self.inner.lookup_digest(digest, outlet)
        if remote is not None:
            return remote  # published already (an earlier run or a finished worker)
        with self._lock:
            local = [r for (d, o), r in self._digests.items()
                     if d == digest and (outlet is None or o == outlet)
                     and r.filename in self._published]
        return min(local, key=lambda r: r.when) if local else None

    def published(self, key: str) -> None:
        """This run's WARC ``key`` is closed and published: revisits may point into it."""
        with self._lock:
            self._published.add(key)

    def record_digest(self, record: DigestRecord) -> bool:
        with self._lock:
            key = (record.digest, record.outlet or "")
            known = self._digests.get(key)
            if known is None or record.when < known.when:
                self._digests[key] = record
                return True
            return False

    def record_digests(self, records: Iterable[DigestRecord]) -> int:
        count = 0
        for record in records:
            self.record_digest(record)
            count += 1
        return count

    def count_digests(self) -> int:
        return self.inner.count_digests()

    # ---- validators

    def get_validators(self, url: str) -> Validators | None:
        with self._lock:
            if url in self._validators:
                etag, last_modified, captured = self._validators[url]
                if etag is None and last_modified is None:
                    return None
                return Validators(etag, last_modified, captured)
        return self.inner.get_validators(url)

    def set_validators(self, url: str, etag: str | None, last_modified: str | None,
                       captured: str | None = None) -> None:
        with self._lock:
            self._validators[url] = (etag, last_modified, captured)

    # ---- housekeeping

    def pending_writes(self) -> int:
        with self._lock:
            return (sum(map(len, self._articles.values())) + len(self._checked)
                    + len(self._digests) + len(self._validators))

    def flush(self) -> int:
        """Write everything held back to the shared state; returns how many facts."""
        with self._lock:
            articles, self._articles = self._articles, {}
            checked, self._checked = self._checked, {}
            digests, self._digests = self._digests, {}
            validators, self._validators = self._validators, {}
        by_outlet: dict[str, list[ArticleRecord]] = {}
        for (outlet, _key), records in articles.items():
            by_outlet.setdefault(outlet, []).extend(records)
        written = 0
        for outlet, records in by_outlet.items():
            written += self.inner.record_articles(outlet, records)
        written += self.inner.record_digests(digests.values())
        for url, (etag, last_modified, captured) in validators.items():
            self.inner.set_validators(url, etag, last_modified, captured)
            written += 1
        for (outlet, key), when in checked.items():
            self.inner.mark_checked(outlet, key, when)
            written += 1
        return written

    def discard(self) -> None:
        """Forget the held-back writes (this run's files will not be published)."""
        with self._lock:
            self._articles.clear()
            self._checked.clear()
            self._digests.clear()
            self._validators.clear()

    def clear(self) -> None:
        self.discard()
        self.inner.clear()

    def close(self) -> None:
        try:
            written = self.flush()
            logger.info("state: %d facts of this run written to %s", written,
                        self.inner.location)
        finally:
            self.inner.close()


def _replace(state: ArticleState, **changes) -> ArticleState:
    from dataclasses import replace

    return replace(state, **changes)
