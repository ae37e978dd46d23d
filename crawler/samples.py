"""One ``RunSamples`` per crawl, shared by every component that counts a failure.

A failure is counted (``newsarchive/failures/<kind>``) and its URL kept for the run report
in one call, so the list of failing URLs can never disagree with the counters.
"""

from __future__ import annotations

from typing import Any

from archive.runs.samples import RunSamples

_ATTRIBUTE = "_newsarchive_samples"


def samples_for(crawler: Any) -> RunSamples:
    """The crawl's samples, created on first use and cached on the crawler."""
    samples = getattr(crawler, _ATTRIBUTE, None)
    if samples is None:
        samples = RunSamples()
        setattr(crawler, _ATTRIBUTE, samples)
    return samples


def count_failure(crawler: Any, kind: str, url: str | None) -> None:
    """Count a failure of ``kind`` and keep ``url`` (scrubbed, capped) for the report."""
    stats = getattr(crawler, "stats", None)
    if stats is not None:
        stats.inc_value(f"newsarchive/failures/{kind}")
    if crawler is not None:
        samples_for(crawler).add_failure(kind, url)
