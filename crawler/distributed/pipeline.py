"""The article pipeline of a shared crawl: one article, one corpus record, run-wide.

Two workers can reach the same article by two URLs (the dupefilter only stops the same
URL twice).  The local pipeline's "articles written this run" set is replaced by the
run's article claims in Redis, so the first worker to write an article owns it and the
others skip it.
"""

from __future__ import annotations

from crawler.distributed.coordinator import Coordinator
from crawler.distributed.extension import coordinator_of
from crawler.pipelines import ArticlePipeline


class ClaimSet:
    """The pipeline's "articles written this run", shared by every worker of the run.

    Membership is decided by an atomic claim in Redis: the first worker to ask about an
    article id owns it (``x in claims`` claims ``x`` when nobody has); every other worker
    then sees it as already written.  ``len`` counts this worker's own articles.
    """

    def __init__(self, coordinator: Coordinator):
        self.coordinator = coordinator
        self._mine: set[str] = set()

    def __contains__(self, article_id: object) -> bool:
        if article_id in self._mine:
            return True
        outcome = self.coordinator.frontier.claim(self.coordinator.worker, str(article_id))
        if outcome == 0:
            self.coordinator.inc("claimed_elsewhere")
            return True
        self._mine.add(str(article_id))
        return False

    def add(self, article_id: str) -> None:
        self._mine.add(article_id)

    def __len__(self) -> int:
        return len(self._mine)


class DistributedArticlePipeline(ArticlePipeline):
    """The article pipeline with the run's article claims instead of a local set."""

    def open_spider(self, spider=None) -> None:
        super().open_spider(spider)
        self.seen_ids = ClaimSet(coordinator_of(self.crawler))  # type: ignore
