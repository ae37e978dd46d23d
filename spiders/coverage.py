"""Coverage outcomes: what became of each article URL the channels declared.

The spider knows what feeds, sitemaps and listings declared and why a page was not
fetched; whether a fetched article became a corpus record is decided later, in the
pipeline.  Scrapy's ``item_scraped``/``item_dropped`` signals carry that outcome back
(with the response, hence the URL as the spider asked for it), so the ledger
(archive/discover/coverage.py) can say per URL "archived", "unchanged" or why not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scrapy.http import Response

from archive.outlet.urls import normalize_url
from spiders.scope import PENDING_KEY

if TYPE_CHECKING:
    from archive.discover.coverage import CoverageLedger

# DropItem message starts (crawler/pipelines.py) -> coverage outcome
_DROP_OUTCOMES = (
    ("unchanged", "unchanged"),
    ("text unchanged", "unchanged"),
    ("already extracted", "duplicate"),
    ("not an article", "not_an_article"),
    ("--max-articles", "max_articles"),
    ("extraction", "extraction_error"),
)


def _urls(response: Response | None, item: Any) -> set[str]:
    """Every URL that led to this item: as scheduled, redirect hops, as fetched."""
    urls: set[str] = set()
    if response is not None:
        urls.update(filter(None, [response.meta.get(PENDING_KEY), response.url,
                                  *(response.meta.get("redirect_urls") or [])]))
    if isinstance(item, dict):
        urls.update(filter(None, [item.get("url"), item.get("request_url")]))
    return {normalize_url(u) for u in urls}


class CoverageSignals:
    """NewsSpider's item outcome handlers and the report section (a mixin)."""

    if TYPE_CHECKING:
        ledger: CoverageLedger

    def item_archived(self, item: Any, response: Response | None = None,
                      spider: Any = None) -> None:
        if spider is not None and spider is not self:
            return
        for url in _urls(response, item):
            self.ledger.settle(url, "archived")

    def item_not_archived(self, item: Any, response: Response | None = None,
                          exception: BaseException | None = None, spider: Any = None) -> None:
        if spider is not None and spider is not self:
            return
        message = str(exception or "").lower()
        outcome = next((o for prefix, o in _DROP_OUTCOMES if message.startswith(prefix)),
                       "dropped")
        for url in _urls(response, item):
            self.ledger.settle(url, outcome)

    def coverage_report(self) -> dict[str, Any]:
        """The run report's ``coverage`` section (see CoverageLedger.report)."""
        report = self.ledger.report()
        budget = getattr(self, "budget", None)
        if getattr(self, "generic", False) and budget is not None:
            report["page_budget"] = {"spent": budget.spent, "refused": budget.refused,
                                     "limit": budget.limit(len(getattr(self, "_candidates",
                                                                       ())))}
        return report
