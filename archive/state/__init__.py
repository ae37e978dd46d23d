"""Crawl state: what is already archived (``open_state`` picks the implementation).

``base`` holds the protocol and the records, ``sqlite`` the embedded default, ``redis`` the
state shared by distributed workers, ``schedule`` the edit re-check rules and ``rebuild``
the reconstruction of a lost state from the store.
"""

from __future__ import annotations

import os

from archive.state.base import StateError, StateStore, default_state_dir, default_state_path

__all__ = ["StateError", "StateStore", "default_state_dir", "default_state_path", "open_state"]


def open_state(location: str | os.PathLike, cache_mb: int | None = None) -> StateStore:
    """A state for ``location``: ``redis://`` / ``rediss://`` / ``unix://`` URL -> RedisState
    (``?prefix=NAME`` selects the key prefix: one per store), anything else -> SQLite file.

    ``cache_mb`` bounds a SQLite state's page cache (default: the crawl's 32 MB); bulk
    writers such as ``state rebuild`` pass a few MB, so their peak memory does not grow
    with the archive until the cache is full (issue 19)."""
    text = os.fspath(location)
    if text.startswith(("redis://", "rediss://", "unix://")):
        from archive.state.redis import RedisState  # redis is imported only when used

        return RedisState.from_url(text)
    if "://" in text:
        raise StateError(f"unsupported state location {text!r}: use a file path or redis://")
    from archive.state.sqlite import SQLiteState

    return SQLiteState(text) if cache_mb is None else SQLiteState(text, cache_mb=cache_mb)

