"""Main text of a page as paragraphs: trafilatura (precision mode, no comments) plus repairs.

Kept apart from ``archive.extract`` because this is the part tuned against the evaluation
set (``bench/extract_eval.py``); everything here is generic (per-site rules are outlet data:
``prune_xpaths``, ``drop_text``).  The repairs, each measured on that set:

1. **interior fill** - precision mode sometimes drops a paragraph in the middle of the body
   (one with a link, a quote box, a short line).  trafilatura's default mode keeps it; any
   default-mode paragraph that lies *between* two precision-mode paragraphs is restored.
   Paragraphs before the first or after the last are not: that is where related links,
   bylines and comment blocks live.
2. **closing link lists** - "More Must-Reads From X" followed by a list of linked headlines
   at the very end of the text.  (Dropping *every* link-dense paragraph was tried and lost:
   product lists and "Read more:" lines inside bodies are text to the gold annotators.)
3. **rights lines** - "© 2024 Example Media. All rights reserved." closes many articles and
   is never part of the body.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from lxml.etree import XPath, XPathSyntaxError
from lxml.html import HtmlElement
from trafilatura import bare_extraction

LOGGER = logging.getLogger(__name__)
PRECISION_OPTIONS = {"favor_precision": True, "include_comments": False,
                     "include_tables": True, "with_metadata": False}
# the broad pass only feeds interior_fill: trafilatura's fallback comparison (readability,
# jusText) does not change what it contributes there, and skipping it halves its cost
DEFAULT_OPTIONS = {"include_comments": False, "include_tables": True, "with_metadata": False,
                   "fast": True}
MAX_GAP = 3  # longest run of default-mode paragraphs restored between two precise ones
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


def interior_fill(precise: list[str], broad: list[str], max_gap: int = MAX_GAP) -> list[str]:
    """``precise`` plus the ``broad`` paragraphs that sit between two of its paragraphs.

    Only short gaps (at most ``max_gap`` paragraphs) are filled: a long run between two
    precision-mode paragraphs is a different block (a deals box, a gallery), not a slip.
    """
    if not precise or not broad:
        return precise
    precise_keys = {_key(p) for p in precise}
    positions = [i for i, p in enumerate(broad) if _key(p) in precise_keys]
    if len(positions) < 2:
        return precise
    merged: list[str] = []
    for here, after in zip(positions, positions[1:], strict=False):
        merged.append(broad[here])
        if 1 < after - here <= max_gap + 1:
            merged += broad[here + 1:after]
    merged.append(broad[positions[-1]])
    merged_keys = {_key(p) for p in merged}
    # precision-mode paragraphs the broad pass missed keep their relative place
    result, cursor = [], 0
    for paragraph in precise:
        key = _key(paragraph)
        if key in merged_keys:
            while cursor < len(merged):
                result.append(merged[cursor])
                cursor += 1
                if _key(merged[cursor - 1]) == key:
                    break
        else:
            result.append(paragraph)
    result += merged[cursor:]
    return result


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


def extract_paragraphs(tree: HtmlElement, url: str,
                       prune_xpaths: list[str] | None = None) -> list[str]:
    """Paragraphs of the main text, in reading order (no title, no comments)."""
    precise = _run(tree, url, prune_xpaths, PRECISION_OPTIONS)
    if not precise:
        return []
    broad = _run(tree, url, prune_xpaths, DEFAULT_OPTIONS)
    paragraphs = interior_fill(precise, broad)
    paragraphs = drop_trailing_links(paragraphs, tree)
    return [p for p in paragraphs if not (len(p) < 200 and _RIGHTS_RE.search(p))]
