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
    stores: dict[str, TemplateStore] = {}
    unsettled: dict[str, list[tuple[str, int]]] = {}
    learnt = 0
    for record in _read(store, outlet, all_versions=True):
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
    pairs: list[tuple[str, str, str]] = []
    for record in _read(store, outlet, all_versions=False):  # each article's latest
        content = record.get("content_sha256")
        if isinstance(record.get("id"), str) and content:
            pairs.append((key_of_id(record["id"], outlet), content,
                          source_sha256(record) or content))
        if len(pairs) >= BATCH:
            remember_sources(state, outlet, pairs)
            pairs = []
    remember_sources(state, outlet, pairs)
    return learnt


def _read(store: Store, outlet: str, all_versions: bool) -> Iterator[dict[str, Any]]:
    """The outlet's corpus records, newest generation winning, past damage: a bad line or
    a truncated file costs what it holds (``rebuild_state`` reports it), not the rest."""
    files = [f.key for f in corpus_files(store, outlet)]
    yield from winners((_lines(store, key) for key in files), all_versions)


def _lines(store: Store, key: str) -> Iterator[dict[str, Any]]:
    try:
        with store.open_read(key) as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
            for line in text:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
    except _DAMAGE:
        return
