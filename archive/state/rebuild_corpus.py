"""The corpus pass of ``state rebuild``: article rows and the template side in one read.

Each corpus generation is read once (issue 19).  An outlet's files go, oldest run first,
through ``archive.corpus.generations.winners`` -- one read of each file into a temporary
SQLite table, where a newer generation's record of an (id, version) replaces an older
one's -- and every winning record is handed to both consumers:

- the article rows (archived key, URL, content hash, version, capture and publication
  times) and, on the way, the facts the alias restoration needs (``AliasIndex``);
- ``OutletTemplates``: template stores, unsettled marks and source hash pairs.

Damage costs what it holds: a line that is not JSON, a record without its id, URL,
capture time or content hash, a truncated or non-gzip file -- each is a problem in the
result, and the rest of the corpus is read.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from archive.corpus.generations import winners
from archive.corpus.records import corpus_files
from archive.outlet.urls import key_of_id
from archive.state.aliases import AliasIndex
from archive.state.base import ArticleRecord, StateStore
from archive.state.rebuild_templates import OutletTemplates
from archive.state.schedule import parse_datetime
from archive.store.base import Store

BATCH = 5000
_DAMAGE = (OSError, EOFError, UnicodeDecodeError, zlib.error)


def outlet_of(key: str) -> str:
    """``warc/<outlet>/...`` or ``corpus/<outlet>/...`` -> outlet."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else ""


class CorpusPass:
    """Reads the corpus files of the wanted outlets into the state (see the module
    docstring); counts and problems go to the rebuild's result."""

    def __init__(self, store: Store, state: StateStore, index: AliasIndex, result: Any,
                 wanted: Callable[[str], bool], window_start: datetime,
                 progress: Callable[[str], None]):
        self.store, self.state, self.index, self.result = store, state, index, result
        self.wanted, self.window_start, self.progress = wanted, window_start, progress

    def problem(self, message: str) -> None:
        self.result.problems.append(message)

    def run(self) -> int:
        """Read every wanted outlet's corpus; returns the template pages learnt."""
        by_outlet: dict[str, list[str]] = {}
        for corpus_file in corpus_files(self.store):  # oldest run first
            if self.wanted(corpus_file.outlet):
                by_outlet.setdefault(corpus_file.outlet, []).append(corpus_file.key)
        learnt = 0
        for outlet, keys in sorted(by_outlet.items()):
            learnt += self._outlet(outlet, keys)
        return learnt

    def _outlet(self, outlet: str, keys: list[str]) -> int:
        rows: dict[str, list[ArticleRecord]] = {}
        with OutletTemplates(self.state, outlet) as templates:
            for record in winners((self._lines(key) for key in keys), all_versions=True):
                record_outlet = str(record.get("outlet") or outlet)
                article = self._article(record, record_outlet)
                if article is not None and self.wanted(record_outlet):
                    batch = rows.setdefault(record_outlet, [])
                    batch.append(article)
                    if len(batch) >= BATCH:
                        self.state.record_articles(record_outlet, rows.pop(record_outlet))
                templates.add(record)
            for record_outlet, batch in rows.items():
                self.state.record_articles(record_outlet, batch)
            return templates.finish()

    def _lines(self, key: str) -> Iterator[tuple[dict[str, Any], str]]:
        """(record, its line) of one file; records the rebuild cannot use are reported
        here, so that generations never merge them away unseen."""
        self.result.corpus_files += 1
        self.progress(f"corpus {key}")
        try:
            with self.store.open_read(key) as raw, \
                    gzip.open(raw, "rt", encoding="utf-8") as stream:
                for number, line in enumerate(stream, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError:
                        self.problem(f"{key}:{number}: not JSON")
                        continue
                    if not isinstance(record, dict):
                        continue
                    self.result.corpus_records += 1
                    if self._usable(record, key):
                        yield record, line
        except _DAMAGE as exc:
            self.problem(f"{key}: unreadable corpus file ({exc})")

    def _usable(self, record: dict, where: str) -> bool:
        rid, url = record.get("id"), record.get("url")
        if isinstance(rid, str) and isinstance(url, str) and record.get("content_sha256") \
                and parse_datetime(record.get("fetched_at")):
            return True
        self.problem(f"{where}: record {rid!r} lacks id/url/fetched_at/content_sha256")
        return False

    def _article(self, record: dict, outlet: str) -> ArticleRecord:
        rid, url = record["id"], record["url"]
        fetched = parse_datetime(record.get("fetched_at"))
        assert fetched is not None  # _usable checked it
        key = key_of_id(rid, outlet)
        try:
            version = int(record.get("version") or 1)
        except (TypeError, ValueError):
            version = 1
        published = record.get("published")
        if fetched >= self.window_start:
            for address in {url, record.get("canonical_url")}:
                if isinstance(address, str) and address:
                    self.index.young_article(address, outlet, key)
        article = ArticleRecord(key, url, str(record["content_sha256"]), version, fetched,
                                published if isinstance(published, str) else None)
        pointer = record.get("warc") if isinstance(record.get("warc"), dict) else {}
        self.index.article(outlet, article, pointer.get("payload_digest"))
        return article
