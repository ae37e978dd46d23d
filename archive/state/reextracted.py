"""Bring the crawl state's article hashes in step with a ``reextract`` generation.

``reextract`` may give an article version another text (a changed extractor option, a
template learnt from the whole corpus), hence another ``content_sha256``.  The state keeps
each article's latest content hash because the next captured edit chains on it
(``previous_sha256``); left alone, that edit would point at a hash no corpus record has.
So after a re-extraction the state's article rows (the hash of the latest version) and the
source-hash pairs (``archive.state.source_hashes``) are set from the winning corpus
records.  Only the hash changes: the article's URL, times and published date stay as the
crawl recorded them, and an article the state does not know, or knows at a later version
(a crawl ran meanwhile), is left alone.

Only the generation ``reextract`` just wrote is read (issue 19: no generation is read
twice by one command): it is the newest, so its record of every (id, version) it holds
wins, and an article it does not hold kept its text.  Per article the record whose
version is the state's latest is the one that counts; the others are older versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archive.corpus.records import read_file
from archive.corpus.templating import source_sha256
from archive.outlet.urls import key_of_id
from archive.state.source_hashes import remember_sources
from archive.store.base import Store

BATCH = 5000


def resync_hashes(store: Store, state: Any, generation: Mapping[str, str | None]) -> int:
    """Set the state's latest-version hashes from a ``reextract`` generation: ``generation``
    maps each outlet to the corpus file it wrote (None: it wrote none).  Returns how many
    article rows changed."""
    changed = 0
    for outlet, key in generation.items():
        if not key:
            continue
        pairs: list[tuple[str, str, str]] = []
        for record in read_file(store, key):
            content = record.get("content_sha256")
            if not isinstance(record.get("id"), str) or not content:
                continue
            article = key_of_id(record["id"], outlet)
            info = state.article_info(outlet, article)
            if info is None or info.version != int(record.get("version") or 1):
                continue
            if info.content_sha256 != content:
                # same version, same last fetch: the upsert takes the new hash, keeps the rest
                state.record_article(outlet, article, info.url, content, info.version,
                                     info.last_fetched, info.published)
                changed += 1
            pairs.append((article, content, source_sha256(record) or content))
            if len(pairs) >= BATCH:
                remember_sources(state, outlet, pairs)
                pairs = []
        remember_sources(state, outlet, pairs)
    return changed
