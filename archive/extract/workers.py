"""How many extraction worker processes to start (the crawl's pool and ``reextract``)."""

from __future__ import annotations

import os


def default_workers() -> int:
    """One worker per usable core: extraction (~30-40 ms CPU per page) dominates; the crawl
    itself needs only a few ms per page (bench/crawl.py measured 33.8 pages/s with two
    workers against 27.5 with one on two cores)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
