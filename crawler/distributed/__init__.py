"""Scale-out: several crawl workers sharing one Redis frontier (``crawl --redis URL``).

The engine is scrapy-redis: its Scheduler and RFP dupefilter give every worker the same
queue and seen-set.  What scrapy-redis leaves open is added through its own extension
points (queue class, dupefilter class) and ordinary Scrapy components.  The flow, module
by module:

- ``settings``: before Scrapy starts, join the outlet's crawl in Redis (the first worker
  creates the run id, later ones join it) and return the settings that make this process
  a worker of it.  The per-host file lock is replaced by the membership: every worker
  heartbeats ``{P}:crawl:O:workers``.
- ``extension``: the one shared component.  It owns this worker's ``Coordinator``
  (``coordinator``: host slots it holds, counters, waking the engine) and runs the
  heartbeat, dead-worker recovery, done detection and leaving the crawl.  Every other
  component finds it through ``crawler.get_extension`` (``coordinator_of``).
- ``scheduler``: scrapy-redis's scheduler with ``HostQueue``: requests wait in one queue
  per host; a worker only takes a request of a host whose shared slot is free (``next``
  allowed send time and in-flight count, booked atomically when the request is taken),
  so all workers together keep the outlet's ``download_delay`` and ``concurrency`` per
  host.  The local Scrapy slots then have no delay of their own.
- ``middlewares``: a request held up after it was taken (it waited for robots.txt) books
  its slot again just before it is sent (``PolitenessMiddleware``), and so do requests
  that never went through the queue (robots.txt itself); start requests are queued by
  the first worker only (``SeedOnceMiddleware``).  AutoThrottle's rule (raise the delay
  towards latency / target concurrency, never below the outlet's delay) runs on the
  shared per-host delay.
- ``pipeline``: the run's article claims stop one article reached by two URLs from being
  written twice by two workers.
- ``state``: state writes wait until the worker's files are published.
- ``frontier`` + ``lua``: the shared crawl in Redis (atomic scripts); ``codec``: requests
  stored as JSON, never pickle; ``seen``: the compact shared dupefilter.

Dead workers: everything a worker takes is journalled until its files are published at
the end of its run; a worker whose heartbeat expires has its journal put back in the queue
by whichever worker notices first, its host slots and article claims freed.  Done: a
worker that runs out of requests stays until nothing is queued and every live worker is
idle since its last take; the last one out ends the run.

This ``__init__`` imports nothing, so loading one module (the codec, by scrapy-redis)
does not load the rest.
"""
