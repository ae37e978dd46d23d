"""The template post-pass over a stream of corpus records (crawl and ``reextract``).

Every record teaches the outlet's template store (``archive.extract.templates``) its
paragraph fingerprints; template paragraphs are then removed from it, without parsing the
page again.  Cold start: while the store has seen fewer than ``WARM_PAGES`` pages, records
are held back, and released (cleaned by what the run's own pages taught) once it is warm
or when the run ends.  A store that has seen fewer than ``SETTLED_PAGES`` pages may still
learn a template later in the run, so the records it cleaned are marked
(``extractor.options.template_pages``: the pages the store had seen) and kept, uncleaned,
until the run ends; ``reclean`` then cleans them again from their full text with what the
whole run taught, so the texts of a run do not depend on its fetch order.

Every record carries its paragraph fingerprints (``extractor.options.fingerprints``, one per
paragraph of the text before removal, null for long ones): the state's template stores are
rebuilt from the corpus alone, and ``reextract`` reads them back from its staged lines.  A
cleaned record also carries ``source_sha256``, the content hash before removal: change
detection compares on it, so a template learnt later never makes an unchanged page an edit.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
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
SETTLED_PAGES = 200  # records cleaned by a store of fewer pages are cleaned again at run end
SAVE_EVERY = 50  # learnt pages between two saves of the store
COMPACT_EVERY = 5000  # pages learnt from a whole corpus between two compactions


def store_name(outlet: str, language: str | None) -> str:
    """Templates are learnt per outlet edition language: an edition's furniture is in its
    language and on its pages only, so its share is counted among those pages."""
    return f"{outlet}/{language or 'und'}"


class Persistence(Protocol):
    """Where template stores live between runs (``archive.state.templates.StateTemplates``
    keeps them with the crawl state; the corpus stage does not import the state stage)."""

    def load(self, name: str) -> TemplateStore: ...

    def save(self, name: str, store: TemplateStore) -> TemplateStore: ...

    def replace(self, name: str, store: TemplateStore) -> None: ...

    def mark_unsettled(self, name: str, records: list[tuple[str, int]]) -> None: ...

    def unsettled(self, name: str) -> list[tuple[str, int]]: ...

    def settle(self, name: str, records: list[tuple[str, int]]) -> None: ...


def options_of(record: dict[str, Any]) -> dict[str, Any]:
    """The record's ``extractor.options``, copied so it can be changed (records built by
    one extractor share its ``EXTRACTOR_INFO``)."""
    extractor = dict(record.get("extractor") or {})
    extractor["options"] = dict(extractor.get("options") or {})
    record["extractor"] = extractor
    return extractor["options"]


def stamp(record: dict[str, Any], fingerprints: list[str | None]) -> None:
    """Keep the paragraph fingerprints of the full text in the record (before removal)."""
    if fingerprints:
        options_of(record)["fingerprints"] = list(fingerprints)


def fingerprints_of(record: dict[str, Any]) -> list[str | None]:
    """The fingerprints ``stamp`` kept ([] for records from before them)."""
    kept = ((record.get("extractor") or {}).get("options") or {}).get("fingerprints")
    return list(kept) if isinstance(kept, list) else []


def source_sha256(record: dict[str, Any]) -> str | None:
    """The content hash of the text before template removal: what change detection
    compares, whatever the template store knew when the record was cleaned."""
    options = (record.get("extractor") or {}).get("options") or {}
    return options.get("source_sha256") or record.get("content_sha256")


def clean(record: dict[str, Any], fingerprints: list[str | None], store: TemplateStore,
          allow: list) -> bool:
    """``apply_to_record`` plus the hashes: True when something was removed."""
    from archive.extract.article import content_sha256  # trafilatura: only when needed

    source = source_sha256(record)
    if not apply_to_record(record, fingerprints, store, allow):
        return False
    options_of(record)["source_sha256"] = source
    record["content_sha256"] = content_sha256(record.get("title"), record["text"])
    return True


TEMPLATE_OPTIONS = ("source_sha256", "removed_blocks", "removed_fingerprints",
                    "removed_paragraphs", "template_pages")  # what the pass writes


def restore(record: dict[str, Any]) -> dict[str, Any] | None:
    """A copy of an unsettled record as it was before template removal (its removed
    paragraphs put back where they were), or None when it does not say what was removed."""
    options = (record.get("extractor") or {}).get("options") or {}
    removed = options.get("removed_paragraphs", [])
    if "template_pages" not in options or not isinstance(removed, list):
        return None
    paragraphs = record["text"].split("\n\n")
    for index, paragraph in sorted(removed):
        paragraphs.insert(index, paragraph)
    text = "\n\n".join(paragraphs)
    restored = {**record, "text": text, "word_count": len(text.split()),
                "content_sha256": source_sha256(record)}
    kept = options_of(restored)
    for name in TEMPLATE_OPTIONS:
        kept.pop(name, None)
    return restored


def _removed(record: dict[str, Any]) -> int:
    """The template blocks removed from ``record`` (0 when none or not cleaned)."""
    options = (record.get("extractor") or {}).get("options") or {}
    return int(options.get("removed_blocks") or 0)


def _removed_at(before: list[str], after: list[str]) -> list[list[Any]]:
    """[index, paragraph] of the paragraphs of ``before`` that ``after`` lacks (``after``
    keeps the order of ``before``)."""
    removed, kept = [], 0
    for index, paragraph in enumerate(before):
        if kept < len(after) and after[kept] == paragraph:
            kept += 1
        else:
            removed.append([index, paragraph])
    return removed


class TemplatePass:
    """Learn from and clean one outlet's records; ``extra`` travels with each record.

    ``reader`` yields the corpus records of the given (id, version) pairs: the records of
    earlier runs (or of a run that died) still unsettled are cleaned again at the end of
    the run too, so none stays dirty once the store has learnt its furniture."""

    def __init__(self, outlet: OutletConfig, persistence: Persistence | None = None,
                 stores: dict[str, TemplateStore] | None = None,
                 reader: Callable[[set[tuple[str, int]]], Iterable[dict[str, Any]]]
                 | None = None):
        self.outlet = outlet
        self.persistence = persistence
        self.reader = reader
        self.stores: dict[str, TemplateStore] = dict(stores or {})  # language -> store
        self.allow = template_allowlist(outlet)
        self.held: dict[str, list[tuple[dict[str, Any], list[str | None], Any]]] = {}
        # records of this run cleaned by a store that was not settled: id -> (record, extra)
        self.unsettled: dict[str, tuple[dict[str, Any], Any]] = {}
        self.removed_blocks = 0  # template blocks removed from the records written
        self.removing: dict[str, int] = {}  # id -> blocks removed, until written/forgotten
        self.cleaned_records = 0
        self.recleaned_records = 0
        self.drop_lost = False  # see ``reclean``
        self.lost_marks = 0

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
        stamp(record, fingerprints)
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

    def written(self, record: dict[str, Any]) -> None:
        """``record`` was written: when unsettled, the state remembers it (by id and
        version) until a settled store cleaned it, whatever becomes of this run."""
        self.removed_blocks += self.removing.pop(record["id"], 0)
        if record["id"] not in self.unsettled:
            return
        self._call("mark_unsettled", record.get("language") or "und",
                   [(record["id"], int(record["version"]))])

    def forget(self, record_id: str) -> None:
        """The record was not written (unchanged, refused): nothing to clean again."""
        self.unsettled.pop(record_id, None)
        self.removing.pop(record_id, None)

    def reclean(self) -> list[tuple[dict[str, Any], Any]]:
        """The unsettled records of this run and of earlier ones, cleaned again from their
        full text with what the stores know now, where that changes their text (after
        ``finish``).  Each keeps its id, version and history; it replaces the record of
        the same (id, version) (a later line, a newer generation).  Marks are dropped only
        for records a settled store cleaned (or that a newer generation left unmarked):
        another worker's records of this run, not in the corpus yet, keep theirs.  When
        ``drop_lost`` (set by a run that is the outlet's only writer, with nothing of the
        outlet's corpus waiting for upload), a mark of an earlier run whose record the
        corpus lacks is for a lost record (its spool file gone, never recovered): it is
        dropped and counted (``lost_marks``) instead of being looked for forever."""
        changed = []
        mine = {(r["id"], int(r.get("version") or 1)) for r, _ in self.unsettled.values()}
        earlier: dict[str, set[tuple[str, int]]] = {}  # language -> marks of earlier runs
        for language in configured_languages(self.outlet):  # met by this run or not
            self.store(language)
        for language in list(self.stores):
            earlier[language] = set(self._call("unsettled", language) or ()) - mine
        wanted = set().union(*earlier.values())
        found = list(self.reader(wanted)) if wanted and self.reader is not None else []
        settled: dict[str, list[tuple[str, int]]] = {}
        if self.drop_lost and self.reader is not None:  # marks no corpus record answers
            present = {(r["id"], int(r.get("version") or 1)) for r in found}
            for language, marks in earlier.items():
                lost = sorted(marks - present)
                if lost:
                    settled[language] = lost
                    self.lost_marks += len(lost)
        for record, extra in [*self.unsettled.values(), *((r, None) for r in found)]:
            language = record.get("language") or "und"
            store = self.stores.get(language)
            full = restore(record)
            if full is None or (store is not None and store.pages >= SETTLED_PAGES):
                settled.setdefault(language, []).append(
                    (record["id"], int(record.get("version") or 1)))
            if full is None or store is None:
                continue
            self._clean(full, fingerprints_of(full), store)
            if full["text"] != record["text"]:
                self.recleaned_records += 1
                self.removed_blocks += _removed(full) - _removed(record)
                changed.append((full, extra))
        for language, records in settled.items():
            self._call("settle", language, records)
        self.unsettled = {}
        return changed

    def _clean(self, record: dict[str, Any], fingerprints: list[str | None],
               store: TemplateStore) -> bool:
        before = record["text"].split("\n\n")
        cleaned = clean(record, fingerprints, store, self.allow)
        if store.pages < SETTLED_PAGES:  # what a later, warmer store needs to clean again
            options = options_of(record)
            options["template_pages"] = store.pages
            options["removed_paragraphs"] = _removed_at(before, record["text"].split("\n\n"))
        return cleaned

    def _call(self, method: str, language: str, *args: Any) -> Any:
        """A persistence call that may fail: the state keeping no marks costs the cleaning
        of earlier runs' records, never this run's."""
        call = getattr(self.persistence, method, None)
        if call is None:
            return None
        try:
            return call(store_name(self.outlet.name, language), *args)
        except Exception as exc:  # noqa: BLE001 - sqlite3/redis errors alike
            logger.warning("template store of %s: %s failed: %s", self.outlet.name, method,
                           exc)
            return None

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
        released = []
        store = self.stores[language]
        for record, fingerprints, extra in self.held.pop(language, []):
            if self._clean(record, fingerprints, store):
                # counted once written (``written``): an unchanged page is not
                self.removing[record["id"]] = record["extractor"]["options"]["removed_blocks"]
                self.cleaned_records += 1
            if store.pages < SETTLED_PAGES:
                self.unsettled[record["id"]] = (record, extra)
            released.append((record, extra))
        return released


def configured_languages(outlet: OutletConfig) -> list[str]:
    """The languages the outlet's YAML names (``language``, editions'): their marks are
    looked at even by a run that met no page in them."""
    named = [outlet.language, *(edition.language for edition in outlet.editions)]
    return sorted({language for language in named if language})


def learn_whole(stores: dict[str, TemplateStore], record: dict[str, Any],
                fingerprints: list[str | None]) -> bool:
    """Learn ``record`` into the store of its language among ``stores``, for stores
    learnt from a whole corpus and saved whole at the end (``reextract``, ``state
    rebuild``): nothing is kept pending for a merge, and they are compacted as they grow."""
    store = stores.setdefault(record.get("language") or "und", TemplateStore())
    learnt = learn_record(store, record, fingerprints)
    store.pending = []
    if learnt and store.pages % COMPACT_EVERY == 0:
        store.compact()
    return learnt


def learn_fields(record: dict[str, Any], fingerprints: list[str | None]) -> dict[str, Any]:
    """What the template store learns from a record (small enough to cross processes)."""
    return {"language": record.get("language"),
            "section": record.get("section"), "published": record.get("published"),
            "fetched_at": record.get("fetched_at"), "fingerprints": fingerprints}


class StagedTemplates:
    """``reextract``'s template pass: learn from every record of the outlet first (the
    whole corpus: the store is as warm as it can be, and the result does not depend on
    the order of the WARCs), then clean the staged records in one pass over the file.
    The fingerprints of each record travel in its staged line (``stamp``), on disk: memory
    holds the stores, never a per-record table."""

    def __init__(self, outlet: OutletConfig, persistence: Persistence | None = None):
        self.outlet = outlet
        self.persistence = persistence
        self.stores: dict[str, TemplateStore] = {}  # language -> store
        self.allow = template_allowlist(outlet)
        self.removed_blocks = 0

    def learn(self, record_id: str, version: int, learned: dict[str, Any]) -> None:
        learn_whole(self.stores, {"id": record_id, **learned},
                    learned.get("fingerprints") or [])  # persisted at the end: ``persist``

    def clean_staged(self, path: Path, new_sha: Any) -> None:
        """Rewrite the staged JSON lines at ``path`` without template paragraphs, keeping
        ``new_sha`` (the content hashes versions chain on, by (id, version)) in step."""
        templates = {lang: set(store.templates()) for lang, store in self.stores.items()}
        if not any(templates.values()) or not path.exists():
            return
        cleaned = path.with_suffix(".clean")
        with open(path, encoding="utf-8", newline="") as src, \
                open(cleaned, "w", encoding="utf-8", newline="") as out:
            for line in src:
                record = json.loads(line)
                language = record.get("language") or "und"
                fingerprints = fingerprints_of(record)
                if templates.get(language, set()).intersection(
                        f for f in fingerprints if f) and clean(
                        record, fingerprints, self.stores[language], self.allow):
                    new_sha[(record["id"], int(record["version"]))] = record["content_sha256"]
                    self.removed_blocks += len(
                        record["extractor"]["options"]["removed_fingerprints"])
                    line = encode_record(record)
                out.write(line)
        os.replace(cleaned, path)

    def persist(self) -> None:
        """Replace the outlet's stored template stores with what the whole corpus taught
        (the next crawl starts warm); a state that cannot take them costs nothing else."""
        if self.persistence is None:
            return
        for language, store in self.stores.items():
            try:
                store.compact()
                self.persistence.replace(store_name(self.outlet.name, language), store)
            except Exception as exc:  # noqa: BLE001 - sqlite3/redis errors alike
                logger.warning("could not save the template store of %s: %s",
                               self.outlet.name, exc)
