"""The crawl state in Redis, for several crawl workers sharing one frontier and store.

Same ``StateStore`` interface and merge rules as ``archive.state.SQLiteState``; the
merges (highest version, earliest first capture, latest check, earliest digest capture)
run inside Lua scripts, so concurrent workers never lose each other's updates.

Memory layout (P = key prefix, one per store; ``?prefix=`` in the URL):

- ``{P:outlet}:a:<n>``: articles in 16,384 hash buckets (crc32 of the key), field = key,
  value = packed binary: version, four epoch times, then sha256 (32 raw bytes), url and
  published.  Bucketing keeps the key space small; buckets whose values stay under the
  server's ``hash-max-listpack-value`` are stored as compact listpacks.
- ``{P:outlet}:y``: sorted set key -> anchor time: the "young articles" index that
  ``due_rechecks`` reads; it gets articles anchored within YOUNG_HORIZON of the time they
  are recorded, and ``due_rechecks`` trims those older than the schedule's ``max_age``.
- ``{P:outlet}:n``: article count.
- ``{P}:d:<n>``: digests in 16,384 buckets; field ``digest\\0outlet`` holds the earliest
  capture within the outlet, field ``digest`` the outlet of the earliest capture anywhere.
- ``{P}:dn`` digest count, ``{P}:v`` validators (field = URL).

Hash tags (``{...}``) keep an outlet's keys in one cluster slot, so the scripts also work
on Redis Cluster.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from archive.state.base import (
    ArticleRecord,
    ArticleState,
    DigestRecord,
    Recheck,
    StateError,
    Validators,
    article_row,
    chunks,
    from_epoch,
    pick_due,
    to_datetime,
)
from archive.state.schedule import RecheckSchedule

BUCKETS = 1 << 14
SCRIPT_BATCH = 1000
# Articles anchored longer ago than this (at the time they are recorded) are never
# re-checked, so they stay out of the young index: a rebuild of years of archive or a
# sitemap backfill then costs no index memory.  Schedules may not exceed it.
YOUNG_HORIZON = timedelta(days=366)
DEFAULT_PREFIX = "newsarchive"
_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")  # no ':' so one prefix's keys never match another's
_HEAD = struct.Struct("<Idddd")  # version, first_fetched, last_fetched, last_checked, anchor
_TS = struct.Struct("<d")

# Merge one or more article captures.  KEYS: young zset, counter, then one bucket per
# record; ARGV: young cutoff, then field, value per record (value = _HEAD + tail, tail =
# sha, url \0 published).  Only articles anchored after the cutoff enter the young index.
_RECORD_ARTICLES = """
local function published(tail)
  local n = string.byte(tail, 1)
  local shalen = n
  if n == 0 then shalen = 32 end
  local pos = string.find(tail, '\\0', 2 + shalen, true)
  return string.sub(tail, pos + 1), string.sub(tail, 1, pos)
end
local cutoff = tonumber(ARGV[1])
for i = 3, #KEYS do
  local field, value = ARGV[2 * (i - 2)], ARGV[2 * (i - 2) + 1]
  local old = redis.call('HGET', KEYS[i], field)
  local anchor
  if not old then
    redis.call('HSET', KEYS[i], field, value)
    redis.call('INCR', KEYS[2])
    anchor = select(5, struct.unpack('<I4dddd', value))
  else
    local v1, f1, l1, c1, a1 = struct.unpack('<I4dddd', old)
    local v2, f2, l2, c2, a2 = struct.unpack('<I4dddd', value)
    local t1, t2 = string.sub(old, 37), string.sub(value, 37)
    local win, lose = t2, t1
    if v1 > v2 or (v1 == v2 and l1 > l2) then win, lose = t1, t2 end
    local pw, head = published(win)
    if pw == '' then win = head .. published(lose) end
    anchor = math.min(a1, a2)
    redis.call('HSET', KEYS[i], field, struct.pack('<I4dddd', math.max(v1, v2),
      math.min(f1, f2), math.max(l1, l2), math.max(c1, c2), anchor) .. win)
  end
  if anchor >= cutoff then redis.call('ZADD', KEYS[1], anchor, field) end
