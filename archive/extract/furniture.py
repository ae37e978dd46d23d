"""Furniture every outlet has, removed with no per-outlet rule: comment guidelines, share
bars, newsletter boxes, "Updated <date>" stamps.  Recurring furniture of one outlet that
no pattern knows is learnt by ``archive.extract.templates``.

Stamps are metadata, not text: a short leading or trailing "Updated/Last updated <date>"
line leaves the text and its date becomes ``modified`` ("Published <date>" leaves too, and
gives ``published`` when the page's markup has none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.extract.blocks import Block, key_of
from archive.extract.dates import find_visible_dates

SHORT = 300  # a furniture line is shorter than this
BOX_HEADING = 60  # a related-links heading is at most this long...
BOX_ITEMS = 2  # ...followed by at least this many list items that are links
STAMP_MAX = 80  # a stamp line in the page is shorter than this
# comment guidelines and forms (English, German, French, Spanish, Turkish, Arabic, Sorani,
# Kurmanji): whole short lines that speak about moderating or posting comments
_COMMENT_POLICY_RE = re.compile(
    r"moderates? (?:all )?(?:reader )?comments|comments? (?:are|is) (?:moderated|reviewed)|"
    r"(?:community|comment(?:ing)?) (?:guidelines|policy|rules)|before (?:posting|commenting)|"
    r"kommentare werden moderiert|commentaires sont modérés|comentarios (?:son|serán) moderados|"
    r"yorumlar (?:denetlenir|moderasyon)|التعليقات (?:تخضع|للمراجعة)|"
    r"کۆمێنت(?:ەکان|ێک)?[^.!?]{0,120}(?:چاودێری|پێداچوونەوە|ڕێنمایی|یاسا)|"
    r"şîrove[^.!?]{0,80}(?:tên kontrolkirin|rêbaz)",
    re.IGNORECASE)
_SHARE_RE = re.compile(
    r"^(?:share|share this(?: article| story)?|teilen|partager|compartir|paylaş|شارك|"
    r"هاوبەشی(?:\s+بکە)?|parve bike)\b(?:\s*(?:on|via|:)?\s*(?:facebook|twitter|x|whatsapp|"
    r"telegram|linkedin|email|e-mail|print|copy link)[\s,|/·•]*)*\W*$",
    re.IGNORECASE)
_NEWSLETTER_RE = re.compile(
    r"(?:sign up|subscribe|register)\b.{0,80}\bnewsletter|newsletter\b.{0,80}"
    r"\b(?:sign up|subscribe|inbox|every (?:morning|day|week))|"
    r"newsletter abonnieren|abonnez-vous à (?:notre|la) newsletter|suscríbete a",
    re.IGNORECASE)
_STAMP_RE = re.compile(
    r"^(?:last\s+)?(?:updated|modified|(?P<first>published|posted)|aktualisiert|"
    r"mis\s+à\s+jour|actualizado|güncellendi|son\s+güncelleme|آخر\s+تحديث|"
    r"دوایین\s+نوێکردنەوە|dawîn\s+nûkirin)(?:\s+(?:on|at|am|le|el))?\s*:?\s*"
    r"(?P<rest>.{4,60})$",
    re.IGNORECASE | re.DOTALL)


def is_generic_furniture(paragraph: str) -> bool:
    """A short line that is furniture on any outlet."""
    if len(paragraph) >= SHORT:
        return False
    return bool(_COMMENT_POLICY_RE.search(paragraph) or _SHARE_RE.match(paragraph)
                or _NEWSLETTER_RE.search(paragraph))


@dataclass
class Stamps:
    """Dates taken from stamp lines: the latest "Updated" one, the first "Published" one."""

    modified: str | None = None
    published: str | None = None


def take_stamps(paragraphs: list[str], order: str = "dmy", formats: list[str] | None = None,
                tz_name: str | None = None) -> tuple[list[str], Stamps]:
    """Remove leading/trailing "Updated/Published <date>" lines: (paragraphs, their dates).

    Only the first two and last two paragraphs are looked at, and only lines whose rest is
    a date that parses: "Published by the newsroom" stays text.
    """
    updated: list[str] = []
    stamps = Stamps()
    drop: set[int] = set()
    edges = {*range(min(2, len(paragraphs))), *range(max(0, len(paragraphs) - 2),
                                                        len(paragraphs))}
    for index in sorted(edges):
        match = _STAMP_RE.match(paragraphs[index].strip())
        if not match:
            continue
        dates = find_visible_dates(match["rest"], order, formats, tz_name)
        if dates:
            if match["first"]:
                stamps.published = stamps.published or dates[0][1]
            else:
                updated.append(dates[0][1])
            drop.add(index)
    stamps.modified = max(updated) if updated else None
    kept = [p for i, p in enumerate(paragraphs) if i not in drop]
    return kept, stamps


def stamp_in_blocks(blocks: list[Block], order: str = "dmy", formats: list[str] | None = None,
                    tz_name: str | None = None) -> str | None:
    """The latest "Updated <date>" stamp written anywhere in the page's own blocks (the
    text extractor often drops the stamp line, but its date is still the page's)."""
    found = []
    for block in blocks:
        if len(block.raw) > STAMP_MAX * 2:
            continue
        text = block.raw.strip()
        match = _STAMP_RE.match(text) if len(text) < STAMP_MAX else None
        if match and not match["first"] and not block.furniture:
            dates = find_visible_dates(match["rest"], order, formats, tz_name)
            if dates:
                found.append(dates[0][1])
    return max(found) if found else None


def drop_link_boxes(paragraphs: list[str], blocks: list[Block]) -> list[str]:
    """Remove "More from X" boxes anywhere in the text: a short heading without closing
    punctuation followed by list items that are links on the page (related lists)."""
    if sum(1 for p in paragraphs if p.startswith("- ")) < BOX_ITEMS:
        return paragraphs
    linked = {b.key for b in blocks if b.tag == "li" and b.link_share > 0.8}
    if not linked:
        return paragraphs
    kept: list[str] = []
    index = 0
    while index < len(paragraphs):
        paragraph = paragraphs[index]
        if (len(paragraph) <= BOX_HEADING and not paragraph.startswith("- ")
                and paragraph.rstrip()[-1:] not in ".!?;,:"):  # "Our picks:" opens text
            end = index + 1
            while (end < len(paragraphs) and paragraphs[end].startswith("- ")
                   and key_of(paragraphs[end][2:]) in linked):
                end += 1
            if end - index - 1 >= BOX_ITEMS:
                index = end
                continue
        kept.append(paragraph)
        index += 1
    return kept
