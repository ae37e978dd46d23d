"""The shared seen-set (dupefilter) in a bounded amount of Redis memory.

scrapy-redis keeps one Redis set of 40-character hex SHA-1 fingerprints: ~85 bytes of
Redis per URL (bench/distributed.py measures it), 85 MB per million URLs and outlet.

``BucketDupeFilter`` is the same dupefilter (scrapy-redis's fingerprint of method,
canonical URL and body) stored compactly: the fingerprint picks one of N bucket sets by
its first 32 bits and is stored as the signed 64-bit integer of its next 64 bits.  Redis
keeps a set of integers with at most ``set-max-intset-entries`` (default 512) members as
an *intset*, a sorted array of 8-byte integers, so a million URLs cost ~9 bytes each
while buckets hold < 512 members: size ``NEWSARCHIVE_SEEN_BUCKETS`` at about
(expected URLs per crawl) / 256.  A bucket that outgrows the limit turns into an ordinary
hash set (correct, just bigger).  Two different URLs collide only if 96 bits of their
SHA-1 match (with the bucket bits): negligible at any crawl size.
"""

from __future__ import annotations

from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter

DEFAULT_BUCKETS = 8192
_HALF = 1 << 63


def bucket_member(fingerprint_hex: str, buckets: int) -> tuple[int, int]:
    """(bucket number, signed 64-bit member) of a hex SHA-1 fingerprint."""
    bucket = int(fingerprint_hex[:8], 16) % buckets
    member = int(fingerprint_hex[8:24], 16) - _HALF
    return bucket, member


class BucketDupeFilter(RFPDupeFilter):
    """scrapy-redis's RFPDupeFilter with fingerprints in bucketed integer sets."""

    def __init__(self, server, key: str, debug: bool = False, buckets: int = DEFAULT_BUCKETS):
        super().__init__(server, key, debug)
        self.buckets = max(1, int(buckets))

    @classmethod
    def from_spider(cls, spider) -> BucketDupeFilter:
        settings = spider.settings
        key = settings.get("SCHEDULER_DUPEFILTER_KEY") % {"spider": spider.name}
        return cls(get_redis_from_settings(settings), key=key,
                   debug=settings.getbool("DUPEFILTER_DEBUG"),
                   buckets=settings.getint("NEWSARCHIVE_SEEN_BUCKETS", DEFAULT_BUCKETS))

    def request_seen(self, request) -> bool:
        bucket, member = bucket_member(self.request_fingerprint(request), self.buckets)
        return self.server.sadd(f"{self.key}:{bucket}", member) == 0

    def close(self, reason: str = "") -> None:
        """Keep the set: other workers still use it (the crawl's last worker clears it)."""

    def clear(self) -> None:
        keys = [f"{self.key}:{i}" for i in range(self.buckets)]
        for start in range(0, len(keys), 1000):
            self.server.unlink(*keys[start:start + 1000])
