"""Article or not: decided on the page's own evidence, never on link density alone.

The evidence, strongest first: structured data that says article (JSON-LD ``NewsArticle``
and kin, ``og:type=article``); one long block of prose in the extracted text that is not
teaser summaries; a publication date with some prose.  Only a page with none of these can
be called a listing, by one of two signals: most of its text sits in teaser blocks (a
linked headline plus a summary), most of its text is list items that are links (an index),
or most of its headings are links (news-please's test).

Why: a Chinese article (short paragraphs), a review page and a radio station's article
page have sidebars full of linked headings; the headings test alone threw their text away.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from archive.extract.blocks import Block, weight
from archive.extract.metadata import ARTICLE_TYPES, PageMeta

LONG_PROSE = 1000  # weight of non-teaser prose that makes any page an article
DATED_PROSE = 400  # ...or this much with a publication date
LINK_LIST_SHARE = 0.5  # a link index: this share of the text is list items that are links
TEASER_SHARE = 0.5  # a listing: at least this share of the text is teaser summaries
LINKED_HEADINGS = 0.65  # ...or more than this share of >= 5 headings are links
_KEY_RE = re.compile(r"\W+")


def _key(text: str) -> str:
    return _KEY_RE.sub("", text.casefold())


def marked_article(meta: PageMeta) -> bool:
    """The page's structured data says it is an article."""
    return bool(meta.ld_types & ARTICLE_TYPES) or meta.og_type == "article"


def teaser_keys(tree: HtmlElement) -> set[str]:
    """Text keys of the summaries inside teasers: a small block with a linked h2-h4 + text."""
    keys: set[str] = set()
    seen: set[HtmlElement] = set()
    for heading in tree.xpath("//h2[a[@href] or ancestor::a]|//h3[a[@href] or ancestor::a]"
                              "|//h4[a[@href] or ancestor::a]")[:300]:
        block = heading.getparent()
        while block is not None and block.tag not in ("li", "article", "div", "section"):
            block = block.getparent()
        if block is None or block in seen:
            continue
        seen.add(block)
        summaries = [e for e in block.iter("p", "span", "div") if e is not block]
        if len(summaries) > 8:  # a big container, not one teaser
            continue
        for element in summaries:
            key = _key(element.text_content())
            if key:
                keys.add(key)
    return keys


def _linked_headings(tree: HtmlElement) -> bool:
    headings = tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6")
    if len(headings) < 5:
        return False
    linked = sum(1 for h in headings if h.xpath(".//a[@href]") or h.getparent().tag == "a")
    return linked / len(headings) > LINKED_HEADINGS


def _linked_items(blocks: list[Block]) -> set[str]:
    return {b.key for b in blocks if b.is_item and b.link_share > 0.5}


def is_listing(tree: HtmlElement, meta: PageMeta, paragraphs: list[str], dated: bool,
               blocks: list[Block]) -> bool:
    """A page of teasers rather than an article (see the module docstring for the order)."""
    if marked_article(meta):
        return False
    teasers = teaser_keys(tree)
    linked = _linked_items(blocks)
    in_teasers = [p for p in paragraphs if _key(p) in teasers]
    in_links = [p for p in paragraphs if _key(p.removeprefix("- ")) in linked]
    prose = sum(weight(p) for p in paragraphs if not p.startswith("- ")
                and _key(p) not in teasers and _key(p) not in linked)
    if prose >= LONG_PROSE or (dated and prose >= DATED_PROSE):
        return False
    total = sum(len(p) for p in paragraphs)
    if prose < DATED_PROSE and sum(len(p) for p in in_links) >= LINK_LIST_SHARE * total:
        return True  # an index of links
    if in_teasers and sum(len(p) for p in in_teasers) >= TEASER_SHARE * total:
        return True
    if any(weight(p) >= 300 for p in paragraphs):
        return False
    return _linked_headings(tree)
