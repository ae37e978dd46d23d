"""The shared crawl in Redis: membership, per-host queues, politeness slots, recovery.

scrapy-redis gives the workers one request queue and one dupefilter; it does not know
which worker holds which request, when a crawl is finished, or how fast a host is being
hit by everyone together.  ``Frontier`` is that knowledge, kept in Redis by atomic Lua
scripts (crawler.distributed.lua) so two workers can never both take the same request or
the same politeness slot.  No Scrapy import: it is tested directly against a real Redis.

Keys (``P`` = prefix, ``O`` = outlet; the ``{P}`` hash tag keeps them together):

- ``{P}:crawl:O:run``            run id shared by every worker of the crawl
- ``{P}:crawl:O:seeded``         set once the start requests have all been queued
- ``{P}:crawl:O:workers``        hash worker -> heartbeat expiry (ms, Redis clock)
- ``{P}:crawl:O:popped|idle``    hash worker -> requests taken / taken-count when last idle
- ``{P}:crawl:O:finished``       workers that left this run (their ids are used up)
- ``{P}:crawl:O:q:<host>``       sorted set: queued requests of one host (score -priority)
- ``{P}:crawl:O:hosts``          sorted set: hosts with queued requests -> when worth a look
- ``{P}:crawl:O:n``              number of queued requests (all hosts)
- ``{P}:crawl:O:seen[:<n>]``     the dupefilter (crawler.distributed.seen)
- ``{P}:crawl:O:claims``         hash article id -> worker that writes its corpus record
- ``{P}:crawl:O:w:<W>:taken``    hash id -> "score\\thost\\trequest": every request W took and
                                 whose results are not yet published (W's journal)
- ``{P}:crawl:O:w:<W>:dl``       hash id -> host: W's requests holding a host slot now
- ``{P}:crawl:O:w:<W>:claims``   set of article ids W claimed
- ``{P}:polite:next|flight|throttle``  hash host -> next allowed send time (ms), requests
                                 in flight, AutoThrottle delay (ms): shared by all outlets

All times come from ``TIME`` on the Redis server, so workers on machines with skewed
clocks still agree.  Scripts touch keys they compute from the prefix, which a single
Redis (or a primary with replicas) allows; Redis Cluster is not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

from archive.state.base import StateError
from archive.state.redis import split_redis_url as archive_split_redis_url
from crawler.distributed.lua import SCRIPTS

_WORKER = re.compile(r"[A-Za-z0-9.-]+")
SCAN_HOSTS = 64  # ready hosts examined per pop


class DistributedError(RuntimeError):
    """The shared crawl cannot be joined (the message says why and what to do)."""

    exit_code = 1


class WorkerIdInUse(DistributedError):
    """A live worker already uses this worker id in this crawl."""

    exit_code = 75  # same as a held run lock: "busy, try later"


def split_redis_url(url: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=NAME`` -> (URL for redis-py, prefix), parsed as the
    shared state parses it (one parser, so ``--redis`` and ``--state`` agree); a bad URL
    is a DistributedError naming the ``--redis`` option."""
    try:
        return archive_split_redis_url(url)
    except StateError as exc:
        raise DistributedError(f"--redis: {exc}") from None


def connect(url: str) -> tuple[redis.Redis, str]:
    """A client for ``url`` (checked with PING) and the key prefix."""
    clean, prefix = split_redis_url(url)
    client = redis.Redis.from_url(clean, socket_connect_timeout=10, socket_timeout=30,
                                  health_check_interval=30)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise DistributedError(f"cannot reach Redis at {clean}: {exc}") from exc
    return client, prefix


def check_worker_id(worker: str) -> str:
    """``worker`` if it can be part of file names and Redis keys; else DistributedError."""
    if not _WORKER.fullmatch(worker) or worker.strip(".-") != worker:
        raise DistributedError(f"bad worker id {worker!r}: use letters, digits, '.' and '-' "
                               "(it becomes part of file names)")
    return worker


@dataclass(frozen=True)
class CrawlKeys:
    """The Redis key names of one outlet's crawl (the layout above)."""

    prefix: str
    outlet: str

    @property
    def base(self) -> str:
        return f"{{{self.prefix}}}:crawl:{self.outlet}:"

    @property
    def polite(self) -> str:
        return f"{{{self.prefix}}}:polite:"

    run = property(lambda self: self.base + "run")
    seeded = property(lambda self: self.base + "seeded")
    workers = property(lambda self: self.base + "workers")
    hosts = property(lambda self: self.base + "hosts")
    n = property(lambda self: self.base + "n")
    claims = property(lambda self: self.base + "claims")
    seen = property(lambda self: self.base + "seen")
    q = property(lambda self: self.base + "q")

    def worker(self, worker: str, part: str) -> str:
        return f"{self.base}w:{worker}:{part}"

    def queue(self, host: str) -> str:
        return f"{self.base}q:{host}"


@dataclass
class Popped:
    """A request taken from the queue: its journal id, its encoded form and its host."""

    id: int
    data: bytes
    host: str


