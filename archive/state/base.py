"""Crawl state: what is already archived, so each run fetches only what is new.

The state is a *cache* of facts that the store already holds (the corpus and the WARCs);
``archive.state.rebuild`` reconstructs it, so losing the database loses nothing.  It answers the
questions an incremental run asks on its hot path:

- article keys: "is this article already archived?" (``is_archived``/``archived_among``),
  its version and content hash for edit tracking (``article_info``), and which young
  articles are due for a re-check (``due_rechecks``, rules in ``archive.state.schedule``);
- payload digests: "was this exact payload captured before, and where?" so the WARC
  writer can emit an identical-payload-digest revisit that replay tools resolve
  (``lookup_digest``/``record_digest``; the *earliest* capture always wins);
- HTTP validators of feeds, sitemaps and fronts for conditional requests.

Two implementations share the ``StateStore`` protocol defined here:
``archive.state.sqlite.SQLiteState`` (embedded default, one file) and
``archive.state.redis.RedisState`` (shared by several crawl
workers).  Writes are order-independent merges (earliest first capture, highest
version, latest check), so a rebuild may read the store in any order and several
workers may record the same facts without coordination.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol, Self

from archive.state.schedule import RecheckSchedule, anchor_time, parse_datetime

STATE_FILENAME = "state.sqlite3"
SCHEMA_VERSION = 1
BATCH = 5000  # rows per executemany / pipeline round trip


class StateError(RuntimeError):
    """An unusable state location or database (the message says what to do)."""


# ---- values ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRecord:
    """One full capture of an article that produced a corpus record (any version)."""

    key: str
    url: str
    content_sha256: str
    version: int
    fetched_at: datetime
    published: str | None = None


@dataclass(frozen=True)
class ArticleState:
    """What the state knows about one archived article."""

    outlet: str
    key: str
    url: str  # URL of the latest version
    version: int  # latest version number (1 = first capture)
    content_sha256: str  # content hash of the latest version (-> previous_sha256 of the next)
    first_fetched: datetime
    last_fetched: datetime  # latest full capture
    last_checked: datetime  # latest fetch of any kind (capture or unchanged re-check)
    published: str | None
    anchor: datetime  # published, or first_fetched when unknown/implausible

    def next_recheck(self, schedule: RecheckSchedule) -> datetime | None:
        """When this article is next due for an edit check under ``schedule`` (None: never)."""
        return schedule.next_due(self.anchor, self.last_checked)


@dataclass(frozen=True)
class DigestRecord:
    """The first capture of a payload: what a revisit record must refer to.

    ``uri``/``date``/``record_id`` become WARC-Refers-To-Target-URI, WARC-Refers-To-Date
    and WARC-Refers-To; ``date`` is kept exactly as written in the WARC-Date header.
    ``filename`` is the WARC's store key (or its file name when only that is known).
    """

    digest: str  # WARC-Payload-Digest value, e.g. "sha1:ABC..." (labels as written)
    uri: str
    date: str
    record_id: str
    filename: str
    offset: int | None = None
    outlet: str = ""

    @property
    def when(self) -> datetime:
        parsed = parse_datetime(self.date)
        if parsed is None:
            raise StateError(f"digest {self.digest}: unparseable WARC-Date {self.date!r}")
        return parsed


class Validators(NamedTuple):
    """HTTP validators from the last 200 response of a feed/sitemap/front URL."""

    etag: str | None
    last_modified: str | None
    captured: str | None = None  # WARC-Date of that 200 capture (for 304 revisit records)


class Recheck(NamedTuple):
    """An article due for an edit check (``for key, url in state.due_rechecks(...)``)."""

    key: str
    url: str


# ---- interface --------------------------------------------------------------------------


class StateStore(Protocol):
    """What the crawler needs from the state; SQLiteState and RedisState implement it.

    Article ``key``s come from ``archive.outlet.urls.article_key`` (the outlet's rules, else the
    normalised URL); the corpus id is ``"<outlet>:<key>"``.  Datetimes are aware
    (naive ones are read as UTC).  Every method is safe to call from several threads.
    """

    location: str  # path or redis URL, for messages

    # articles
    def is_archived(self, outlet: str, key: str) -> bool:
        """Seen-check: has any version of this article been archived?"""

    def archived_among(self, outlet: str, keys: Iterable[str]) -> set[str]:
        """The subset of ``keys`` already archived (one round trip per batch)."""

    def record_article(self, outlet: str, key: str, url: str, content_sha256: str,
                       version: int, fetched_at: datetime, published: str | None = None) -> None:
        """Remember a full capture (new article or new version).  Merges: highest version
        wins url/hash, first/last fetch times widen, the check clock is reset."""

    def record_articles(self, outlet: str, records: Iterable[ArticleRecord]) -> int:
        """``record_article`` for many captures in batches; returns how many were given."""

    def article_info(self, outlet: str, key: str) -> ArticleState | None: ...

    def mark_checked(self, outlet: str, key: str, checked_at: datetime) -> None:
        """A re-check found the same content (a revisit was written): restart the clock.
        A changed article is recorded with ``record_article`` (version + 1) instead."""

    def due_rechecks(self, outlet: str, now: datetime, schedule: RecheckSchedule,
                     limit: int | None = None) -> list[Recheck]:
        """Young articles whose next check is due at ``now``, most overdue first."""

    def count_articles(self, outlet: str) -> int: ...

    # payload digests
    def lookup_digest(self, digest: str, outlet: str | None = None) -> DigestRecord | None:
        """The earliest capture of ``digest`` (within ``outlet`` when given, else anywhere)."""

    def record_digest(self, record: DigestRecord) -> bool:
        """Remember a capture; keeps the earliest per digest.  True if ``record`` is now
        the earliest (i.e. it was new or earlier than what was known)."""

    def record_digests(self, records: Iterable[DigestRecord]) -> int: ...

    def count_digests(self) -> int: ...

    # validators
    def get_validators(self, url: str) -> Validators | None: ...

    def set_validators(self, url: str, etag: str | None, last_modified: str | None,
                       captured: str | None = None) -> None:
        """Store validators of a 200 response; both None forgets the URL."""

    # housekeeping
    def clear(self) -> None:
        """Forget everything (before a rebuild into an existing Redis prefix)."""

    def close(self) -> None: ...


# ---- locations --------------------------------------------------------------------------


def default_state_dir(store_uri: str | os.PathLike) -> Path:
    """Where state (database, run locks) lives for a store.

    Beside a local store (``<store>/state/``); for ``s3://bucket/prefix`` in the user's
    state directory, ``${XDG_STATE_HOME:-~/.local/state}/newsarchive/<bucket>/<prefix>/``,
    because a database cannot live in S3.
    """
    text = os.fspath(store_uri)
    if text.startswith("s3://"):
        rest = text[len("s3://"):].strip("/")
        if not rest:
            raise StateError(f"store URI {text!r} names no bucket")
        parts = [p for p in rest.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise StateError(f"store URI {text!r}: '.' and '..' are not allowed in the prefix")
        base = os.environ.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
        return Path(base).expanduser() / "newsarchive" / Path(*parts)
    if "://" in text:
        raise StateError(f"no default state location for store {text!r}; pass --state")
    return Path(text).expanduser().resolve() / "state"


def default_state_path(store_uri: str | os.PathLike) -> Path:
    """The default ``--state`` for a store: ``<state dir>/state.sqlite3``."""
    return default_state_dir(store_uri) / STATE_FILENAME



# ---- helpers shared by the implementations ---------------------------------------------------


def to_datetime(value: datetime | str) -> datetime:
    """Aware datetime from a datetime or an ISO 8601 string (raises on garbage)."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise StateError(f"not a date/time: {value!r}")
    return parsed


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def chunks(items: Iterable, size: int = BATCH) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def pick_due(rows: Iterable[tuple[str, str, float, float]], now: datetime,
             schedule: RecheckSchedule, limit: int | None) -> list[Recheck]:
    """(key, url, anchor, last_checked) rows -> the due ones, most overdue first."""
    due: list[tuple[datetime, str, str]] = []
    for key, url, anchor, last_checked in rows:
        anchor_dt = from_epoch(anchor)
        if schedule.is_due(anchor_dt, from_epoch(last_checked), now):
            when = schedule.next_due(anchor_dt, from_epoch(last_checked))
            due.append((when, key, url))  # type: ignore[arg-type]
    due.sort()
    if limit is not None:
        due = due[:limit]
    return [Recheck(key, url) for _, key, url in due]


