"""Incremental crawling: what the state and ``--since`` say about a URL before it is fetched.

A scheduled crawl should not fetch the thousands of articles it archived last time, but
it should re-check recent ones for edits on the outlet's schedule and skip feed or
sitemap entries older than ``--since``.  All of that lives in the crawl's RunContext
(crawler/context.py), which exists only when the newsarchive components run; a bare
spider (tests, ``scrapy crawl`` without the pipeline) sees no state and skips nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from scrapy.http import Request

from archive.outlet.urls import article_key
from archive.state.schedule import parse_datetime
from crawler.context import RunContext

if TYPE_CHECKING:
    from archive.outlet.config import OutletConfig


class IncrementalChecks:
    """NewsSpider's questions to the run's state store and ``--since`` (a mixin)."""

    if TYPE_CHECKING:  # provided by NewsSpider and CrawlScope
        outlet: OutletConfig
        _edit_rechecks: set[str]  # article keys re-fetched this run for an edit signal

        def _stat(self, key: str, count: int = 1) -> None: ...
        def make_request(self, url: str, kind: str, hints: dict[str, Any] | None = None,
                         extra_meta: dict[str, Any] | None = None) -> Request | None: ...

    def _run_context(self) -> RunContext | None:
        """The crawl's RunContext when the newsarchive pipeline runs (None for a bare spider)."""
        crawler = getattr(self, "crawler", None)  # set by from_crawler; absent when built bare
        return RunContext.existing(crawler) if crawler is not None else None

    def is_archived(self, url: str) -> bool:
        """True when the state says the article behind ``url`` is archived already."""
        context = self._run_context()
        state = context.state if context is not None else None
        if state is None:
            return False
        return state.is_archived(self.outlet.name, article_key(self.outlet, url))

    def edited_since_check(self, url: str, hints: dict[str, Any], claim: bool = True) -> bool:
        """True when the feed/sitemap/listing time in ``hints`` is newer than the last
        fetch of the archived article behind ``url``: an edit to re-fetch now rather
        than when the re-check schedule comes round.  ``claim``: count this as the one
        re-fetch of that article in this run (False only asks)."""
        moment = edit_moment(hints)
        context = self._run_context()
        state = context.state if context is not None else None
        if moment is None or state is None:
            return False
        if moment > datetime.now(UTC) + MAX_FUTURE:
            self._stat("newsarchive/discovery/edit_signal_in_future")
            return False
        key = article_key(self.outlet, url)
        info = state.article_info(self.outlet.name, key)
        if info is None or moment <= info.last_checked:
            return False
        if key in self._edit_rechecks:
            return False  # one re-fetch per article, however many URLs show the edit
        if not claim:
            return True
        self._edit_rechecks.add(key)
        self._stat("newsarchive/discovery/edit_signals")
        return True

    def recheck_requests(self) -> Iterator[Request]:
        """Archived articles whose edit re-check is due (the outlet's recheck schedule)."""
        context = self._run_context()
        state = context.state if context is not None else None
        if context is None or state is None or not context.schedule.intervals:
            return
        due = state.due_rechecks(self.outlet.name, datetime.now(UTC), context.schedule)
        self._stat("newsarchive/discovery/rechecks_due", len(due))
        for _key, url in due:
            request = self.make_request(url, "article", {"via": "recheck"}, {"recheck": True})
            if request is not None:
                yield request

    def too_old(self, *moments: datetime | None) -> bool:
        """True when ``--since`` is set and the entry's newest date is before it."""
        context = self._run_context()
        since = context.since if context is not None else None
        known = [m if m.tzinfo else m.replace(tzinfo=UTC) for m in moments if m is not None]
        if since is None or not known:
            return False
        if max(known) < since:
            self._stat("newsarchive/discovery/older_than_since")
            return True
        return False


EDIT_HINTS = ("lastmod", "updated", "modified", "published")  # discovery hints with a time
MAX_FUTURE = timedelta(days=1)  # a modified time further ahead is a site's clock error


def edit_moment(hints: dict[str, Any]) -> datetime | None:
    """The newest time a feed, sitemap or listing gives for an article (aware, UTC)."""
    moments = [parse_datetime(hints[name]) for name in EDIT_HINTS if hints.get(name)]
    known = [m for m in moments if m is not None]
    return max(known) if known else None
