"""How the Redis state stores its values, and the Lua scripts that merge them.

Memory layout (P = key prefix, one per store; ``?prefix=`` in the URL):

- ``{P:outlet}:a:<n>``: articles in 16,384 hash buckets (crc32 of the key), field = key,
  value = packed binary: version, four epoch times, then sha256 (32 raw bytes), url and
  published.  Bucketing keeps the key space small; buckets whose values stay under the
  server's ``hash-max-listpack-value`` are stored as compact listpacks.
- ``{P:outlet}:y``: sorted set key -> anchor time: the "young articles" index that
  ``due_rechecks`` reads; it gets articles anchored within YOUNG_HORIZON
  (``archive.state.redis``) of the time they are recorded, and ``due_rechecks`` trims
  those older than the schedule's ``max_age``.
- ``{P:outlet}:n``: article count.
- ``{P}:d:<n>``: digests in 16,384 buckets; field ``digest\\0outlet`` holds the earliest
  capture within the outlet, field ``digest`` the outlet of the earliest capture anywhere.
- ``{P}:dn`` digest count, ``{P}:v`` validators (field = URL).

The merges (highest version, earliest first capture, latest check, earliest digest
capture) run inside the scripts, on the packed values, so concurrent workers never lose
each other's updates; the packing here and the ``struct`` formats in the scripts must
agree, which is why both live in this one module.
"""

from __future__ import annotations

import struct
import zlib

from archive.state.base import ArticleState, DigestRecord, StateError, from_epoch

BUCKETS = 1 << 14
HEAD = struct.Struct("<Idddd")  # version, first_fetched, last_fetched, last_checked, anchor
TS = struct.Struct("<d")

# Merge one or more article captures.  KEYS: young zset, counter, then one bucket per
# record; ARGV: young cutoff, then field, value per record (value = HEAD + tail, tail =
# sha, url \0 published).  Only articles anchored after the cutoff enter the young index.
RECORD_ARTICLES = """
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

MARK_CHECKED = """
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
RECORD_DIGESTS = """
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


def bucket(text: str) -> int:
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
    return key, HEAD.pack(version, first, last, checked, anchor) + tail


def unpack_article(outlet: str, key: str, value: bytes) -> ArticleState:
    version, first, last, checked, anchor = HEAD.unpack_from(value)
    tail = value[HEAD.size:]
    if tail[0] == 0:
        sha, rest = tail[1:33].hex(), tail[33:]
    else:
        sha, rest = tail[1:1 + tail[0]].decode("utf-8"), tail[1 + tail[0]:]
    url, _, published = rest.decode("utf-8").partition("\x00")
    return ArticleState(outlet, key, url, version, sha, from_epoch(first), from_epoch(last),
                        from_epoch(checked), published or None, from_epoch(anchor))


def pack_digest(record: DigestRecord) -> bytes:
    parts = (record.uri, record.date, record.record_id, record.filename,
             "" if record.offset is None else str(record.offset))
    if any("\x00" in p for p in parts):
        raise StateError(f"NUL byte in digest record {record.digest!r}")
    return TS.pack(record.when.timestamp()) + "\x00".join(parts).encode("utf-8")


def unpack_digest(digest: str, outlet: str, value: bytes) -> DigestRecord:
    uri, date, record_id, filename, offset = value[TS.size:].decode("utf-8").split("\x00")
    return DigestRecord(digest, uri, date, record_id, filename,
                        int(offset) if offset else None, outlet)
