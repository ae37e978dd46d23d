"""The template post-pass over a stream of corpus records (crawl and ``reextract``).

Every record teaches the outlet's template store (``archive.extract.templates``) its
paragraph fingerprints; template paragraphs are then removed from it, without parsing the
page again.  Cold start: while the store has seen fewer than ``WARM_PAGES`` pages, records
are held back, and released (cleaned by what the run's own pages taught) once it is warm
or when the run ends, so no record is written before the store could know its furniture.
"""

from __future__ import annotations

from typing import Any

from archive.extract.article import content_sha256
from archive.extract.templates import (
    TemplateStore,
    apply_to_record,
    learn_record,
    template_allowlist,
)
from archive.outlet.config import OutletConfig
from archive.state.templates import load_templates, save_templates

WARM_PAGES = 20  # pages the store must have seen before records pass straight through
SAVE_EVERY = 50  # learnt pages between two saves of the store


class TemplatePass:
    """Learn from and clean one outlet's records; ``extra`` travels with each record."""

    def __init__(self, outlet: OutletConfig, state: Any = None,
                 store: TemplateStore | None = None):
        self.outlet = outlet
        self.state = state
        self.store = store if store is not None else load_templates(state, outlet.name)
        self.allow = template_allowlist(outlet)
        self.held: list[tuple[dict[str, Any], list[str | None], Any]] = []
        self.removed_blocks = 0
        self.cleaned_records = 0

    @property
    def warm(self) -> bool:
        return self.store.pages >= WARM_PAGES

    def accept(self, record: dict[str, Any], fingerprints: list[str | None],
               extra: Any = None) -> list[tuple[dict[str, Any], Any]]:
        """Learn from ``record``; the records that may be written now (possibly none)."""
        learn_record(self.store, record, fingerprints)
        if len(self.store.pending) >= SAVE_EVERY:
            self.save()
        self.held.append((record, fingerprints, extra))
        return self._release() if self.warm else []

    def finish(self) -> list[tuple[dict[str, Any], Any]]:
        """Save the store and release every record still held."""
        self.save()
        return self._release()

    def save(self) -> None:
        self.store = save_templates(self.state, self.outlet.name, self.store)

    def _release(self) -> list[tuple[dict[str, Any], Any]]:
        released = []
        for record, fingerprints, extra in self.held:
            if apply_to_record(record, fingerprints, self.store, self.allow):
                record["content_sha256"] = content_sha256(record.get("title"), record["text"])
                self.removed_blocks += record["extractor"]["options"]["removed_blocks"]
                self.cleaned_records += 1
            released.append((record, extra))
        self.held = []
        return released
