"""Article or not: the page's own evidence, measured on the extracted text, decided by
discovery's classifier (``archive.discover.pagetype.classify``: one place decides for the
crawl and for the corpus).

The evidence, strongest first: structured data that says article (JSON-LD ``NewsArticle``
and kin, ``og:type=article``); long prose in the extracted text that is not teaser
summaries; a publication date with some prose.  Only a page with none of these can be
called a listing: most of its text sits in teaser blocks (a linked headline plus a
summary), most of its text is list items that are links (an index), or, with no long
paragraph, most of its headings are links (news-please's test).

Why the text and not the page's headline links: a Chinese article (short paragraphs), a
review page and a radio station's article page have sidebars full of linked headings; the
headings test alone threw their text away.
"""

from __future__ import annotations

import re
from dataclasses import replace

from lxml.html import HtmlElement

from archive.discover.pagetype import ARTICLE_LD_TYPES, Evidence, classify
from archive.extract.blocks import Block, weight
from archive.extract.metadata import PageMeta

LONG_PARAGRAPH = 300  # weight of one paragraph that teasers do not reach
LINKED_HEADINGS = 0.65  # ...or more than this share of >= 5 headings are links
_KEY_RE = re.compile(r"\W+")


def _key(text: str) -> str:
    return _KEY_RE.sub("", text.casefold())


def marked_article(meta: PageMeta) -> bool:
    """The page's structured data says it is an article."""
    return bool(meta.ld_types & ARTICLE_LD_TYPES) or meta.og_type == "article"


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


def text_evidence(tree: HtmlElement, meta: PageMeta, paragraphs: list[str], dated: bool,
                  blocks: list[Block]) -> Evidence:
    """The page's evidence as ``classify`` reads it, measured on the extracted text.

    Measured strongest first and only as far as needed: structured data decides alone, and
    the headings test (the costliest) is made only when nothing else would decide."""
    if marked_article(meta):
        return Evidence(marked=True, dated=dated, from_text=True)
    teasers = teaser_keys(tree)
    linked = _linked_items(blocks)
    in_teasers = [p for p in paragraphs if _key(p) in teasers]
    in_links = [p for p in paragraphs if _key(p.removeprefix("- ")) in linked]
    prose = sum(weight(p) for p in paragraphs if not p.startswith("- ")
                and _key(p) not in teasers and _key(p) not in linked)
    total = max(1, sum(len(p) for p in paragraphs))
    evidence = Evidence(
        prose=prose, dated=dated, from_text=True,
        listing_share=sum(len(p) for p in in_teasers) / total,
        link_list_share=sum(len(p) for p in in_links) / total,
        long_paragraph=any(weight(p) >= LONG_PARAGRAPH for p in paragraphs))
    if classify(evidence)[0] == "other":
        evidence = replace(evidence, linked_headings=_linked_headings(tree))
    return evidence


def is_listing(tree: HtmlElement, meta: PageMeta, paragraphs: list[str], dated: bool,
               blocks: list[Block]) -> bool:
    """A page of teasers rather than an article: discovery's classifier on the text's
    evidence says "listing" ("other" pages, a shop or an about page, are kept when long
    enough: the corpus takes every page with a body)."""
    return classify(text_evidence(tree, meta, paragraphs, dated, blocks))[0] == "listing"
