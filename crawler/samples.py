"""One ``RunSamples`` per crawl, shared by every component that counts a failure.

A failure is counted (``newsarchive/failures/<kind>``) and its URL kept for the run report
in one call, so the list of failing URLs can never disagree with the counters.
"""

from __future__ import annotations

import weakref
from typing import Any

from archive.runs.samples import RunSamples

# one RunSamples per crawler, without hanging attributes on Scrapy's Crawler; the entry
# goes when the crawler does
_SAMPLES: weakref.WeakKeyDictionary[Any, RunSamples] = weakref.WeakKeyDictionary()


def samples_for(crawler: Any) -> RunSamples:
    """The crawl's samples, created on first use."""
    samples = _SAMPLES.get(crawler)
    if samples is None:
        samples = _SAMPLES[crawler] = RunSamples()
    return samples


def count_failure(crawler: Any, kind: str, url: str | None) -> None:
    """Count a failure of ``kind`` and keep ``url`` (scrubbed, capped) for the report."""
    stats = getattr(crawler, "stats", None)
    if stats is not None:
        stats.inc_value(f"newsarchive/failures/{kind}")
    if crawler is not None:
        samples_for(crawler).add_failure(kind, url)
