"""The shared crawl in Redis: membership, per-host queues, politeness slots, recovery.

scrapy-redis gives the workers one request queue and one dupefilter; it does not know
which worker holds which request, when a crawl is finished, or how fast a host is being
hit by everyone together.  Those are the Lua scripts here (each one atomic, so two
workers can never both take the same request or the same politeness slot).  No Scrapy
import: the scripts are tested directly against a real Redis.

Keys (``P`` = prefix, ``O`` = outlet; the ``{P}`` hash tag keeps them together):

- ``{P}:crawl:O:run``            run id shared by every worker of the crawl
- ``{P}:crawl:O:seeded``         set once the start requests have all been queued
- ``{P}:crawl:O:workers``        hash worker -> heartbeat expiry (ms, Redis clock)
- ``{P}:crawl:O:popped|idle``    hash worker -> requests taken / taken-count when last idle
- ``{P}:crawl:O:finished``       workers that left this run (their ids are used up)
- ``{P}:crawl:O:q:<host>``       sorted set: queued requests of one host (score -priority)
- ``{P}:crawl:O:hosts``          sorted set: hosts with queued requests -> when worth a look
- ``{P}:crawl:O:n``              number of queued requests (all hosts)
- ``{P}:crawl:O:seen[:<n>]``     the dupefilter (crawler.distributed_seen)
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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

DEFAULT_PREFIX = "newsarchive"
_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")
_WORKER = re.compile(r"[A-Za-z0-9.-]+")
SCAN_HOSTS = 64  # ready hosts examined per pop


class DistributedError(RuntimeError):
    """The shared crawl cannot be joined (the message says why and what to do)."""

    exit_code = 1


class WorkerIdInUse(DistributedError):
    """A live worker already uses this worker id in this crawl."""

    exit_code = 75  # same as a held run lock: "busy, try later"


def split_redis_url(url: str) -> tuple[str, str]:
    """``redis://host:port/db?prefix=NAME`` -> (URL for redis-py, prefix)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise DistributedError(f"--redis {url!r}: expected redis://host:port/db")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    if not _PREFIX.fullmatch(prefix):
        raise DistributedError(f"bad Redis key prefix {prefix!r}: use letters, digits, . _ -")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, "")), prefix


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
    if not _WORKER.fullmatch(worker) or worker.strip(".-") != worker:
        raise DistributedError(f"bad worker id {worker!r}: use letters, digits, '.' and '-' "
                               "(it becomes part of file names)")
    return worker


@dataclass(frozen=True)
class CrawlKeys:
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


# ---- Lua ----------------------------------------------------------------------------------
# ARGV[1] is always the crawl's key base, ARGV[2] the politeness key base.

_PRELUDE = r"""
local base, pol = ARGV[1], ARGV[2]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v) return tonumber(v or '0') or 0 end
local function release_slot(host)
  if redis.call('HINCRBY', pol .. 'flight', host, -1) <= 0 then
    redis.call('HDEL', pol .. 'flight', host)
  end
end
-- A dead worker: every request it took goes back to its host queue (its WARCs and corpus
-- were never published), its host slots and article claims are released.
local function reap(w, now)
  local wk = base .. 'w:' .. w .. ':'
  local taken = redis.call('HGETALL', wk .. 'taken')
  local requeued = 0
  for i = 1, #taken, 2 do
    local v = taken[i + 1]
    local a = string.find(v, '\t', 1, true)
    local b = string.find(v, '\t', a + 1, true)
    local host = string.sub(v, a + 1, b - 1)
    if redis.call('ZADD', base .. 'q:' .. host, string.sub(v, 1, a - 1),
                  string.sub(v, b + 1)) == 1 then
      redis.call('INCR', base .. 'n')
      requeued = requeued + 1
    end
    redis.call('ZADD', base .. 'hosts', 'NX', now, host)
  end
  local dl = redis.call('HVALS', wk .. 'dl')
  for i = 1, #dl do release_slot(dl[i]) end
  local claims = redis.call('SMEMBERS', wk .. 'claims')
  for i = 1, #claims do
    if redis.call('HGET', base .. 'claims', claims[i]) == w then
      redis.call('HDEL', base .. 'claims', claims[i])
    end
  end
  redis.call('DEL', wk .. 'taken', wk .. 'dl', wk .. 'claims')
  redis.call('HDEL', base .. 'workers', w)
  redis.call('HDEL', base .. 'popped', w)
  redis.call('HDEL', base .. 'idle', w)
  return requeued
end
-- reap every member whose heartbeat expired; returns (live members, requests requeued)
local function reap_dead(now)
  local all = redis.call('HGETALL', base .. 'workers')
  local live, requeued = 0, 0
  for i = 1, #all, 2 do
    if tonumber(all[i + 1]) < now then
      requeued = requeued + reap(all[i], now)
    else
      live = live + 1
    end
  end
  return live, requeued
end
local function clear_run(buckets)
  redis.call('DEL', base .. 'run', base .. 'seeded', base .. 'claims', base .. 'n',
             base .. 'hosts', base .. 'popped', base .. 'idle', base .. 'finished',
             base .. 'seen', base .. 'seq')
  for i = 0, buckets - 1 do redis.call('UNLINK', base .. 'seen:' .. i) end
end
"""

