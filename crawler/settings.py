"""Scrapy settings for newsarchive: the one place that says how components are wired.

Order matters (lower numbers see a request first, a response last):
- AddressGuardMiddleware (50) refuses private destinations before anything else, so a
  refused request is never downloaded, never retried and never archived; redirects come
  back through it as new requests.
- StrictRobotsTxtMiddleware (100) replaces Scrapy's, fixing what an unreachable
  robots.txt means (see crawler/robots.py).
- Capture is an extension on ``response_downloaded`` (not a middleware): it sees raw,
  still-compressed bodies and every redirect hop and retry (shared/WARC.md §b).
- ResourceSpiderMiddleware (spiders/resources.py) adds each page's resource requests
  after the callback's output; they pass the scheduler's dupefilter like any request.
- The report extension is wired after capture so the last WARC is published before the
  report lists the run's files.
"""

from __future__ import annotations

import os

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

NEWSARCHIVE_VERSION = "0.1.0"
# Who to contact about the crawler; operators should set their own (env NEWSARCHIVE_CONTACT).
NEWSARCHIVE_CONTACT_URL = os.environ.get(
    "NEWSARCHIVE_CONTACT", "https://github.com/newsarchive/newsarchive#crawler-contact"
)
USER_AGENT = f"newsarchive/{NEWSARCHIVE_VERSION} (+{NEWSARCHIVE_CONTACT_URL})"
NEWSARCHIVE_STORE = os.environ.get("NEWSARCHIVE_STORE", "./archive")
# S3 options from the command line (create_bucket, object_lock_days, object_lock_mode):
# passed to archive.store.open_store; the NEWSARCHIVE_S3_* environment gives the defaults
NEWSARCHIVE_STORE_OPTIONS: dict = {}
NEWSARCHIVE_WARC_PREFIX = "newsarchive"
NEWSARCHIVE_WARC_MAX_SIZE = 1_000_000_000
NEWSARCHIVE_MAX_PAGE_BYTES = 20_000_000
NEWSARCHIVE_EXTRACT_WORKERS = 0  # 0: one per CPU core
NEWSARCHIVE_MAX_ARTICLES = 0
NEWSARCHIVE_PROGRESS = False
# Distributed crawls: workers of one run share NEWSARCHIVE_RUN_ID; each has its own worker
# id (file names of its corpus and report) and crawl host (WARC file names).
NEWSARCHIVE_WORKER_ID = None
NEWSARCHIVE_CRAWL_HOST = None
# Scale-out (`crawl --redis`, crawler/distributed/): a worker whose heartbeat is older
# than the TTL (s) is dead and its requests are crawled by the others; buckets of the
# compact shared seen-set (about expected URLs per crawl / 256; 0: scrapy-redis's plain
# set); slack (s) added to each per-host delay so that send-time jitter (a busy event
# loop) does not shorten the gap between two workers' requests.
NEWSARCHIVE_REDIS_URL = None  # set by `crawl --redis` (with the join's run and worker id)
NEWSARCHIVE_WORKER_TTL = float(os.environ.get("NEWSARCHIVE_WORKER_TTL") or 30.0)
NEWSARCHIVE_SEEN_BUCKETS = 8192
NEWSARCHIVE_POLITENESS_MARGIN = 0.025
NEWSARCHIVE_SHARED_THROTTLE = False  # AutoThrottle on the shared per-host delay (set by --redis)
# Incremental crawling: the state store (default: beside a local store, or in the user's
# state directory for S3; "off" disables it), the edit re-check schedule (default: the
# outlet's `recheck`, else 1h,1d,7d within 30 days) and the --since cut-off.
NEWSARCHIVE_STATE = None
NEWSARCHIVE_RECHECK = None
NEWSARCHIVE_SINCE = None

# Politeness: robots.txt, an identifying User-Agent, a per-host delay (the outlet YAML's
# download_delay, polite default 1 s) that AutoThrottle may raise but never lower.
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
# No jitter: Scrapy's ±50 % would send requests at half the configured per-host delay.
DOWNLOAD_DELAY_JITTER = 0.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Archival capture: ask only for encodings every WARC reader can decode (no br/zstd),
# never abort large or short bodies (capture them marked truncated instead), and keep no
# cookies so no credentials end up in request records.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "*",
    "Accept-Encoding": "gzip, deflate",
}
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0
DOWNLOAD_FAIL_ON_DATALOSS = False
DOWNLOAD_TIMEOUT = 60
COOKIES_ENABLED = False
HTTPCACHE_ENABLED = False  # cache hits never reach the downloader and would not be archived
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 10
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19 would open an HTTP control port otherwise

DOWNLOADER_MIDDLEWARES = {
    "crawler.guard.AddressGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.StrictRobotsTxtMiddleware": 100,
    "crawler.conditional.ConditionalRequestMiddleware": 120,
    "crawler.conditional.ArchivedRedirectMiddleware": 130,
}
EXTENSIONS = {
    "crawler.capture.WarcCaptureExtension": 500,
    "crawler.report.RunReportExtension": 900,
    "crawler.progress.ProgressExtension": 950,
}
# Page resources (stylesheets, scripts, images): added after each page callback's output
SPIDER_MIDDLEWARES = {
    "spiders.resources.ResourceSpiderMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ArticlePipeline": 300,
}

LOG_LEVEL = "INFO"
