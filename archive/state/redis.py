"""The crawl state in Redis, for several crawl workers sharing one frontier and store.

Same ``StateStore`` interface and merge rules as ``archive.state.SQLiteState``; the
merges (highest version, earliest first capture, latest check, earliest digest capture)
run inside Lua scripts, so concurrent workers never lose each other's updates.

Keys (P = key prefix, one per store; ``?prefix=`` in the URL): ``{P:outlet}:a:<n>``
article buckets, ``{P:outlet}:y`` the young-article index, ``{P:outlet}:n`` the article
count, ``{P}:d:<n>`` digest buckets, ``{P}:dn`` the digest count, ``{P}:v`` validators.
What the values hold and how the scripts merge them: ``archive.state.redisformat``.
Hash tags (``{...}``) keep an outlet's keys in one cluster slot, so the scripts also work
on Redis Cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from archive.state.base import (
    ArticleState,
    BackendBase,
    DigestRecord,
    StateError,
    Validators,
    chunks,
    to_datetime,
)
from archive.state.redisformat import (
    MARK_CHECKED,
    RECORD_ARTICLES,
    RECORD_DIGESTS,
    TS,
    bucket,
    pack_article,
    pack_digest,
    unpack_article,
    unpack_digest,
)
from archive.state.schedule import RecheckSchedule

SCRIPT_BATCH = 1000
# Articles anchored longer ago than this (at the time they are recorded) are never
# re-checked, so they stay out of the young index: a rebuild of years of archive or a
# sitemap backfill then costs no index memory.  Schedules may not exceed it.
YOUNG_HORIZON = timedelta(days=366)
DEFAULT_PREFIX = "newsarchive"
_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")  # no ':' so one prefix's keys never match another's


def split_redis_url(url: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=NAME`` -> (URL for redis-py, key prefix).

    ``prefix`` is ours, not redis-py's: it is taken out of the query (the rest is kept for
    redis-py) and checked, so one prefix's keys can never match another's.  The one parser
    of our Redis URLs: the crawl state and the distributed crawl (crawler.distributed) use it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise StateError(f"{url!r}: expected redis://host:port/db")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if not _PREFIX.fullmatch(prefix):
        raise StateError(f"bad Redis key prefix {prefix!r}: use letters, digits, . _ -")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), prefix


class RedisState(BackendBase):
    """``StateStore`` on Redis; one instance per process, safe to share between threads."""

    write_batch = SCRIPT_BATCH

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX, location: str = ""):
        if not _PREFIX.fullmatch(prefix):
            raise StateError(f"bad Redis key prefix {prefix!r}: use letters, digits, . _ -")
        self.client = client
        self.prefix = prefix
        self.location = location or f"redis (prefix {prefix})"
        self._record_articles = client.register_script(RECORD_ARTICLES)
        self._mark_checked = client.register_script(MARK_CHECKED)
        self._record_digests = client.register_script(RECORD_DIGESTS)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise StateError(f"cannot reach the Redis state at {self.location}: {exc}") from exc

    @classmethod
    def from_url(cls, url: str) -> RedisState:
        """``redis://host:port/db?prefix=NAME``; the prefix defaults to ``newsarchive``."""
        clean, prefix = split_redis_url(url)
        return cls(redis.Redis.from_url(clean), prefix=prefix, location=url)

    # ---- key names

    def _akey(self, outlet: str, key: str) -> str:
        return f"{{{self.prefix}:{outlet}}}:a:{bucket(key)}"

    def _young(self, outlet: str) -> str:
        return f"{{{self.prefix}:{outlet}}}:y"

    def _count(self, outlet: str) -> str:
        return f"{{{self.prefix}:{outlet}}}:n"

    def _dkey(self, digest: str) -> str:
        return f"{{{self.prefix}}}:d:{bucket(digest)}"

    # ---- articles

    def is_archived(self, outlet: str, key: str) -> bool:
        return bool(self.client.hexists(self._akey(outlet, key), key))

    def archived_among(self, outlet: str, keys: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for batch in chunks(keys):
            pipe = self.client.pipeline(transaction=False)
            for key in batch:
                pipe.hexists(self._akey(outlet, key), key)
            found.update(k for k, hit in zip(batch, pipe.execute(), strict=True) if hit)
        return found

    def _write_articles(self, outlet: str, rows: list[tuple]) -> None:
        cutoff = (datetime.now(UTC) - YOUNG_HORIZON).timestamp()
        keys, args = [self._young(outlet), self._count(outlet)], [repr(cutoff)]
        for row in rows:
            field, value = pack_article(row)
            keys.append(self._akey(outlet, field))
            args += [field, value]
        self._record_articles(keys=keys, args=args)

    def article_info(self, outlet: str, key: str) -> ArticleState | None:
        value = self.client.hget(self._akey(outlet, key), key)
        return None if value is None else unpack_article(outlet, key, value)

    def mark_checked(self, outlet: str, key: str, checked_at: datetime) -> None:
        ts = to_datetime(checked_at).timestamp()
        self._mark_checked(keys=[self._akey(outlet, key)], args=[key, repr(ts)])

    def _young_rows(self, outlet: str, now: datetime,
                    schedule: RecheckSchedule) -> list[tuple[str, str, float, float]]:
        if schedule.max_age > YOUNG_HORIZON:
            raise StateError(f"the Redis state re-checks articles up to {YOUNG_HORIZON.days} "
                             f"days old; max_age {schedule.max_age} is longer")
        since = schedule.young_since(now).timestamp()
        young = self._young(outlet)
        self.client.zremrangebyscore(young, "-inf", f"({since!r}")
        keys = [k.decode("utf-8") for k in self.client.zrangebyscore(young, since, "+inf")]
        rows = []
        for batch in chunks(keys):
            pipe = self.client.pipeline(transaction=False)
            for key in batch:
                pipe.hget(self._akey(outlet, key), key)
            for key, value in zip(batch, pipe.execute(), strict=True):
                if value is not None:
                    state = unpack_article(outlet, key, value)
                    rows.append((key, state.url, state.anchor.timestamp(),
                                 state.last_checked.timestamp()))
        return rows

    def count_articles(self, outlet: str) -> int:
        return int(self.client.get(self._count(outlet)) or 0)

    # ---- digests

    def lookup_digest(self, digest: str, outlet: str | None = None) -> DigestRecord | None:
        bucket = self._dkey(digest)
        if outlet is None:
            pointer = self.client.hget(bucket, digest)
            if pointer is None:
                return None
            outlet = pointer[TS.size:].decode("utf-8")
        value = self.client.hget(bucket, f"{digest}\x00{outlet}")
        return None if value is None else unpack_digest(digest, outlet, value)

    def _write_digests(self, batch: list[DigestRecord]) -> int:
        keys, args = [f"{{{self.prefix}}}:dn"], []
        for record in batch:
            if "\x00" in record.digest or "\x00" in (record.outlet or ""):
                raise StateError(f"NUL byte in digest/outlet {record.digest!r}")
            outlet = record.outlet or ""
            keys.append(self._dkey(record.digest))
            args += [f"{record.digest}\x00{outlet}", record.digest, outlet,
                     pack_digest(record)]
        return int(self._record_digests(keys=keys, args=args))

    def count_digests(self) -> int:
        return int(self.client.get(f"{{{self.prefix}}}:dn") or 0)

    # ---- validators

    def get_validators(self, url: str) -> Validators | None:
        value = self.client.hget(f"{{{self.prefix}}}:v", url)
        if value is None:
            return None
        flags, etag, last_modified, *rest = value.decode("utf-8").split("\x00")
        captured = rest[0] if rest and "c" in flags else None
        return Validators(etag if "e" in flags else None,
                          last_modified if "l" in flags else None, captured)

    def set_validators(self, url: str, etag: str | None, last_modified: str | None,
                       captured: str | None = None) -> None:
        key = f"{{{self.prefix}}}:v"
        if etag is None and last_modified is None:
            self.client.hdel(key, url)
            return
        flags = (("e" if etag is not None else "") + ("l" if last_modified is not None else "")
                 + ("c" if captured is not None else ""))
        values = (etag or "", last_modified or "", captured or "")
        if any("\x00" in v for v in values):
            raise StateError(f"NUL byte in validators of {url}")
        self.client.hset(key, url, "\x00".join((flags, *values)))

    # ---- housekeeping

    def state_patterns(self, outlet: str | None = None) -> list[str]:
        """SCAN patterns of this state's keys: never the shared crawl's (``{P}:crawl:*``,
        ``{P}:polite:*``: frontier, seen-set, workers) that live under the same prefix."""
        if outlet is not None:  # (template stores are per outlet/language: {P:outlet/eng})
            tag = "{" + f"{self.prefix}:{_glob_escape(outlet)}" + "}"
            editions = "{" + f"{self.prefix}:{_glob_escape(outlet)}/*" + "}"
            return [f"{tag}:a:*", f"{tag}:y", f"{tag}:n", f"{tag}:srcsha", f"{editions}:tpl*"]
        tag, outlets = "{" + self.prefix + "}", "{" + self.prefix + ":*}"
        return [f"{tag}:d:*", f"{tag}:dn", f"{tag}:v", f"{outlets}:a:*", f"{outlets}:y",
                f"{outlets}:n", f"{outlets}:srcsha", f"{outlets}:tpl*"]

    def clear(self) -> None:
        """Delete this state's keys (SCAN + UNLINK, never FLUSHDB); crawl keys stay."""
        self._unlink_matching(self.state_patterns())

    def clear_outlet(self, outlet: str) -> None:
        """Delete what one outlet owns (articles, template stores, unsettled marks, source
        hashes); other outlets, digests and validators stay."""
        self._unlink_matching(self.state_patterns(outlet))

    def _unlink_matching(self, patterns: list[str]) -> None:
        for pattern in patterns:
            batch = []
            for key in self.client.scan_iter(match=pattern, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self.client.unlink(*batch)
                    batch = []
            if batch:
                self.client.unlink(*batch)

    def close(self) -> None:
        self.client.close()


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
