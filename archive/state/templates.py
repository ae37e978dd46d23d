"""Persistence of the per-outlet template store (``archive.extract.templates``) with the
outlet's crawl state: a table of its own in the SQLite state, a key of its own in Redis.

Kept out of ``sqlite``/``redis`` on purpose: the store is one JSON document per outlet,
read once per run and merged on save, so it needs none of their per-article machinery.
Saving merges the pages learnt since loading into what is stored now (a transaction in
SQLite, WATCH/MULTI in Redis), so concurrent workers never lose each other's pages.
The store is a cache like the rest of the state: it is rebuilt by learning again from
the corpus (``reextract`` does).
"""

from __future__ import annotations

import json
from typing import Any

from archive.extract.templates import TemplateStore

_TABLE = """
CREATE TABLE IF NOT EXISTS extract_templates (
    outlet TEXT PRIMARY KEY,
    data TEXT NOT NULL
)
"""
REDIS_RETRIES = 20


def _backend(state: Any) -> Any:
    """The SQLite or Redis state under wrappers such as the distributed worker's deferred
    state (whose hold-back is for facts pointing into the store; a template is not one)."""
    while state is not None and hasattr(state, "inner"):
        state = state.inner
    return state


def _redis_key(state: Any, outlet: str) -> str:
    return f"{{{state.prefix}:{outlet}}}:tpl"


def _is_redis(state: Any) -> bool:
    return hasattr(state, "client") and hasattr(state, "prefix")


def _decode(raw: str | bytes | None) -> TemplateStore:
    if not raw:
        return TemplateStore()
    return TemplateStore.from_dict(json.loads(raw))


def load_templates(state: Any, outlet: str) -> TemplateStore:
    """The outlet's stored template (empty when none is stored or the state has none)."""
    state = _backend(state)
    if state is None:
        return TemplateStore()
    if _is_redis(state):
        return _decode(state.client.get(_redis_key(state, outlet)))
    db = getattr(state, "_db", None)
    if db is None:
        return TemplateStore()
    with state._lock:
        db.execute(_TABLE)
        row = db.execute("SELECT data FROM extract_templates WHERE outlet = ?",
                         (outlet,)).fetchone()
    return _decode(row[0] if row else None)


def save_templates(state: Any, outlet: str, store: TemplateStore) -> TemplateStore:
    """Merge the store's pending pages into the stored one; returns the merged store."""
    state = _backend(state)
    if state is None or not store.pending:
        store.pending = []  # nowhere to keep them: the run learns on its own
        return store
    if _is_redis(state):
        merged = _save_redis(state, outlet, store)
    elif getattr(state, "_db", None) is not None:
        merged = _save_sqlite(state, outlet, store)
    else:
        store.pending = []  # a state that keeps no templates: the run learns on its own
        return store
    merged.pending = []
    return merged