def article_row(record: ArticleRecord) -> tuple:
    """The stored columns of a capture (after outlet): epoch times, computed anchor."""
    fetched = to_datetime(record.fetched_at)
    ts = fetched.timestamp()
    anchor = anchor_time(record.published, fetched).timestamp()
    return (record.key, record.url, int(record.version), record.content_sha256,
            ts, ts, ts, record.published, anchor)


def digest_row(record: DigestRecord) -> tuple:
    return (record.digest, record.outlet or "", record.uri, record.date, record.when.timestamp(),
            record.record_id, record.filename, record.offset)


# ---- what the backends share -------------------------------------------------------------


class BackendBase:
    """The half of ``StateStore`` that is the same whatever holds the state.

    SQLiteState and RedisState differ in how they write a batch of captures and how they
    find an outlet's young articles; batching, counting, turning one capture into a batch
    of one and picking due re-checks are the same, so they live here once.  A backend
    implements the three ``_`` hooks and sets ``write_batch`` (records per round trip).
    """

    write_batch: int = BATCH

    def _write_articles(self, outlet: str, rows: list[tuple]) -> None:
        """Merge ``article_row`` tuples of ``outlet`` (one batch, one round trip)."""
        raise NotImplementedError

    def _write_digests(self, records: list[DigestRecord]) -> int:
        """Merge one batch of digests; returns how many are now the earliest capture."""
        raise NotImplementedError

    def _young_rows(self, outlet: str, now: datetime,
                    schedule: RecheckSchedule) -> Iterable[tuple[str, str, float, float]]:
        """(key, url, anchor, last_checked) of ``outlet``'s articles young at ``now``."""
        raise NotImplementedError

    def record_article(self, outlet: str, key: str, url: str, content_sha256: str,
                       version: int, fetched_at: datetime, published: str | None = None) -> None:
        self.record_articles(outlet, [ArticleRecord(key, url, content_sha256, version,
                                                    fetched_at, published)])

    def record_articles(self, outlet: str, records: Iterable[ArticleRecord]) -> int:
        count = 0
        for batch in chunks(records, self.write_batch):
            self._write_articles(outlet, [article_row(r) for r in batch])
            count += len(batch)
        return count

    def record_digest(self, record: DigestRecord) -> bool:
        return self._write_digests([record]) > 0

    def record_digests(self, records: Iterable[DigestRecord]) -> int:
        count = 0
        for batch in chunks(records, self.write_batch):
            self._write_digests(batch)
            count += len(batch)
        return count

    def due_rechecks(self, outlet: str, now: datetime, schedule: RecheckSchedule,
                     limit: int | None = None) -> list[Recheck]:
        if not schedule.enabled:
            return []
        now = to_datetime(now)
        return pick_due(self._young_rows(outlet, now, schedule), now, schedule, limit)

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