end
return #KEYS - 2
"""

_MARK_CHECKED = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local v, f, l, c, a = struct.unpack('<I4dddd', old)
local t = tonumber(ARGV[2])
if t > c then
  redis.call('HSET', KEYS[1], ARGV[1], struct.pack('<I4dddd', v, f, l, t, a) .. string.sub(old, 37))
end
return 1
"""

# Keep the earliest capture per (digest, outlet) and per digest.  KEYS: counter, then one
# bucket per record; ARGV: scoped field, global field, outlet, value per record.
_RECORD_DIGESTS = """
local changed = 0
for i = 2, #KEYS do
  local j = 4 * (i - 2)
  local sfield, gfield, outlet, value = ARGV[j + 1], ARGV[j + 2], ARGV[j + 3], ARGV[j + 4]
  local ts = struct.unpack('<d', value)
  local old = redis.call('HGET', KEYS[i], sfield)
  if (not old) or ts < struct.unpack('<d', old) then
    redis.call('HSET', KEYS[i], sfield, value)
    changed = changed + 1
  end
  local g = redis.call('HGET', KEYS[i], gfield)
  if not g then
    redis.call('HSET', KEYS[i], gfield, string.sub(value, 1, 8) .. outlet)
    redis.call('INCR', KEYS[1])
  else
    local gts = struct.unpack('<d', g)
    if ts < gts or (ts == gts and outlet < string.sub(g, 9)) then
      redis.call('HSET', KEYS[i], gfield, string.sub(value, 1, 8) .. outlet)
    end
  end
end
return changed
"""