# ARGV: base, pol, worker, new run id, grace ms, seen buckets
_JOIN = _PRELUDE + r"""
local w = ARGV[3]
local now = now_ms()
local mine = redis.call('HGET', base .. 'workers', w)
if mine and tonumber(mine) >= now then return {'busy'} end
if redis.call('SISMEMBER', base .. 'finished', w) == 1 then return {'used'} end
local live, requeued = reap_dead(now)
local run = redis.call('GET', base .. 'run')
local fresh = 0
if (not run) or (live == 0 and num(redis.call('GET', base .. 'n')) == 0) then
  clear_run(tonumber(ARGV[6]))
  run = ARGV[4]
  redis.call('SET', base .. 'run', run)
  fresh = 1
end
redis.call('HSET', base .. 'workers', w, now + tonumber(ARGV[5]))
return {run, fresh, requeued}
"""

# ARGV: base, pol, host, score, request
_PUSH = _PRELUDE + r"""
local added = redis.call('ZADD', base .. 'q:' .. ARGV[3], ARGV[4], ARGV[5])
if added == 1 then redis.call('INCR', base .. 'n') end
redis.call('ZADD', base .. 'hosts', 'NX', now_ms(), ARGV[3])
return added
"""

# Take the best request of a host that may be contacted now (its politeness slot is free
# and fewer than `concurrency` of its requests are in flight anywhere), book the slot,
# and journal the request as taken by the worker.
# ARGV: base, pol, worker, delay ms, concurrency, margin ms, hosts to scan
# -> {id, request, host} or {0, ms until the next host may be ready (-1: queue empty)}
_POP = _PRELUDE + r"""
local w, base_delay, conc = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local margin = tonumber(ARGV[6])
local now = now_ms()
local hosts = base .. 'hosts'
local ready = redis.call('ZRANGEBYSCORE', hosts, '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
for _, h in ipairs(ready) do
  local q = base .. 'q:' .. h
  local nxt = num(redis.call('HGET', pol .. 'next', h))
  if nxt > now then
    redis.call('ZADD', hosts, nxt, h)
  elseif num(redis.call('HGET', pol .. 'flight', h)) >= conc then
    redis.call('ZADD', hosts, now + 100, h)
  else
    local top = redis.call('ZRANGE', q, 0, 0, 'WITHSCORES')
    if #top == 0 then
      redis.call('ZREM', hosts, h)
    else
      redis.call('ZREM', q, top[1])
      redis.call('DECR', base .. 'n')
      local delay = math.max(base_delay, num(redis.call('HGET', pol .. 'throttle', h)))
      local after = now
      if delay > 0 then
        after = now + delay + margin
        redis.call('HSET', pol .. 'next', h, after)
      end
      redis.call('HINCRBY', pol .. 'flight', h, 1)
      if redis.call('EXISTS', q) == 1 then
        redis.call('ZADD', hosts, after, h)
      else
        redis.call('ZREM', hosts, h)
      end
      local id = redis.call('INCR', base .. 'seq')
      local wk = base .. 'w:' .. w .. ':'
      redis.call('HSET', wk .. 'taken', id, top[2] .. '\t' .. h .. '\t' .. top[1])
      redis.call('HSET', wk .. 'dl', id, h)
      redis.call('HINCRBY', base .. 'popped', w, 1)
      return {id, top[1], h}
    end
  end
end
local first = redis.call('ZRANGE', hosts, 0, 0, 'WITHSCORES')
if #first == 0 then return {0, -1} end
return {0, math.max(0, tonumber(first[2]) - now)}
"""

# Book a politeness slot for a request that did not come from pop (robots.txt), or re-book
# one whose pop-time booking went stale (held up by a middleware): returns
# {id, ms to wait before sending}.  The delay always holds; the concurrency limit does not
# apply here, because the request that waits for robots.txt already holds one of the
# host's places (with concurrency 1 the robots.txt fetch would otherwise wait forever).
# ARGV: base, pol, worker, host, delay ms, margin ms, id (0: new booking)
_ACQUIRE = _PRELUDE + r"""
local w, h = ARGV[3], ARGV[4]
local base_delay, margin = tonumber(ARGV[5]), tonumber(ARGV[6])
local id = tonumber(ARGV[7])
local now = now_ms()
if id == 0 then
  redis.call('HINCRBY', pol .. 'flight', h, 1)
  id = redis.call('INCR', base .. 'seq')
  redis.call('HSET', base .. 'w:' .. w .. ':dl', id, h)
end
local delay = math.max(base_delay, num(redis.call('HGET', pol .. 'throttle', h)))
local start = math.max(now, num(redis.call('HGET', pol .. 'next', h)))
if delay > 0 then redis.call('HSET', pol .. 'next', h, start + delay + margin) end
return {id, start - now}
"""

