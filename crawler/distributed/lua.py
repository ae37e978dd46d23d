"""The shared crawl's Lua scripts: every change to the frontier is one atomic script.

Two workers must never both take the same request or the same host's politeness slot, and a
dead worker's requests must go back to the queue exactly once.  Read-modify-write from
Python would race; a Lua script runs alone on the Redis server, so each one here is a
transaction.  The key layout they share is described in crawler.distributed.frontier,
which runs them (``SCRIPTS``).

ARGV[1] is always the crawl's key base, ARGV[2] the politeness key base.  All times come
from ``TIME`` on the Redis server, so workers on machines with skewed clocks still agree.
"""

PRELUDE = r"""
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
JOIN = PRELUDE + r"""
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
PUSH = PRELUDE + r"""
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
POP = PRELUDE + r"""
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
ACQUIRE = PRELUDE + r"""
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
RELEASE = PRELUDE + r"""
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
POLL = PRELUDE + r"""
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
IDLE = PRELUDE + r"""
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
LEAVE = PRELUDE + r"""
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
CLAIM = PRELUDE + r"""
local w, id = ARGV[3], ARGV[4]
if redis.call('HSETNX', base .. 'claims', id, w) == 1 then
  redis.call('SADD', base .. 'w:' .. w .. ':claims', id)
  return 1
end
if redis.call('HGET', base .. 'claims', id) == w then return 2 end
return 0
"""


SCRIPTS: dict[str, str] = {
    "join": JOIN, "push": PUSH, "pop": POP, "acquire": ACQUIRE, "release": RELEASE,
    "poll": POLL, "idle": IDLE, "leave": LEAVE, "claim": CLAIM,
}