class Frontier:
    """One outlet's shared crawl in Redis, seen from one worker process."""

    def __init__(self, client: redis.Redis, prefix: str, outlet: str, buckets: int = 0):
        self.client = client
        self.keys = CrawlKeys(prefix, outlet)
        self.buckets = int(buckets)
        self._args = (self.keys.base, self.keys.polite)
        self._scripts = {name: client.register_script(text) for name, text in SCRIPTS.items()}

    @classmethod
    def from_url(cls, url: str, outlet: str, buckets: int = 0) -> Frontier:
        client, prefix = connect(url)
        return cls(client, prefix, outlet, buckets)

    def _run(self, name: str, *args: object):
        return self._scripts[name](keys=[self.keys.base], args=[*self._args, *args])

    # ---- membership

    def join(self, worker: str, new_run_id: str, grace_ms: int) -> tuple[str, bool, str, int]:
        """Join the outlet's crawl, or start one: (run id, started a new run, worker id,
        requests requeued from dead workers).  A worker id already used in this run gets
        a ``.2``, ``.3``... suffix; one that a live worker holds raises WorkerIdInUse."""
        check_worker_id(worker)
        candidate = worker
        for serial in range(2, 1000):
            reply = self._run("join", candidate, new_run_id, int(grace_ms), self.buckets)
            status = _text(reply[0])
            if status == "busy":
                raise WorkerIdInUse(f"worker id {candidate!r} is in use by a live worker of "
                                    f"the {self.keys.outlet} crawl; give each worker its own "
                                    "--worker-id (or leave it out)")
            if status != "used":
                return status, bool(int(reply[1])), candidate, int(reply[2])
            candidate = f"{worker}.{serial}"
        raise DistributedError(f"worker id {worker!r}: too many workers of that name")

    def poll(self, worker: str, ttl_ms: int) -> tuple[int, bool]:
        requeued, lost = self._run("poll", worker, int(ttl_ms))
        return int(requeued), bool(int(lost))

    def idle(self, worker: str, ttl_ms: int) -> tuple[bool, int]:
        done, requeued = self._run("idle", worker, int(ttl_ms))
        return bool(int(done)), int(requeued)

    def leave(self, worker: str, requeue: bool = False) -> tuple[str, int]:
        """Leave the crawl ("ended": this was its last worker and nothing is left)."""
        outcome, requeued = self._run("leave", worker, self.buckets, int(requeue))
        return _text(outcome), int(requeued)

    def run_id(self) -> str | None:
        value = self.client.get(self.keys.run)
        return _text(value) if value is not None else None

    def is_seeded(self) -> bool:
        return bool(self.client.exists(self.keys.seeded))

    def mark_seeded(self) -> None:
        self.client.set(self.keys.seeded, b"1")

    def workers(self) -> dict[str, int]:
        return {_text(k): int(v) for k, v in self.client.hgetall(self.keys.workers).items()}

    def taken(self, worker: str) -> int:
        """How many requests ``worker`` took whose results are not yet published."""
        return int(self.client.hlen(self.keys.worker(worker, "taken")))

    # ---- queue

    def push(self, host: str, score: float, data: bytes) -> bool:
        return bool(self._run("push", host, _score(score), data))

    def pop(self, worker: str, delay_ms: int, concurrency: int, margin_ms: int
            ) -> Popped | int:
        """The next request this worker may send now, or ms until one may be ready
        (-1: nothing queued)."""
        reply = self._run("pop", worker, int(delay_ms), int(concurrency), int(margin_ms),
                          SCAN_HOSTS)
        if int(reply[0]) == 0:
            return int(reply[1])
        return Popped(int(reply[0]), bytes(reply[1]), _text(reply[2]))

    def queued(self) -> int:
        return int(self.client.get(self.keys.n) or 0)

    # ---- politeness

    def acquire(self, worker: str, host: str, delay_ms: int, margin_ms: int,
                flight_id: int = 0) -> tuple[int, int]:
        """Book the host's next send slot: (flight id, ms to wait before sending)."""
        reply = self._run("acquire", worker, host, int(delay_ms), int(margin_ms),
                          int(flight_id))
        return int(reply[0]), int(reply[1])

    def release(self, worker: str, flight_id: int, host: str, *, latency_ms: int = -1,
                delay_ms: int = 0, max_delay_ms: int = 60_000, target_concurrency: float = 1.0,
                ok: bool = True, throttle: bool = False) -> None:
        self._run("release", worker, int(flight_id), host, int(latency_ms), int(delay_ms),
                  int(max_delay_ms), float(target_concurrency), int(ok), int(throttle))

    def in_flight(self, host: str) -> int:
        return int(self.client.hget(self.keys.polite + "flight", host) or 0)

    # ---- article claims

    def claim(self, worker: str, article_id: str) -> int:
        return int(self._run("claim", worker, article_id))


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _score(score: float) -> str:
    return repr(float(score)) if score != int(score) else str(int(score))
