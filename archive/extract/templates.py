"""Per-outlet template learning: blocks that recur across an outlet's pages are furniture.

A block's fingerprint is its element path without indices (``body>div>aside>p``) plus its
text with digits and month names masked, so "Last updated 3 May" and "Last updated 9 June"
in the same place are one block.  A fingerprint is template when it was seen on at least
``MIN_PAGES`` pages and on ``SHARE`` of the outlet's pages, from at least two sections and
two days (a block that recurs only within one section's day is news, not furniture), and
at one steady place in the text on most of them (the third paragraph, the last but one):
a background sentence that a story series repeats moves around, furniture has a slot.

Guards (a wrong rule must never cost text): the lead paragraph and long blocks are never
dropped (the headline is not in the text), a per-outlet allowlist of regexes keeps
recurring content (correction notices, wire credits), and every removal is listed in the
result (count and fingerprints) so records say what was taken out; re-extraction with the
store cleared brings it back, from the WARC.

The store is plain data (``to_dict``/``from_dict``); ``archive.state.templates``
persists it with the outlet's state.  Why not trafilatura's ``deduplicate``: it drops only
exact blocks over 100 characters after three sightings in one process, so its output
depends on processing order and it never removes a dated stamp.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from archive.extract.blocks import Block, key_of
from archive.extract.dates import MONTHS
from archive.extract.pageids import PageIds

MIN_PAGES = 4  # a fingerprint seen on fewer pages is never template
SHARE = 0.3  # ...nor one seen on a smaller share of the outlet's pages
MIN_SECTIONS = 2
MIN_DAYS = 2
ANCHOR_SPAN = 6  # places are counted among this many paragraphs from either end
ANCHOR_SHARE = 0.6  # a template block holds one place on at least this share of its pages
MAX_ENTRIES = 50_000  # fingerprints kept before the single sightings are dropped
MAX_IDS = 200_000  # page ids kept (to learn each page once)
LONG_BLOCK = 300  # a block this long is never dropped
LEAD_MIN = 100  # the first paragraph at least this long is the lead: never dropped
_DIGITS_RE = re.compile(r"\d+")
_MONTHS_RE = re.compile(r"\b(?:" + "|".join(sorted((re.escape(m) for m in MONTHS),
                                                   key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")


def mask(text: str) -> str:
    """Text with digits and month names masked: dated variants of one block compare equal."""
    text = text.casefold()
    if _DIGITS_RE.search(text):  # month names only matter in dates, and dates have digits
        text = _DIGITS_RE.sub("0", _MONTHS_RE.sub("M", text))
    return _SPACE_RE.sub(" ", text).strip()


def element_path(block: Block | None, cache: dict | None = None) -> str:
    """Tag path from ``body`` to the block, without indices (``?`` when not in the DOM).
    ``cache`` maps a parent element to its path, for the blocks of one page."""
    if block is None:
        return "?"
    parent = block.element.getparent()
    if cache is not None and parent in cache:
        return f"{cache[parent]}>{block.tag}"
    tags = []
    for ancestor in block.element.iterancestors():
        if ancestor.tag in ("body", "html"):
            break
        tags.append(str(ancestor.tag))
    prefix = ">".join(reversed(tags))
    if cache is not None and parent is not None:
        cache[parent] = prefix
    return f"{prefix}>{block.tag}" if prefix else block.tag


def fingerprint(path: str, text: str) -> str:
    return hashlib.sha1(f"{path}|{mask(text)}".encode()).hexdigest()[:16]


def page_fingerprints(paragraphs: list[str], blocks: list[Block]) -> list[str | None]:
    """One fingerprint per paragraph; None for long ones (never template)."""
    by_key: dict[str, Block] = {}
    for block in blocks:
        by_key.setdefault(block.key, block)
    result: list[str | None] = []
    paths: dict = {}
    for paragraph in paragraphs:
        text = paragraph.removeprefix("- ")
        if len(text) >= LONG_BLOCK:
            result.append(None)
            continue
        result.append(fingerprint(element_path(by_key.get(key_of(text)), paths), text))
    return result


@dataclass
class Seen:
    pages: int = 0
    sections: set[str] = field(default_factory=set)
    days: set[str] = field(default_factory=set)
    anchors: dict[str, int] = field(default_factory=dict)  # "s2" 3rd from start, "e0" last

    @property
    def steady(self) -> bool:
        """Seen at one place in the text (counted from the start or the end) on most pages:
        furniture has a slot in the template; a recurring background sentence wanders."""
        return max(self.anchors.values(), default=0) >= ANCHOR_SHARE * self.pages


def anchors_of(fingerprints: list[str | None]) -> dict[str, list[str]]:
    """fingerprint -> its places among the first and last ``ANCHOR_SPAN`` paragraphs."""
    places: dict[str, list[str]] = {}
    total = len(fingerprints)
    for index, fp in enumerate(fingerprints):
        if not fp:
            continue
        if index < ANCHOR_SPAN:
            places.setdefault(fp, []).append(f"s{index}")
        if total - 1 - index < ANCHOR_SPAN:
            places.setdefault(fp, []).append(f"e{total - 1 - index}")
    return places


@dataclass
class TemplateStore:
    """What one outlet's pages have in common (see the module docstring).

    ``pending`` lists the pages learnt since the store was loaded, so that a save can merge
    them into a store another worker changed meanwhile (``merged_into``).
    """

    pages: int = 0
    seen: dict[str, Seen] = field(default_factory=dict)
    page_ids: PageIds = field(default_factory=PageIds)  # learn each article once
    pending: list[tuple[str, dict[str, list[str]], str | None, str | None]] = field(
        default_factory=list)

    def learn(self, page_id: str, fingerprints: list[str | None], section: str | None,
              day: str | None) -> bool:
        """Count one page's fingerprints (once per page, whatever its repeats)."""
        if page_id in self.page_ids:
            return False
        places = {fp: [] for fp in fingerprints if fp} | anchors_of(fingerprints)
        self._count(page_id, places, section, day)
        self.pending.append((page_id, places, section, day))
        return True

    def _count(self, page_id: str, places: dict[str, list[str]], section: str | None,
               day: str | None) -> None:
        self.page_ids.add(page_id)
        self.pages += 1
        for fp, where in places.items():
            entry = self.seen.setdefault(fp, Seen())
            entry.pages += 1
            for place in set(where):
                entry.anchors[place] = entry.anchors.get(place, 0) + 1
            if section:
                entry.sections.add(section)
            if day:
                entry.days.add(day)

    def merged_into(self, stored: TemplateStore) -> TemplateStore:
        """``stored`` plus this store's pending pages (those it does not know yet)."""
        for page_id, places, section, day in self.pending:
            if page_id not in stored.page_ids:
                stored._count(page_id, places, section, day)
        return stored

    def compact(self, max_entries: int = MAX_ENTRIES, max_ids: int = MAX_IDS) -> None:
        """Bound the store: most fingerprints are content seen once, and stay so.  Beyond
        ``max_entries`` those seen on a single page are forgotten (a template recurs long
        before the next compaction); beyond ``max_ids`` half of the page ids goes
        (a page learnt again counts in one section only, which no template rule accepts)."""
        if len(self.seen) > max_entries:
            self.seen = {fp: s for fp, s in self.seen.items() if s.pages > 1}
        if len(self.page_ids) > max_ids:
            self.page_ids.keep_half()

    def is_template(self, fp: str | None) -> bool:
        entry = self.seen.get(fp) if fp else None
        return (entry is not None and entry.pages >= MIN_PAGES
                and entry.pages >= SHARE * self.pages and len(entry.sections) >= MIN_SECTIONS
                and len(entry.days) >= MIN_DAYS and entry.steady)

    def templates(self) -> list[str]:
        return sorted(fp for fp in self.seen if self.is_template(fp))

    def to_dict(self) -> dict[str, Any]:
        return {"pages": self.pages, "page_digests": self.page_ids.to_text(),
                "seen": {fp: [s.pages, sorted(s.sections), sorted(s.days), s.anchors]
                         for fp, s in self.seen.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemplateStore:
        page_ids = (PageIds.from_text(data["page_digests"]) if "page_digests" in data
                    else PageIds.from_ids(data.get("page_ids", [])))  # saved before 8-byte ids
        return cls(pages=int(data.get("pages", 0)), page_ids=page_ids,
                   seen={fp: Seen(v[0], set(v[1]), set(v[2]), dict(v[3]) if len(v) > 3 else {})
                         for fp, v in (data.get("seen") or {}).items()})


def template_allowlist(outlet: Any) -> list[re.Pattern]:
    """The outlet's recurring content that is never removed (YAML ``template_allow``)."""
    rules = outlet.extra.get("template_allow") if outlet is not None else None
    return [re.compile(r) for r in rules if isinstance(r, str)] if isinstance(rules, list) else []


def apply(paragraphs: list[str], fingerprints: list[str | None], store: TemplateStore,
          allow: list[re.Pattern] | None = None
          ) -> tuple[list[str], list[str | None], list[str]]:
    """Drop template paragraphs under the guards: (kept, their fingerprints, removed ones)."""
    lead = next((i for i, p in enumerate(paragraphs) if len(p) >= LEAD_MIN), None)
    kept: list[str] = []
    kept_fps: list[str | None] = []
    removed: list[str] = []
    for index, (paragraph, fp) in enumerate(zip(paragraphs, fingerprints, strict=True)):
        if (fp and index != lead and len(paragraph) < LONG_BLOCK and store.is_template(fp)
                and not any(r.search(paragraph) for r in allow or ())):
            removed.append(fp)
            continue
        kept.append(paragraph)
        kept_fps.append(fp)
    return kept, kept_fps, removed


def learn_record(store: TemplateStore, record: dict[str, Any],
                 fingerprints: list[str | None]) -> bool:
    """Learn from a corpus record: its id, section and publication day."""
    published = record.get("published") or ""
    return store.learn(record["id"], fingerprints, record.get("section") or "",
                       published[:10] or (record.get("fetched_at") or "")[:10] or None)


def apply_to_record(record: dict[str, Any], fingerprints: list[str | None],
                    store: TemplateStore, allow: list[re.Pattern] | None = None) -> bool:
    """Remove template paragraphs from a built record in place (a post-pass: no re-parse).

    Keeps ``word_count`` and ``extractor.options`` (``removed_blocks`` and
    ``removed_fingerprints``) in step; the caller recomputes the content hash.
    Returns True when something was removed.
    """
    paragraphs = record["text"].split("\n\n")
    if len(paragraphs) != len(fingerprints):
        return False  # not from this extractor's paragraphs: leave it alone
    kept, _, removed = apply(paragraphs, fingerprints, store, allow)
    if not removed or not kept:
        return False
    record["text"] = "\n\n".join(kept)
    record["word_count"] = len(record["text"].split())
    extractor = dict(record.get("extractor") or {})
    options = dict(extractor.get("options") or {})
    options["removed_blocks"] = options.get("removed_blocks", 0) + len(removed)
    options["removed_fingerprints"] = [*options.get("removed_fingerprints", []), *removed]
    extractor["options"] = options
    record["extractor"] = extractor
    return True
