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
WARCs.  ``state rebuild``'s corpus pass (``archive.state.rebuild_corpus``) hands every
winning record to an ``OutletTemplates`` as it restores the article rows, so each corpus
generation is read once for both.  Memory: the stores (bounded by their compaction), one
batch of rows, and the latest hash pairs in a temporary SQLite file.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from typing import Any

from archive.corpus.templating import (
    SETTLED_PAGES,
    fingerprints_of,
    learn_whole,
    source_sha256,
    store_name,
)
from archive.extract.templates import TemplateStore
from archive.outlet.urls import key_of_id
from archive.state.source_hashes import remember_sources
from archive.state.templates import mark_unsettled, replace_templates

BATCH = 5000


class OutletTemplates:
    """The template side of one outlet's state, restored from its corpus records (every
    version, newest generation winning: ``archive.corpus.generations.winners``) handed
    over one by one; ``finish`` stores it.  A context manager: the temporary file of the
    latest hash pairs goes on exit."""

    def __init__(self, state: Any, outlet: str):
        self.state, self.outlet = state, outlet
        self.stores: dict[str, TemplateStore] = {}
        self.unsettled: dict[str, list[tuple[str, int]]] = {}
        self.latest = _LatestPairs()
        self.learnt = 0

    def add(self, record: dict[str, Any]) -> None:
        if not isinstance(record.get("id"), str):
            return
        self.latest.add(record)
        fingerprints = fingerprints_of(record)
        language = record.get("language") or "und"
        try:
            version = int(record.get("version") or 1)
        except (TypeError, ValueError):
            return  # the article rows report nothing for it either: nothing to learn
        options = (record.get("extractor") or {}).get("options") or {}
        pages = options.get("template_pages")
        if isinstance(pages, int) and pages < SETTLED_PAGES:
            marks = self.unsettled.setdefault(language, [])
            marks.append((record["id"], version))
            if len(marks) >= BATCH:
                mark_unsettled(self.state, store_name(self.outlet, language), marks)
                marks.clear()
        if not fingerprints or version != 1:
            return  # a store learns each article once: from the version the crawl learnt
        self.learnt += learn_whole(self.stores, record, fingerprints)

    def finish(self) -> int:
        """Store the template stores, unsettled marks and source hash pairs; returns the
        pages learnt."""
        for language, target in self.stores.items():
            target.compact()
            replace_templates(self.state, store_name(self.outlet, language), target)
        for language, marks in self.unsettled.items():
            mark_unsettled(self.state, store_name(self.outlet, language), marks)
        pairs: list[tuple[str, str, str]] = []
        for record_id, content, source in self.latest.rows():  # each article's latest
            pairs.append((key_of_id(record_id, self.outlet), content, source))
            if len(pairs) >= BATCH:
                remember_sources(self.state, self.outlet, pairs)
                pairs = []
        remember_sources(self.state, self.outlet, pairs)
        return self.learnt

    def __enter__(self) -> OutletTemplates:
        return self

    def __exit__(self, *exc: object) -> None:
        self.latest.close()


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

    def close(self) -> None:
        self.db.close()
        os.unlink(self.path)
