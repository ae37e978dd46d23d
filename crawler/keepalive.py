"""A heartbeat that keeps beating while the reactor thread is busy publishing.

A worker of a shared crawl proves it is alive by a heartbeat on the reactor (a
LoopingCall).  When the spider closes, the run report extension blocks that thread while
the worker's files are closed, indexed and uploaded -- minutes for large WARCs on S3 --
and a silent worker is declared dead after NEWSARCHIVE_WORKER_TTL (30 s): its requests
would be crawled again by the others.  From the moment the spider closes until the worker
leaves the crawl, a plain thread beats instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class KeepAlive:
    """Calls ``beat`` every ``interval`` seconds in a daemon thread until ``stop``."""

    def __init__(self, beat: Callable[[], object], interval: float):
        self.beat = beat
        self.interval = interval
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keepalive", daemon=True)

    def start(self) -> KeepAlive:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
                self.beats += 1
            except Exception as exc:  # a missed beat is survivable; the next one may land
                logger.warning("heartbeat while publishing failed: %s", exc)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
