"""The content hash of each archived article before template removal, with the crawl state.

Change detection must not depend on what the template store knew when a version was
written: the same page cleaned by a store that learnt one more template has another
``content_sha256``.  So the crawl compares the new page's hash before removal
(``extractor.options.source_sha256``) with the archived version's, kept here as a pair
(content hash, source hash) per article key.  The pair only counts while its content hash
is the state's current one for the key: a pair written for a version whose own article
fact never reached the state (a crash, a deferred fact lost) is never believed.

Kept out of ``sqlite``/``redis`` like the template stores (``archive.state.templates``):
a table of its own in SQLite, one hash per outlet in Redis.  Rebuilt from the corpus by
``archive.state.rebuild_templates``.
"""

from __future__ import annotations

from typing import Any

from archive.state.templates import _backend, _is_redis

_TABLE = """
CREATE TABLE IF NOT EXISTS source_hashes (
    outlet TEXT NOT NULL, key TEXT NOT NULL, content_sha256 TEXT NOT NULL,
    source_sha256 TEXT NOT NULL, PRIMARY KEY (outlet, key)
) WITHOUT ROWID
"""


def _ready(state: Any) -> Any:
    """The SQLite connection, its table created once per state object."""
    db = state._db
    if not getattr(state, "_source_hashes_ready", False):
        with state._lock:
            db.execute(_TABLE)
        state._source_hashes_ready = True
    return db


def _redis_key(state: Any, outlet: str) -> str:
    return f"{{{state.prefix}:{outlet}}}:srcsha"


def remember_sources(state: Any, outlet: str, pairs: list[tuple[str, str, str]]) -> None:
    """Keep (key, content hash, source hash) for each archived article.  Pairs whose two
    hashes are equal are kept too: they replace an older version's pair."""
    state = _backend(state)
    if not pairs or state is None:
        return
    if _is_redis(state):
        state.client.hset(_redis_key(state, outlet),
                          mapping={key: f"{content} {source}" for key, content, source in pairs})
        return
    if getattr(state, "_db", None) is None:
        return
    db = _ready(state)
    with state._lock:
        db.executemany("INSERT INTO source_hashes VALUES (?, ?, ?, ?) ON CONFLICT "
                       "(outlet, key) DO UPDATE SET content_sha256 = excluded.content_sha256,"
                       " source_sha256 = excluded.source_sha256",
                       [(outlet, key, content, source) for key, content, source in pairs])


def source_of(state: Any, outlet: str, key: str, content_sha256: str) -> str | None:
    """The source hash of the archived version whose content hash is ``content_sha256``
    (the state's current one for ``key``), or None when no pair for it is known."""
    state = _backend(state)
    if state is None:
        return None
    if _is_redis(state):
        raw = state.client.hget(_redis_key(state, outlet), key)
        if raw is None:
            return None
        content, _, source = (raw.decode() if isinstance(raw, bytes) else raw).partition(" ")
        return source if content == content_sha256 else None
    if getattr(state, "_db", None) is None:
        return None
    db = _ready(state)
    with state._lock:
        row = db.execute("SELECT source_sha256 FROM source_hashes WHERE outlet = ? AND key = ? "
                         "AND content_sha256 = ?", (outlet, key, content_sha256)).fetchone()
    return row[0] if row else None
