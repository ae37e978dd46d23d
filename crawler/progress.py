"""A one-line live progress display for terminals; silent when not on a TTY (cron)."""

from __future__ import annotations

import sys
import time

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class ProgressExtension:
    INTERVAL = 1.0

    def __init__(self, crawler: Crawler, stream=None):
        self.crawler = crawler
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        if not crawler.settings.getbool("NEWSARCHIVE_PROGRESS"):
            raise NotConfigured
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.draw)
        self.loop.start(self.INTERVAL, now=False)

    def line(self) -> str:
        stats = self.crawler.stats.get_stats()
        pages = sum(v for k, v in stats.items() if k.startswith("newsarchive/fetched/"))
        failures = sum(v for k, v in stats.items() if k.startswith("newsarchive/failures/"))
        articles = stats.get("newsarchive/articles", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        megabytes = stats.get("newsarchive/bytes", 0) / 1e6
        name = getattr(self.crawler.spider, "outlet", None)
        label = name.name if name is not None else "crawl"
        return (f"[{label}] {pages} pages ({pages / elapsed:.1f}/s) | {articles} articles | "
                f"{failures} failures | {megabytes:.1f} MB | {elapsed:.0f}s")

    def draw(self) -> None:
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()

    def spider_closed(self, spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.draw()
        self.stream.write("\n")
        self.stream.flush()
