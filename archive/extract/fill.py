"""Restore the blocks precision mode dropped *between* two kept paragraphs, from the DOM.

trafilatura's precision pass drops link-rich list items, short question/answer lines and
quote boxes in the middle of a body.  Earlier versions ran trafilatura a second time in its
default mode to find them (twice the cost); here the page's own leaf blocks
(``archive.extract.blocks``) say what sits between two kept paragraphs, so one trafilatura
pass is enough.  Guards: only short gaps, or a run of list/Q&A items; never furniture
containers (captions, share bars, boxes), never runs of link lines; nothing before the
first or after the last kept paragraph (related links, bylines and comments live there).
"""

from __future__ import annotations

import re

from archive.extract.blocks import Block, key_of

MAX_GAP = 3  # longest run of ordinary blocks restored between two kept paragraphs
MAX_ITEMS = 20  # longest run of list or Q&A items restored (plus up to MAX_GAP others)
MAX_LINK_SHARE = 0.5  # a block mostly made of link text is a link...
MAX_LINK_BLOCKS = 1  # ...and a run with more than this many such blocks is a link box
ENTRY_MIN_WORDS = 4  # a linked list/Q&A entry with this many words is text, not a link
CREDIT_MAX = 120  # a short block with a copyright sign is an image credit


_QA_RE = re.compile(r"^(?:q|a|f|question|answer|frage|antwort|pregunta|respuesta|réponse)"
                    r"\s*[:.)]|\?$", re.IGNORECASE)


def _paragraph_key(paragraph: str) -> str:
    return key_of(paragraph[2:] if paragraph.startswith("- ") else paragraph)


def _positions(paragraphs: list[str], blocks: list[Block]) -> list[tuple[int, int]]:
    """(paragraph index, block index) pairs, increasing in both, for paragraphs that are a
    leaf block of the page verbatim."""
    where: dict[str, list[int]] = {}
    for index, block in enumerate(blocks):
        where.setdefault(block.key, []).append(index)
    pairs: list[tuple[int, int]] = []
    last = -1
    for p_index, paragraph in enumerate(paragraphs):
        for b_index in where.get(_paragraph_key(paragraph), ()):
            if b_index > last:
                pairs.append((p_index, b_index))
                last = b_index
                break
    return pairs


def _entry(block: Block) -> bool:
    """A list item or a question/answer line."""
    return block.is_item or bool(_QA_RE.search(block.text))


def _link_line(block: Block) -> bool:
    """Mostly link text, and not a list/Q&A entry with words of its own (a list of sources
    or a linked question is body; a linked headline or a tag is not)."""
    return block.link_share > MAX_LINK_SHARE and not (
        _entry(block) and len(block.text.split()) >= ENTRY_MIN_WORDS)


def _fillable(gap: list[Block]) -> bool:
    others = [b for b in gap if not _entry(b)]
    return (len(others) <= MAX_GAP and len(gap) - len(others) <= MAX_ITEMS
            and sum(1 for b in gap if _link_line(b)) <= MAX_LINK_BLOCKS)


def interior_fill(paragraphs: list[str], blocks: list[Block]) -> tuple[list[str], int]:
    """``paragraphs`` plus the page blocks that sit between two of them: (paragraphs, added).

    A gap is filled whole or not at all; list and Q&A items keep a "- " mark as trafilatura
    writes list items.
    """
    pairs = _positions(paragraphs, blocks)
    if len(pairs) < 2:
        return paragraphs, 0
    kept = {key_of(p) for p in paragraphs} | {_paragraph_key(p) for p in paragraphs}
    inserts: dict[int, list[str]] = {}
    for (p_here, b_here), (_, b_next) in zip(pairs, pairs[1:], strict=False):
        if b_next - b_here < 2:
            continue
        gap = [b for b in blocks[b_here + 1:b_next] if b.key not in kept and not b.furniture
               and not (len(b.text) < CREDIT_MAX and "©" in b.text)]
        if not gap or not _fillable(gap):
            continue  # a run of link lines is a "read also" box; one "Read more" line is text
        inserts[p_here] = [f"- {b.text}" if b.tag == "li" else b.text for b in gap]
    if not inserts:
        return paragraphs, 0
    result: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        result.append(paragraph)
        result += inserts.get(index, [])
    return result, sum(len(v) for v in inserts.values())
