"""A local cache of run reports read from S3, so a report every 15 minutes reads only the new.

Run reports are never overwritten (a store never replaces an object), so a report read
once can be kept by its key for good.  On S3 every read is a request; with 10,000 runs
those dominate.  The cache holds each report without its ``files`` list (the health page
does not need it) in one JSON file per store, under ``$NEWSARCHIVE_CACHE`` or
``${XDG_CACHE_HOME:-~/.cache}/newsarchive``.  A cache that cannot be read is ignored and
one that cannot be written is skipped: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

VERSION = 1


def default_cache_dir() -> Path:
    explicit = os.environ.get("NEWSARCHIVE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsarchive"


class ReportCache:
    """Slim run reports by store key, loaded from and saved to one JSON file."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.hits = 0  # reports served from the cache instead of the store
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("version") == VERSION:
                self._entries = dict(data.get("reports") or {})
        except (OSError, ValueError):
            pass

    @classmethod
    def for_store(cls, uri: str, directory: Path | None = None) -> ReportCache:
        name = hashlib.sha256(uri.encode()).hexdigest()[:16]
        return cls((directory or default_cache_dir()) / f"run-reports-{name}.json")

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if not isinstance(entry, dict):
            return None
        with self._lock:
            self.hits += 1
        return dict(entry)

    def put(self, key: str, report: dict[str, Any]) -> None:
        slim = {k: v for k, v in report.items() if k != "files"}
        with self._lock:
            self._entries[key] = slim
            self._dirty = True

    def __len__(self) -> int:
        return len(self._entries)

    def forget_except(self, keys: set[str]) -> None:
        """Drop the reports no longer in the store (a store that was pruned)."""
        with self._lock:
            if set(self._entries) - keys:
                self._entries = {k: v for k, v in self._entries.items() if k in keys}
                self._dirty = True

    def save(self) -> None:
        """Write the cache when something was added or dropped."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": VERSION, "reports": self._entries},
                                      ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
            self._dirty = False
        except OSError:
            pass
