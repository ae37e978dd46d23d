"""Main text of a page as paragraphs: one trafilatura pass, a fallback ladder, and repairs.

Kept apart from ``archive.extract`` because this is the part tuned against the evaluation
set (``bench/extract_eval.py``); everything here is generic (per-site rules are outlet data:
``prune_xpaths``, ``drop_text``).  The steps, each measured on that set:

1. **precision pass** - trafilatura with ``favor_precision`` and ``fast`` (no readability /
   jusText comparison: that comparison doubles the cost and changes the result on a few
   pages only, which the ladder catches).
2. **ladder** - when the precision pass keeps too little of the page's own prose (a short
   text, or under a quarter of the main prose block seen in the DOM), trafilatura's default mode
   with its comparison runs, and its result is taken when it is clearly longer.  Which rung
   made the text is returned, and records carry it in ``extractor.options``.
3. **interior fill** - precision mode drops link-rich list items, Q&A lines and quote boxes
   in the middle of a body; the page blocks between two kept paragraphs are restored from
   the DOM (``archive.extract.fill``), or on layout-table pages from a second, fast pass
   (``archive.extract.tablefill``).
4. **closing link lists** - "More Must-Reads From X" followed by a list of linked headlines
   at the very end of the text.  (Dropping *every* link-dense paragraph was tried and lost:
   product lists and "Read more:" lines inside bodies are text to the gold annotators.)
5. **tail** - after the last kept paragraph, a sidebar widget precision mode kept is cut
   and closing lines it dropped (a credit line, the last lines of a product list) are
   restored from the body's own container (``archive.extract.fill.tail_fill``).
6. **rights lines** - "© 2024 Example Media. All rights reserved." closes many articles and
   is never part of the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from lxml.etree import XPath, XPathSyntaxError
from lxml.html import HtmlElement
from trafilatura import bare_extraction

from archive.extract.blocks import Block, Prose, leaf_blocks, prose_of, weight
from archive.extract.fill import interior_fill, tail_fill
from archive.extract.tablefill import fill_from_pass, is_layout_table

LOGGER = logging.getLogger(__name__)
PRECISION_OPTIONS = {"favor_precision": True, "include_comments": False,
                     "include_tables": True, "with_metadata": False, "fast": True}
# the ladder's broader rung: trafilatura's default mode with its readability/jusText comparison
DEFAULT_OPTIONS = {"include_comments": False, "include_tables": True, "with_metadata": False}
LADDER_MIN_WEIGHT = 250  # a precision text shorter than this always tries the broader rung
LADDER_PROSE_SHARE = 0.25  # ...and so does one under this share of the page's main prose
LADDER_GAIN = 1.5  # the broader text is taken when at least this many times as long
TRAILING_LINK_DENSITY = 0.4  # mean share of link text in a closing "more stories" list
_BLOCK_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div", "td", "dd", "dt",
               "figcaption", "blockquote", "section", "article", "span", "ul", "ol"}
_KEY_RE = re.compile(r"\W+")
_RIGHTS_RE = re.compile(r"^(?:©|\(c\)|copyright\b)|all rights reserved|alle rechte vorbehalten|"
                        r"tous droits réservés|todos los derechos reservados", re.IGNORECASE)


def _key(text: str) -> str:
    return _KEY_RE.sub("", text.casefold())


@lru_cache(maxsize=64)
def _valid_xpaths(expressions: tuple[str, ...]) -> tuple[str, ...]:
    """The outlet's prune XPaths that compile; a typo in one YAML rule must not turn every
    page of the outlet into "no article" (trafilatura would raise on it)."""
    valid = []
    for expression in expressions:
        try:
            XPath(expression)
        except XPathSyntaxError:
            LOGGER.warning("ignoring invalid prune XPath %r", expression)
            continue
        valid.append(expression)
    return tuple(valid)


def _run(tree: HtmlElement, url: str, prune_xpaths: list[str] | None,
         options: dict) -> list[str]:
    prune = list(_valid_xpaths(tuple(prune_xpaths))) if prune_xpaths else None
    document = bare_extraction(tree, url=url, prune_xpath=prune or None, **options)
    if document is None or not document.text:
        return []
    return [line.strip() for line in document.text.split("\n") if line.strip()]


def _link_density_index(tree: HtmlElement) -> dict[str, float]:
    """Text key -> share of link text, for every block that contains a link."""
    link_chars: dict[HtmlElement, int] = {}
    for anchor in tree.iter("a"):
        length = len(_key(anchor.text_content()))
        if not length:
            continue
        block = anchor.getparent()
        while block is not None and block.tag not in _BLOCK_TAGS:
            block = block.getparent()
        if block is not None:
            link_chars[block] = link_chars.get(block, 0) + length
    index: dict[str, float] = {}
    for block, linked in link_chars.items():
        key = _key(block.text_content())
        if key and len(key) < 2000:
            index[key] = max(index.get(key, 0.0), linked / len(key))
    return index


def drop_trailing_links(paragraphs: list[str], tree: HtmlElement) -> list[str]:
    """Cut a "More from us" block: a short heading, then list items of links, to the end.

    Articles can end with a list, so all of these must hold: at least three list items run
    to the end of the text, each short, their source elements are mostly link text, and a
    short heading without closing punctuation stands right before them.
    """
    run = 0
    for paragraph in reversed(paragraphs):
        if paragraph.startswith("- ") and len(paragraph) < 160:
            run += 1
        else:
            break
    start = len(paragraphs) - run
    if run < 3 or start < 2:
        return paragraphs
    heading = paragraphs[start - 1]
    if len(heading) > 60 or heading.rstrip()[-1:] in ".!?:;,":
        return paragraphs
    index = _link_density_index(tree)
    densities = [index.get(_key(p[2:]), 0.0) for p in paragraphs[start:]]
    if sum(densities) / len(densities) < TRAILING_LINK_DENSITY:
        return paragraphs
    return paragraphs[:start - 1]


@dataclass(slots=True)
class Body:
    """The main text as paragraphs, and how it was made (for ``extractor.options``)."""

    paragraphs: list[str]
    rung: str  # "precision" or "broad": the ladder rung whose text was kept
    filled: int  # blocks restored between kept paragraphs


def _too_little(size: int, prose: Prose) -> bool:
    return size < LADDER_MIN_WEIGHT or size < LADDER_PROSE_SHARE * prose.main


def extract_body(tree: HtmlElement, url: str, blocks: list[Block], prose: Prose,
                 prune_xpaths: list[str] | None = None,
                 whole: Callable[[], HtmlElement | None] | None = None) -> Body:
    """Paragraphs of the main text, in reading order (no title, no comments).

    ``whole`` gives the page as parsed, before the caller stripped its chrome: the broader
    rung's readability/jusText comparison finds articles that sites put in an <aside>."""
    paragraphs = _run(tree, url, prune_xpaths, PRECISION_OPTIONS)
    rung, filled = "precision", 0
    size = weight("".join(paragraphs))
    if _too_little(size, prose):
        source = whole() if whole is not None else None
        broad = _run(source if source is not None else tree, url, prune_xpaths,
                     DEFAULT_OPTIONS)
        if weight("".join(broad)) >= max(LADDER_GAIN * size, LADDER_MIN_WEIGHT):
            paragraphs, rung = broad, "broad"
    layout = rung == "precision" and is_layout_table(paragraphs)
    if layout:
        broad = _run(tree, url, prune_xpaths, {**DEFAULT_OPTIONS, "fast": True})
        paragraphs, filled = fill_from_pass(paragraphs, broad)
    elif rung == "precision":
        paragraphs, filled = interior_fill(paragraphs, blocks)
    paragraphs = drop_trailing_links(paragraphs, tree)
    if rung == "precision" and not layout:
        paragraphs, tail = tail_fill(paragraphs, blocks)
        filled += tail
    paragraphs = [p for p in paragraphs if not (len(p) < 200 and _RIGHTS_RE.search(p))]
    return Body(paragraphs=paragraphs, rung=rung, filled=filled)


def extract_paragraphs(tree: HtmlElement, url: str,
                       prune_xpaths: list[str] | None = None) -> list[str]:
    """Paragraphs of the main text (``extract_body`` for callers without a block view)."""
    blocks = leaf_blocks(tree, pruned_elements(tree, prune_xpaths))
    return extract_body(tree, url, blocks, prose_of(blocks), prune_xpaths).paragraphs


def pruned_elements(tree: HtmlElement, prune_xpaths: list[str] | None
                    ) -> frozenset[HtmlElement]:
    """The elements the outlet's prune XPaths select (their blocks are not body text)."""
    found: set[HtmlElement] = set()
    for expression in _valid_xpaths(tuple(prune_xpaths or ())):
        result = tree.xpath(expression)
        if isinstance(result, list):
            found.update(e for e in result if isinstance(e, HtmlElement))
    return frozenset(found)