def _save_sqlite(state: Any, outlet: str, store: TemplateStore) -> TemplateStore:
    db = state._db
    with state._lock:
        db.execute(_TABLE)
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT data FROM extract_templates WHERE outlet = ?",
                             (outlet,)).fetchone()
            merged = store.merged_into(_decode(row[0] if row else None))
            db.execute("INSERT INTO extract_templates (outlet, data) VALUES (?, ?) "
                       "ON CONFLICT (outlet) DO UPDATE SET data = excluded.data",
                       (outlet, json.dumps(merged.to_dict(), separators=(",", ":"))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return merged


def _save_redis(state: Any, outlet: str, store: TemplateStore) -> TemplateStore:
    import redis

    key = _redis_key(state, outlet)
    for _ in range(REDIS_RETRIES):
        with state.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                merged = store.merged_into(_decode(pipe.get(key)))
                pipe.multi()
                pipe.set(key, json.dumps(merged.to_dict(), separators=(",", ":")))
                pipe.execute()
                return merged
            except redis.WatchError:
                continue  # another worker saved meanwhile: merge again
    raise RuntimeError(f"could not save the template store of {outlet}: Redis key {key} "
                       f"kept changing ({REDIS_RETRIES} tries)")


def replace_templates(state: Any, outlet: str, store: TemplateStore) -> None:
    """Store ``store`` as the outlet's template, whatever was stored (``reextract`` and
    ``state rebuild`` learnt it from the whole corpus: merging would count pages twice)."""
    state = _backend(state)
    data = json.dumps(store.to_dict(), separators=(",", ":"))
    if _is_redis(state):
        state.client.set(_redis_key(state, outlet), data)
    elif state is not None and getattr(state, "_db", None) is not None:
        with state._lock:
            state._db.execute(_TABLE)
            state._db.execute("INSERT INTO extract_templates (outlet, data) VALUES (?, ?) "
                              "ON CONFLICT (outlet) DO UPDATE SET data = excluded.data",
                              (outlet, data))
    store.pending = []


_UNSETTLED = """
CREATE TABLE IF NOT EXISTS extract_template_unsettled (
    outlet TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (outlet, id, version)
) WITHOUT ROWID
"""


def _sqlite(state: Any) -> Any:
    state = _backend(state)
    return state if state is not None and getattr(state, "_db", None) is not None else None


def mark_unsettled(state: Any, outlet: str, records: list[tuple[str, int]]) -> None:
    """Remember records cleaned by a store that may still learn (``TemplatePass``)."""
    _change_marks(state, outlet, records, add=True)


def _change_marks(state: Any, outlet: str, records: list[tuple[str, int]], add: bool
                  ) -> None:
    """Add or remove the unsettled marks of ``records`` ((id, version) pairs)."""
    state = _backend(state)
    if not records or state is None:
        return
    if _is_redis(state):
        change = state.client.sadd if add else state.client.srem
        change(_redis_key(state, outlet) + "u", *(f"{v}\t{i}" for i, v in records))
    elif _sqlite(state) is not None:
        statement = ("INSERT OR IGNORE INTO extract_template_unsettled VALUES (?, ?, ?)"
                     if add else "DELETE FROM extract_template_unsettled WHERE outlet = ? "
                     "AND id = ? AND version = ?")
        with state._lock:
            state._db.execute(_UNSETTLED)
            state._db.executemany(statement, [(outlet, i, int(v)) for i, v in records])


def unsettled_records(state: Any, outlet: str) -> list[tuple[str, int]]:
    state = _backend(state)
    if state is not None and _is_redis(state):
        members = state.client.smembers(_redis_key(state, outlet) + "u")
        pairs = [(m.decode() if isinstance(m, bytes) else m).split("\t", 1) for m in members]
        return sorted((i, int(v)) for v, i in pairs)
    if _sqlite(state) is None:
        return []
    with state._lock:
        state._db.execute(_UNSETTLED)
        return [(i, int(v)) for i, v in state._db.execute(
            "SELECT id, version FROM extract_template_unsettled WHERE outlet = ? "
            "ORDER BY id, version", (outlet,))]


def settle(state: Any, outlet: str, records: list[tuple[str, int]]) -> None:
    """Forget the marks of records a settled store cleaned."""
    _change_marks(state, outlet, records, add=False)


def clear_templates(state: Any, outlet: str) -> None:
    """Forget the outlet's template (a wrong template is undone by re-extraction after)."""
    state = _backend(state)
    if state is None or not (_is_redis(state) or getattr(state, "_db", None) is not None):
        return
    if _is_redis(state):
        state.client.delete(_redis_key(state, outlet))
        return
    with state._lock:
        state._db.execute(_TABLE)
        state._db.execute("DELETE FROM extract_templates WHERE outlet = ?", (outlet,))


class StateTemplates:
    """The template stores of a crawl state (``archive.corpus.templating.Persistence``)."""

    def __init__(self, state: Any):
        self.state = state

    def load(self, name: str) -> TemplateStore:
        return load_templates(self.state, name)

    def save(self, name: str, store: TemplateStore) -> TemplateStore:
        return save_templates(self.state, name, store)

    def replace(self, name: str, store: TemplateStore) -> None:
        replace_templates(self.state, name, store)

    def mark_unsettled(self, name: str, records: list[tuple[str, int]]) -> None:
        mark_unsettled(self.state, name, records)

    def unsettled(self, name: str) -> list[tuple[str, int]]:
        return unsettled_records(self.state, name)

    def settle(self, name: str, records: list[tuple[str, int]]) -> None:
        settle(self.state, name, records)
