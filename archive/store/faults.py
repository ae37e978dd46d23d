"""Named points where a crash test can stop a run dead (no effect unless asked for).

The kill test (tests/test_kill.py) needs a ``kill -9`` at moments a timer rarely hits:
between an fsync and a rename, during an upload, half-way through a recovery.  With
``NEWSARCHIVE_TEST_PAUSE_AT=name[:N]`` the N-th time (default: first) the process reaches
point ``name`` it writes the name to ``NEWSARCHIVE_TEST_PAUSE_FILE`` and sleeps; the test
sees the file and kills the whole process group.  With ``NEWSARCHIVE_TEST_PAUSE_SECONDS``
it sleeps that long and goes on (a slow step, e.g. a publish that takes minutes).
Nothing is faked: the run really dies there, with whatever it had written.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

_hits: Counter[str] = Counter()
_lock = threading.Lock()


def pause_point(name: str) -> None:
    spec = os.environ.get("NEWSARCHIVE_TEST_PAUSE_AT")
    if not spec:
        return
    wanted, _, count = spec.partition(":")
    if wanted != name:
        return
    with _lock:
        _hits[name] += 1
        if _hits[name] != int(count or 1):
            return
    with open(os.environ["NEWSARCHIVE_TEST_PAUSE_FILE"], "w", encoding="utf-8") as handle:
        handle.write(name)
    seconds = float(os.environ.get("NEWSARCHIVE_TEST_PAUSE_SECONDS") or "inf")
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # until killed (or, for a slow step, the given time)
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