# A download ended: free the host slot, let the host's queue be looked at again, and
# (AutoThrottle, shared) move the host's delay towards latency / target concurrency.
# ARGV: base, pol, worker, id, host, latency ms (-1: none), delay ms, max delay ms,
#       target concurrency, status ok (1/0), throttle on (1/0)
_RELEASE = _PRELUDE + r"""
local w, id, h = ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
if redis.call('HDEL', base .. 'w:' .. w .. ':dl', id) == 1 then release_slot(h) end
local nxt = num(redis.call('HGET', pol .. 'next', h))
redis.call('ZADD', base .. 'hosts', 'XX', 'LT', math.max(now, nxt), h)
local latency = tonumber(ARGV[6])
if ARGV[11] == '1' and latency >= 0 then
  local mindelay, maxdelay = tonumber(ARGV[7]), tonumber(ARGV[8])
  local old = math.max(mindelay, num(redis.call('HGET', pol .. 'throttle', h)))
  local target = latency / tonumber(ARGV[9])
  local new = math.max(target, (old + target) / 2)
  new = math.min(math.max(mindelay, new), maxdelay)
  if ARGV[10] == '1' or new > old then
    redis.call('HSET', pol .. 'throttle', h, math.floor(new))
  end
end
return 1
"""

# Heartbeat: extend this worker's membership, reap dead ones.
# ARGV: base, pol, worker, ttl ms -> {requeued, 1 if this worker had been declared dead}
_POLL = _PRELUDE + r"""
local w = ARGV[3]
local now = now_ms()
local lost = 0
if not redis.call('HGET', base .. 'workers', w) then lost = 1 end
redis.call('HSET', base .. 'workers', w, now + tonumber(ARGV[4]))
local live, requeued = reap_dead(now)
return {requeued, lost}
"""

# This worker is idle.  The crawl is done when nothing is queued and every live worker
# is idle since its last pop (a pop after the idle report makes it busy again).
# ARGV: base, pol, worker, ttl ms -> {done 1/0, requeued}
_IDLE = _PRELUDE + r"""
local w = ARGV[3]
local now = now_ms()
redis.call('HSET', base .. 'workers', w, now + tonumber(ARGV[4]))
redis.call('HSET', base .. 'idle', w, num(redis.call('HGET', base .. 'popped', w)))
local live, requeued = reap_dead(now)
if num(redis.call('GET', base .. 'n')) > 0 then return {0, requeued} end
local all = redis.call('HKEYS', base .. 'workers')
for i = 1, #all do
  local v = all[i]
  if num(redis.call('HGET', base .. 'popped', v)) ~= num(redis.call('HGET', base .. 'idle', v))
  then return {0, requeued} end
end
return {1, requeued}
"""

# The worker leaves.  Normally its results are published: forget its journal.  When they
# are not (``abandon``: it crashed or was cancelled), its journal goes back to the queue as
# for a dead worker.  The last worker out of a crawl with nothing left to do ends the run
# (run id, dupefilter, claims).  ARGV: base, pol, worker, seen buckets, abandon (1/0)
# -> {'ended' | 'left', requests requeued}
_LEAVE = _PRELUDE + r"""
local w = ARGV[3]
local now = now_ms()
local requeued = 0
if ARGV[5] == '1' then
  requeued = reap(w, now)
else
  local wk = base .. 'w:' .. w .. ':'
  local dl = redis.call('HVALS', wk .. 'dl')
  for i = 1, #dl do release_slot(dl[i]) end
  redis.call('DEL', wk .. 'taken', wk .. 'dl', wk .. 'claims')
  redis.call('HDEL', base .. 'workers', w)
  redis.call('HDEL', base .. 'popped', w)
  redis.call('HDEL', base .. 'idle', w)
end
redis.call('SADD', base .. 'finished', w)
local live, more = reap_dead(now)
if live == 0 and num(redis.call('GET', base .. 'n')) == 0 then
  clear_run(tonumber(ARGV[4]))
  return {'ended', requeued + more}
end
return {'left', requeued + more}
"""

# ARGV: base, pol, worker, article id -> 1 claimed now, 2 already ours, 0 another worker's
_CLAIM = _PRELUDE + r"""
local w, id = ARGV[3], ARGV[4]
if redis.call('HSETNX', base .. 'claims', id, w) == 1 then
  redis.call('SADD', base .. 'w:' .. w .. ':claims', id)
  return 1
end
if redis.call('HGET', base .. 'claims', id) == w then return 2 end
return 0
"""


@dataclass
class Popped:
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
        self._scripts = {name: client.register_script(text) for name, text in (
            ("join", _JOIN), ("push", _PUSH), ("pop", _POP), ("acquire", _ACQUIRE),
            ("release", _RELEASE), ("poll", _POLL), ("idle", _IDLE), ("leave", _LEAVE),
            ("claim", _CLAIM))}

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
