"""Restore the blocks precision mode dropped *between* two kept paragraphs, from the DOM.

trafilatura's precision pass drops link-rich list items, short question/answer lines and
quote boxes in the middle of a body.  Earlier versions ran trafilatura a second time in its
default mode to find them (twice the cost); here the page's own leaf blocks
(``archive.extract.blocks``) say what sits between two kept paragraphs, so one trafilatura
pass is enough.  Guards: only short gaps, or a run of list/Q&A items; never furniture
containers (captions, share bars, boxes), never runs of link lines; nothing before the
first kept paragraph.

After the last kept paragraph two repairs work on the same block view (``tail_fill``):
sidebar widgets that precision mode kept after the body are cut (blocks inside furniture
containers the body's own blocks are not in), and closing lines precision mode dropped
("Additional reporting by ...", a last product line) come back when they sit in the
body's own container, in the same kind of containers as the body, and are not a run of
links.  Measured on the evaluation set (``bench/extract_eval.py``): precision mode deletes
every small linked ``div`` at the end of an article, the credit line with it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml.html import HtmlElement

from archive.extract.blocks import Block, furniture_marks, key_of, weight

MAX_GAP = 3  # longest run of ordinary blocks restored between two kept paragraphs
MAX_ITEMS = 20  # longest run of list or Q&A items restored (plus up to MAX_GAP others)
MAX_LINK_SHARE = 0.5  # a block mostly made of link text is a link...
MAX_LINK_BLOCKS = 1  # ...and a run with more than this many such blocks is a link box
ENTRY_MIN_WORDS = 4  # a linked list/Q&A entry with this many words is text, not a link
CREDIT_MAX = 120  # a short block with a copyright sign is an image credit
STRAY_WEIGHT = 6  # a closing block lighter than this is a stray word, not a line of text
MAX_TAIL = 15  # most blocks restored after the last kept paragraph (and no more text than
# the kept text: a closing section, not a second article)


_QA_RE = re.compile(r"^(?:q|a|f|question|answer|frage|antwort|pregunta|respuesta|réponse)"
                    r"\s*[:.)]|\?$", re.IGNORECASE)


@lru_cache(maxsize=512)
def _paragraph_key(paragraph: str) -> str:
    """Key of a kept paragraph (cached: the interior and the tail repair both place it)."""
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


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement | None:
    """The lowest element that holds all of ``elements``."""
    if not elements:
        return None
    chain = [elements[0], *elements[0].iterancestors()]
    depth = {id(node): index for index, node in enumerate(chain)}
    lowest = 0
    for element in elements[1:]:
        for node in (element, *element.iterancestors()):
            if id(node) in depth:
                lowest = max(lowest, depth[id(node)])
                break
        else:
            return None
    return chain[lowest]


def _inside(element: HtmlElement, container: HtmlElement) -> bool:
    return any(node is container for node in element.iterancestors())


def _tail_link(block: Block) -> bool:
    """After the body even a linked list entry with words is a link ("More from us")."""
    return block.link_share > MAX_LINK_SHARE


def _lone_link(block: Block, run: list[Block]) -> bool:
    """A link line that does not share its parent with a line of text of ``run`` (a badge,
    a "next page" or "read also" link closing the body, not a line of a product list)."""
    return _tail_link(block) and not any(
        b.parent is block.parent for b in run if not _tail_link(b) and not b.tag.startswith("h"))


def _weight(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs)


def tail_fill(paragraphs: list[str], blocks: list[Block]) -> tuple[list[str], int]:
    """Cut trailing sidebar widgets, restore dropped closing lines: (paragraphs, added).

    "The body's kind of container" is the set of furniture words in the class names between
    the first kept block and the body container (page builders call every text box a
    "widget"): a later block with a furniture word the body's first block does not have is
    not body text.
    """
    pairs = _positions(paragraphs, blocks)
    if len(pairs) < 2 or pairs[-1][0] != len(paragraphs) - 1:
        return paragraphs, 0  # the text does not end on a block the DOM can place
    container = _common_ancestor([blocks[b].element for _, b in pairs])
    if container is None or container.tag in ("html", "body"):
        return paragraphs, 0
    body_marks = furniture_marks(blocks[pairs[0][1]].element, container)
    cut = len(pairs)
    while cut > 1 and not furniture_marks(blocks[pairs[cut - 1][1]].element,
                                          container) <= body_marks:
        cut -= 1
    if cut < len(pairs):  # a sidebar widget after the body, if it is the lesser part
        start = pairs[cut][0]  # unplaced text before the widget's first block stays
        if _weight(paragraphs[start:]) < _weight(paragraphs[:start]):
            return paragraphs[:start], 0
        return paragraphs, 0
    last = blocks[pairs[-1][1]].element
    # the <article> or <main> that holds the body's last block, if any, is where it ends
    bound = next((a for a in last.iterancestors("article", "main") if _inside(a, container)
                  or a is container), container)
    run: list[Block] = []
    for block in blocks[pairs[-1][1] + 1:pairs[-1][1] + 1 + MAX_TAIL]:
        if not _inside(block.element, bound):
            break
        if not furniture_marks(block.element, container) <= body_marks or (
                len(block.text) < CREDIT_MAX and "©" in block.text):
            return paragraphs, 0  # the body's container goes on with furniture
        if _tail_link(block) and run and _tail_link(run[-1]):
            run = run[:-1]  # two links in a row: a list of links starts, the text ended
            break
        run.append(block)
    run = [b for b in run if not _lone_link(b, run)]
    while run and (run[-1].tag.startswith("h") or weight(run[-1].text) < STRAY_WEIGHT):
        run.pop()  # a heading with nothing under it, a stray word (a source code)
    if _weight([b.text for b in run]) > _weight(paragraphs):
        return paragraphs, 0
    return paragraphs + [f"- {b.text}" if b.tag == "li" else b.text for b in run], len(run)
