"""Asking Scrapy's engine for the next request now: the one private Scrapy access.

Scrapy's engine asks the scheduler for requests when a download ends, when a request is
scheduled, and otherwise only on its slot heartbeat, every 5 s.  In the shared crawl,
``next_request`` often has nothing *yet* (every host with queued requests is inside its
politeness delay, or another worker holds them); the scheduler knows when one will be
ready, but without a wake-up the engine would only look again up to 5 s later, far
beyond a typical ``download_delay``.

Scrapy 2.19 has no public call for this: ``ExecutionEngine.crawl`` needs a request,
``unpause`` does not schedule, ``spider_idle`` + ``DontCloseSpider`` only keeps the
spider open, and the heartbeat interval is itself private.  So the private
``engine._slot.nextcall`` is used here, and only here, without a fallback: if a Scrapy
upgrade renames it this raises AttributeError, and
tests/test_distributed.py::test_wake_engine_makes_the_engine_ask_the_scheduler_again fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.core.engine import ExecutionEngine


def wake_engine(engine: ExecutionEngine) -> None:
    """Have ``engine`` ask its scheduler for the next request on the next loop turn
    (no-op before the spider opens and once it is closing)."""
    slot = engine._slot
    if slot is not None and slot.closing is None:
        slot.nextcall.schedule()
