"""The template post-pass over a stream of corpus records (crawl and ``reextract``).

Every record teaches the outlet's template store (``archive.extract.templates``) its
paragraph fingerprints; template paragraphs are then removed from it, without parsing the
page again.  Cold start: while the store has seen fewer than ``WARM_PAGES`` pages, records
are held back, and released (cleaned by what the run's own pages taught) once it is warm
or when the run ends, so no record is written before the store could know its furniture.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from archive.corpus.records import encode_record
from archive.extract.templates import (
    TemplateStore,
    apply_to_record,
    learn_record,
    template_allowlist,
)
from archive.outlet.config import OutletConfig

logger = logging.getLogger(__name__)
WARM_PAGES = 20  # pages the store must have seen before records pass straight through
SAVE_EVERY = 50  # learnt pages between two saves of the store
COMPACT_EVERY = 5000  # pages learnt by reextract between two compactions of its store
_NONE = "-" * 16  # a paragraph without fingerprint (a long one) in a packed list


def store_name(outlet: str, language: str | None) -> str:
    """Templates are learnt per outlet edition language: an edition's furniture is in its
    language and on its pages only, so its share is counted among those pages."""
    return f"{outlet}/{language or 'und'}"


class Persistence(Protocol):
    """Where template stores live between runs (``archive.state.templates.StateTemplates``
    keeps them with the crawl state; the corpus stage does not import the state stage)."""

    def load(self, name: str) -> TemplateStore: ...

    def save(self, name: str, store: TemplateStore) -> TemplateStore: ...


class TemplatePass:
    """Learn from and clean one outlet's records; ``extra`` travels with each record."""

    def __init__(self, outlet: OutletConfig, persistence: Persistence | None = None,
                 stores: dict[str, TemplateStore] | None = None):
        self.outlet = outlet
        self.persistence = persistence
        self.stores: dict[str, TemplateStore] = dict(stores or {})  # language -> store
        self.allow = template_allowlist(outlet)
        self.held: dict[str, list[tuple[dict[str, Any], list[str | None], Any]]] = {}
        self.removed_blocks = 0
        self.cleaned_records = 0

    def store(self, language: str) -> TemplateStore:
        if language not in self.stores:
            if self.persistence is None:
                self.stores[language] = TemplateStore()
                return self.stores[language]
            try:
                self.stores[language] = self.persistence.load(
                    store_name(self.outlet.name, language))
            except Exception as exc:  # noqa: BLE001 - the run learns from scratch instead
                logger.warning("could not load the template store of %s: %s",
                               self.outlet.name, exc)
                self.stores[language] = TemplateStore()
        return self.stores[language]

    def warm(self, language: str) -> bool:
        return self.store(language).pages >= WARM_PAGES

    def accept(self, record: dict[str, Any], fingerprints: list[str | None],
               extra: Any = None) -> list[tuple[dict[str, Any], Any]]:
        """Learn from ``record``; the records that may be written now (possibly none)."""
        language = record.get("language") or "und"
        store = self.store(language)
        learn_record(store, record, fingerprints)
        if len(store.pending) >= SAVE_EVERY:
            self.save(language)
        self.held.setdefault(language, []).append((record, fingerprints, extra))
        return self._release(language) if self.warm(language) else []

    def finish(self) -> list[tuple[dict[str, Any], Any]]:
        """Save the stores and release every record still held."""
        released = []
        for language in list(self.stores):
            self.save(language)
            released += self._release(language)
        return released

    def save(self, language: str) -> None:
        """Persist what was learnt; a state that cannot take it costs the learning of this
        run, never its records."""
        if self.persistence is None:
            self.stores[language].pending = []
            self.stores[language].compact()
            return
        try:
            self.stores[language] = self.persistence.save(
                store_name(self.outlet.name, language), self.stores[language])
            self.stores[language].compact()
        except Exception as exc:  # noqa: BLE001 - sqlite3/redis errors alike
            logger.warning("could not save the template store of %s: %s", self.outlet.name,
                           exc)

    def _release(self, language: str) -> list[tuple[dict[str, Any], Any]]:
        from archive.extract.article import content_sha256

        released = []
        store = self.stores[language]
        for record, fingerprints, extra in self.held.pop(language, []):
            if apply_to_record(record, fingerprints, store, self.allow):
                record["content_sha256"] = content_sha256(record.get("title"), record["text"])
                self.removed_blocks += record["extractor"]["options"]["removed_blocks"]
                self.cleaned_records += 1
            released.append((record, extra))
        return released


def learn_fields(record: dict[str, Any], fingerprints: list[str | None]) -> dict[str, Any]:
    """What the template store learns from a record (small enough to cross processes)."""
    return {"language": record.get("language"),
            "section": record.get("section"), "published": record.get("published"),
            "fetched_at": record.get("fetched_at"), "fingerprints": fingerprints}


class StagedTemplates:
    """``reextract``'s template pass: learn from every record of the outlet first (the
    whole corpus: the store is as warm as it can be, and the result does not depend on
    the order of the WARCs), then clean the staged records in one pass over the file."""

    def __init__(self, outlet: OutletConfig):
        self.stores: dict[str, TemplateStore] = {}  # language -> store
        self.allow = template_allowlist(outlet)
        # (id, version) -> (language, fingerprints packed in one string, 16 characters each):
        # a corpus of 100,000 articles keeps a few tens of MB, not millions of small strings
        self.fingerprints: dict[tuple[str, int], tuple[str, str]] = {}
        self.removed_blocks = 0

    def learn(self, record_id: str, version: int, learned: dict[str, Any]) -> None:
        fingerprints = learned.get("fingerprints") or []
        language = learned.get("language") or "und"
        self.fingerprints[(record_id, version)] = (
            language, "".join(f or _NONE for f in fingerprints))
        store = self.stores.setdefault(language, TemplateStore())
        learn_record(store, {"id": record_id, **learned}, fingerprints)
        if store.pages % COMPACT_EVERY == 0:
            store.compact()

    def clean_staged(self, path: Path, new_sha: dict[tuple[str, int], str]) -> None:
        """Rewrite the staged JSON lines at ``path`` without template paragraphs, keeping
        ``new_sha`` (the content hashes versions chain on) in step."""
        templates = {lang: set(store.templates()) for lang, store in self.stores.items()}
        if not any(templates.values()) or not path.exists():
            return
        from archive.extract.article import content_sha256  # trafilatura: only when needed

        cleaned = path.with_suffix(".clean")
        with open(path, encoding="utf-8", newline="") as src, \
                open(cleaned, "w", encoding="utf-8", newline="") as out:
            for line in src:
                record = json.loads(line)
                key = (record["id"], int(record["version"]))
                language, packed = self.fingerprints.get(key, ("und", ""))
                fingerprints = [None if packed[i:i + 16] == _NONE else packed[i:i + 16]
                                for i in range(0, len(packed), 16)]
                if templates.get(language, set()).intersection(
                        f for f in fingerprints if f) and apply_to_record(
                        record, fingerprints, self.stores[language], self.allow):
                    record["content_sha256"] = content_sha256(record.get("title"),
                                                              record["text"])
                    new_sha[key] = record["content_sha256"]
                    self.removed_blocks += len(
                        record["extractor"]["options"]["removed_fingerprints"])
                    line = encode_record(record)
                out.write(line)
        os.replace(cleaned, path)