def _bucket(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & (BUCKETS - 1)


def _pack_sha(sha: str) -> bytes:
    if len(sha) == 64:
        try:
            return b"\x00" + bytes.fromhex(sha)
        except ValueError:
            pass
    raw = sha.encode("utf-8")
    if not 0 < len(raw) < 256:
        raise StateError(f"content hash too long or empty: {sha!r}")
    return bytes([len(raw)]) + raw


def pack_article(row: tuple) -> tuple[str, bytes]:
    """``article_row`` output -> (field, packed value)."""
    key, url, version, sha, first, last, checked, published, anchor = row
    if "\x00" in url or (published and "\x00" in published):
        raise StateError(f"NUL byte in url/published of article {key!r}")
    tail = _pack_sha(sha) + url.encode("utf-8") + b"\x00" + (published or "").encode("utf-8")
    return key, _HEAD.pack(version, first, last, checked, anchor) + tail


def unpack_article(outlet: str, key: str, value: bytes) -> ArticleState:
    version, first, last, checked, anchor = _HEAD.unpack_from(value)
    tail = value[_HEAD.size:]
    if tail[0] == 0:
        sha, rest = tail[1:33].hex(), tail[33:]
    else:
        sha, rest = tail[1:1 + tail[0]].decode("utf-8"), tail[1 + tail[0]:]
    url, _, published = rest.decode("utf-8").partition("\x00")
    return ArticleState(outlet, key, url, version, sha, from_epoch(first), from_epoch(last),
                        from_epoch(checked), published or None, from_epoch(anchor))


def _pack_digest(record: DigestRecord) -> bytes:
    parts = (record.uri, record.date, record.record_id, record.filename,
             "" if record.offset is None else str(record.offset))
    if any("\x00" in p for p in parts):
        raise StateError(f"NUL byte in digest record {record.digest!r}")
    return _TS.pack(record.when.timestamp()) + "\x00".join(parts).encode("utf-8")


def _unpack_digest(digest: str, outlet: str, value: bytes) -> DigestRecord:
    uri, date, record_id, filename, offset = value[_TS.size:].decode("utf-8").split("\x00")
    return DigestRecord(digest, uri, date, record_id, filename,
                        int(offset) if offset else None, outlet)


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


class RedisState:
    """``StateStore`` on Redis; one instance per process, safe to share between threads."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX, location: str = ""):
        if not _PREFIX.fullmatch(prefix):
            raise StateError(f"bad Redis key prefix {prefix!r}: use letters, digits, . _ -")
        self.client = client
        self.prefix = prefix
        self.location = location or f"redis (prefix {prefix})"
        self._record_articles = client.register_script(_RECORD_ARTICLES)
        self._mark_checked = client.register_script(_MARK_CHECKED)
        self._record_digests = client.register_script(_RECORD_DIGESTS)
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
        return f"{{{self.prefix}:{outlet}}}:a:{_bucket(key)}"

    def _young(self, outlet: str) -> str:
        return f"{{{self.prefix}:{outlet}}}:y"

    def _count(self, outlet: str) -> str:
        return f"{{{self.prefix}:{outlet}}}:n"

    def _dkey(self, digest: str) -> str:
        return f"{{{self.prefix}}}:d:{_bucket(digest)}"

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

    def record_article(self, outlet: str, key: str, url: str, content_sha256: str,
                       version: int, fetched_at: datetime, published: str | None = None) -> None:
        self.record_articles(outlet, [ArticleRecord(key, url, content_sha256, version,
                                                    fetched_at, published)])

    def record_articles(self, outlet: str, records: Iterable[ArticleRecord]) -> int:
        count = 0
        head = [self._young(outlet), self._count(outlet)]
        cutoff = (datetime.now(UTC) - YOUNG_HORIZON).timestamp()
        for batch in chunks(records, SCRIPT_BATCH):
            keys, args = list(head), [repr(cutoff)]
            for record in batch:
                field, value = pack_article(article_row(record))
                keys.append(self._akey(outlet, field))
                args += [field, value]
            count += self._record_articles(keys=keys, args=args)
        return count

    def article_info(self, outlet: str, key: str) -> ArticleState | None:
        value = self.client.hget(self._akey(outlet, key), key)
        return None if value is None else unpack_article(outlet, key, value)

    def mark_checked(self, outlet: str, key: str, checked_at: datetime) -> None:
        ts = to_datetime(checked_at).timestamp()
        self._mark_checked(keys=[self._akey(outlet, key)], args=[key, repr(ts)])

    def due_rechecks(self, outlet: str, now: datetime, schedule: RecheckSchedule,
                     limit: int | None = None) -> list[Recheck]:
        if not schedule.enabled:
            return []
        if schedule.max_age > YOUNG_HORIZON:
            raise StateError(f"the Redis state re-checks articles up to {YOUNG_HORIZON.days} "
                             f"days old; max_age {schedule.max_age} is longer")
        now = to_datetime(now)
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
        return pick_due(rows, now, schedule, limit)

    def count_articles(self, outlet: str) -> int:
        return int(self.client.get(self._count(outlet)) or 0)

    # ---- digests

    def lookup_digest(self, digest: str, outlet: str | None = None) -> DigestRecord | None:
        bucket = self._dkey(digest)
        if outlet is None:
            pointer = self.client.hget(bucket, digest)
            if pointer is None:
                return None
            outlet = pointer[_TS.size:].decode("utf-8")
        value = self.client.hget(bucket, f"{digest}\x00{outlet}")
        return None if value is None else _unpack_digest(digest, outlet, value)

    def record_digest(self, record: DigestRecord) -> bool:
        return self._digest_batch([record]) > 0

    def record_digests(self, records: Iterable[DigestRecord]) -> int:
        count = 0
        for batch in chunks(records, SCRIPT_BATCH):
            self._digest_batch(batch)
            count += len(batch)
        return count

    def _digest_batch(self, batch: list[DigestRecord]) -> int:
        keys, args = [f"{{{self.prefix}}}:dn"], []
        for record in batch:
            if "\x00" in record.digest or "\x00" in (record.outlet or ""):
                raise StateError(f"NUL byte in digest/outlet {record.digest!r}")
            outlet = record.outlet or ""
            keys.append(self._dkey(record.digest))
            args += [f"{record.digest}\x00{outlet}", record.digest, outlet,
                     _pack_digest(record)]
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
        """Delete one outlet's articles; other outlets, digests and validators stay."""
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

    def __enter__(self) -> RedisState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
