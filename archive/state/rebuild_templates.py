"""Rebuild the template side of the crawl state from the corpus (``state rebuild``).

What the crawl's template pass (``archive.corpus.templating``) keeps in the state is all
derivable from the corpus records, with no page parsed again: each record carries the
fingerprints of its paragraphs (``extractor.options.fingerprints``), so

- the template stores are learnt again from every article's first version (the one the
  crawl learnt from: a store counts each article once), per outlet and language;
- the source hash pairs (``archive.state.source_hashes``) come from each article's latest
  version (content hash, hash before template removal);
- the records still waiting for a settled store (``extractor.options.template_pages``
  under ``SETTLED_PAGES``) are marked again, so the next run cleans them as it would have.

Records from before fingerprints were kept teach nothing; ``reextract`` re-learns from the
WARCs.  Memory: the stores (bounded by their compaction) and one batch of rows.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from archive.corpus.generations import winners
from archive.corpus.records import corpus_files
from archive.corpus.templating import (
    SETTLED_PAGES,
    fingerprints_of,
    source_sha256,
    store_name,
)
from archive.extract.templates import TemplateStore, learn_record
from archive.outlet.urls import key_of_id
from archive.state.source_hashes import remember_sources
from archive.state.templates import mark_unsettled, replace_templates
from archive.store.base import Store

BATCH = 5000
COMPACT_EVERY = 5000
_DAMAGE = (OSError, EOFError, ValueError, zlib.error)  # the corpus read reports them


def rebuild_templates(store: Store, state: Any,
                      wanted: Callable[[str], bool] = lambda outlet: True) -> int:
    """Restore the template stores, source hashes and unsettled marks of every outlet
    ``wanted`` has in the store's corpus; returns the pages learnt."""
    learnt = 0
    for outlet in sorted({f.outlet for f in corpus_files(store)}):
        if wanted(outlet):
            learnt += _rebuild_outlet(store, state, outlet)
    return learnt


def _rebuild_outlet(store: Store, state: Any, outlet: str) -> int:
    with _LatestPairs() as latest:
        learnt = _learn_outlet(store, state, outlet, latest)
        pairs: list[tuple[str, str, str]] = []
        for record_id, content, source in latest.rows():  # each article's latest version
            pairs.append((key_of_id(record_id, outlet), content, source))
            if len(pairs) >= BATCH:
                remember_sources(state, outlet, pairs)
                pairs = []
        remember_sources(state, outlet, pairs)
    return learnt


def _learn_outlet(store: Store, state: Any, outlet: str, latest: _LatestPairs) -> int:
    """Stores and marks from one pass over the outlet's corpus; ``latest`` gathers the
    hash pairs on the way."""
    stores: dict[str, TemplateStore] = {}
    unsettled: dict[str, list[tuple[str, int]]] = {}
    learnt = 0
    for record in _read(store, outlet, all_versions=True):  # one read of each generation
        latest.add(record)
        fingerprints = fingerprints_of(record)
        language = record.get("language") or "und"
        version = int(record.get("version") or 1)
        options = (record.get("extractor") or {}).get("options") or {}
        pages = options.get("template_pages")
        if isinstance(pages, int) and pages < SETTLED_PAGES and isinstance(record.get("id"),
                                                                          str):
            marks = unsettled.setdefault(language, [])
            marks.append((record["id"], version))
            if len(marks) >= BATCH:
                mark_unsettled(state, store_name(outlet, language), marks)
                marks.clear()
        if not fingerprints or version != 1 or not isinstance(record.get("id"), str):
            continue
        target = stores.setdefault(language, TemplateStore())
        if learn_record(target, record, fingerprints):
            learnt += 1
            target.pending = []
            if target.pages % COMPACT_EVERY == 0:
                target.compact()
    for language, target in stores.items():
        target.compact()
        replace_templates(state, store_name(outlet, language), target)
    for language, marks in unsettled.items():
        mark_unsettled(state, store_name(outlet, language), marks)
    return learnt


class _LatestPairs:
    """(content hash, source hash) of each article's highest version, kept in a temporary
    SQLite table as the one pass over the corpus goes (memory does not grow with the
    number of articles, and no generation is read twice)."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="newsarchive-latest-", suffix=".sqlite3")
        os.close(handle)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA cache_size = -2048")
        self.db.execute("CREATE TABLE latest (id TEXT PRIMARY KEY, version INTEGER, "
                        "content TEXT, source TEXT) WITHOUT ROWID")
        self.batch: list[tuple[str, int, str, str]] = []

    def add(self, record: dict[str, Any]) -> None:
        content = record.get("content_sha256")
        if not isinstance(record.get("id"), str) or not content:
            return
        self.batch.append((record["id"], int(record.get("version") or 1), content,
                           source_sha256(record) or content))
        if len(self.batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        self.db.executemany(
            "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "version = excluded.version, content = excluded.content, "
            "source = excluded.source WHERE excluded.version >= latest.version", self.batch)
        self.batch = []

    def rows(self) -> Iterator[tuple[str, str, str]]:
        self._flush()
        yield from self.db.execute("SELECT id, content, source FROM latest ORDER BY id")

    def __enter__(self) -> _LatestPairs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()
        os.unlink(self.path)


def _read(store: Store, outlet: str, all_versions: bool) -> Iterator[dict[str, Any]]:
    """The outlet's corpus records, newest generation winning, past damage: a bad line or
    a truncated file costs what it holds (``rebuild_state`` reports it), not the rest."""
    files = [f.key for f in corpus_files(store, outlet)]
    yield from winners((_lines(store, key) for key in files), all_versions)


def _lines(store: Store, key: str) -> Iterator[tuple[dict[str, Any], str]]:
    try:
        with store.open_read(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
            for line in text:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record, line
    except _DAMAGE:
        return
