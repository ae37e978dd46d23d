"""Article extraction: page bytes -> corpus fields (title, authors, dates, language, text).

The contract (DESIGN.md "Extraction API"): ``extract(html, url, outlet=None)`` is a pure
function, importable in worker processes, that never raises on bad input and returns None
for pages that are not articles.  The text comes from trafilatura in precision mode with
comments off (its best setting for clean corpora), then:

* ``archive.extract.bodytext`` repairs trafilatura's known misses (see there);
* ``archive.extract.textclean`` drops furniture paragraphs, cuts comment areas, takes off datelines;
* ``archive.extract.metadata`` reads JSON-LD / ``<meta>`` / byline markup, machine-readable dates
  first, visible dates only in the outlet's ``date_order``;
* language comes from the outlet edition or ``<html lang>``, never from a detector.
"""

from __future__ import annotations

import codecs
import logging
import re
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement, HTMLParser, fromstring

from archive.extract import bodytext
from archive.extract.authors import clean_authors
from archive.extract.bodytext import extract_paragraphs
from archive.extract.charset import decode_html
from archive.extract.dates import (
    date_from_url,
    find_visible_dates,
    parse_date,
    parse_iso,
    parse_rfc822,
)
from archive.extract.languages import to_iso639_3
from archive.extract.metadata import (
    ARTICLE_TYPES,
    PageMeta,
    clean_space,
    dom_bylines,
    read_page_meta,
)
from archive.extract.textclean import clean_paragraphs, split_dateline, strip_header_lines
from archive.outlet.config import OutletConfig

LOGGER = logging.getLogger(__name__)

__version__ = "1.0"
# what corpus records carry as ``extractor.options``: the trafilatura options of the precise
# pass, plus our own repairs (see archive.extract.bodytext) so a record says how its text was made
EXTRACTOR_OPTIONS: dict[str, Any] = {
    "favor_precision": True, "include_comments": False, "include_tables": True,
    "interior_fill": "default-mode pass", "closing_link_lists": "dropped",
}
CONFIGURABLE = frozenset({
    "favor_precision", "favor_recall", "include_comments", "include_tables", "include_images",
    "include_formatting", "include_links", "deduplicate", "fast",
})
EXTRACTOR_INFO: dict[str, Any] = {
    "name": "newsarchive-trafilatura",
    "version": f"{__version__}+trafilatura-{trafilatura.__version__}",
    "options": EXTRACTOR_OPTIONS,
}

MAX_HTML_CHARS = 6_000_000  # beyond this the tail is cut: bodies sit early in the page
MIN_TEXT_CHARS = 250  # an article has at least a few sentences of text...
MIN_TEXT_CHARS_MARKED = 80  # ...unless the markup says it is an article
LISTING_MAX_PARAGRAPH = 300  # teasers are shorter than this; article paragraphs often not
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b",
                 b"Rar!", b"7z\xbc\xaf", b"ID3", b"OggS", b"\x00\x00\x00")
_PARSER = HTMLParser(collect_ids=False, default_doctype=False, remove_comments=True,
                     remove_pis=True, huge_tree=True)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_FIRST_TAG_RE = re.compile(r"<([A-Za-z][\w:.-]*)")
_NOT_PAGE_ROOTS = {"rss", "feed", "rdf:rdf", "urlset", "sitemapindex", "opml"}  # feeds etc.
_TITLE_SEPARATORS_RE = re.compile(r"\s+(?:\||-|–|—|::|·|•|/|»)\s+")


def extract(html: bytes | str, url: str, outlet: OutletConfig | None = None, *,
            encoding: str | None = None) -> dict[str, Any] | None:
    """Corpus fields of an article page, or None when it is not an article.

    ``encoding`` is the charset of the HTTP ``Content-Type`` header, if any: it is honoured
    unless the body is valid UTF-8 (a mis-declared Latin-1 header is common).
    """
    try:
        return _extract(html, url, outlet, encoding)
    except Exception:  # noqa: BLE001 - the contract: bad input never raises
        LOGGER.warning("extraction failed for %s", url, exc_info=True)
        return None


def configure(**options: Any) -> None:
    """Change the trafilatura options of this process's extractions (``reextract --option``).

    Process-wide on purpose: worker processes are configured once, before their first page.
    ``favor_recall=True`` switches precision mode off unless ``favor_precision`` is given.
    """
    unknown = sorted(set(options) - CONFIGURABLE)
    if unknown:
        raise ValueError(f"unknown extractor option(s): {', '.join(unknown)}")
    if options.get("favor_recall") and "favor_precision" not in options:
        options = {**options, "favor_precision": False}
    bodytext.PRECISION_OPTIONS.update(options)
    bodytext.DEFAULT_OPTIONS.update({k: v for k, v in options.items()
                                     if not k.startswith("favor_") and k != "fast"})
    EXTRACTOR_OPTIONS.update(options)
    EXTRACTOR_INFO["options"] = EXTRACTOR_OPTIONS


# ---- input -------------------------------------------------------------------------------

def _looks_binary(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False  # UTF-16 text is full of NUL bytes
    head = data[:1024].lstrip()
    if head.startswith(_BINARY_MAGIC):
        return True
    sample = data[:4096]
    return sample.count(b"\x00") > 8


def _root_tag(text: str) -> str | None:
    """Name of the first element in the document (comments and declarations skipped)."""
    match = _FIRST_TAG_RE.search(_COMMENT_RE.sub("", text[:5000]))
    return match.group(1).lower() if match else None


def parse_html(html: bytes | str, encoding: str | None = None) -> HtmlElement | None:
    """Decode (see ``archive.extract.charset``) and parse; None for empty, binary, non-HTML."""
    if isinstance(html, (bytes, bytearray, memoryview)):
        data = bytes(html)
        if not data.strip() or _looks_binary(data):
            return None
        text, _ = decode_html(data, encoding)
    elif isinstance(html, str):
        text = html
    else:
        return None
    text = _XML_DECL_RE.sub("", text[:MAX_HTML_CHARS].replace("\x00", ""), count=1)
    if not text.strip() or "<" not in text[:5000] or _root_tag(text) in _NOT_PAGE_ROOTS:
        return None
    try:
        tree = fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    if tree is None:
        return None
    root = tree.getroottree().getroot()
    return root if root is not None else tree


# ---- fields --------------------------------------------------------------------------------

def _strip_site_name(title: str, site_name: str | None) -> str:
    parts = _TITLE_SEPARATORS_RE.split(title)
    if len(parts) < 2:
        return title
    if site_name:
        site = site_name.casefold()
        kept = [p for p in parts if p.casefold() != site and not site.startswith(p.casefold())]
        if kept and len(kept) < len(parts):
            return " - ".join(kept)
    if len(parts[-1].split()) <= 3 and len(parts[0]) > len(parts[-1]):
        return " - ".join(parts[:-1])
    return title


def choose_title(meta: PageMeta) -> str | None:
    """The ``<h1>`` when the page's own metadata confirms it, else og/JSON-LD, else ``<title>``."""
    named = [t for t in [*meta.titles, meta.html_title] if t]
    if meta.h1 and len(meta.h1) >= 8:
        h1 = meta.h1.casefold()
        if any(h1 in t.casefold() or _strip_site_name(t, meta.site_name).casefold() in h1
               for t in named):
            return meta.h1
    if meta.titles:
        return _strip_site_name(meta.titles[0], meta.site_name)
    if meta.h1:
        return meta.h1
    if meta.html_title:
        return _strip_site_name(meta.html_title, meta.site_name)
    return None


def choose_language(url: str, outlet: OutletConfig | None, meta: PageMeta) -> str | None:
    """Edition language, else ``<html lang>`` (or meta) mapped to ISO 639-3, else outlet's."""
    if outlet is not None:
        edition = outlet.edition_for(url)
        if edition is not None:
            return edition.language
    language = to_iso639_3(meta.html_lang) or to_iso639_3(meta.meta_lang)
    if language:
        return language
    return outlet.language if outlet is not None else None


def _machine_date(values: list[str], tz_name: str | None) -> str | None:
    for value in values:
        value = clean_space(value)
        parsed = parse_iso(value, tz_name) or parse_rfc822(value)
        if parsed:
            return parsed
    return None


def _page_text(tree: HtmlElement) -> str:
    body = tree.find(".//body")
    root = body if body is not None else tree
    chunks = []
    for element in root.iter():
        if element.tag in ("script", "style", "noscript", "template") or not isinstance(
                element.tag, str):
            continue
        if element.text and element.text.strip():
            chunks.append(element.text.strip())
        if element.tail and element.tail.strip():
            chunks.append(element.tail.strip())
    return "\n".join(chunks)


def choose_dates(tree: HtmlElement, meta: PageMeta, url: str, outlet: OutletConfig | None
                 ) -> tuple[str | None, str | None]:
    """(published, modified): machine-readable first, then visible near the title, then URL."""
    order = outlet.date_order if outlet else "dmy"
    formats = outlet.date_formats if outlet else []
    tz_name = outlet.timezone if outlet else None
    published = _machine_date(meta.published, tz_name)
    modified = _machine_date(meta.modified, tz_name)
    if published is None:
        text = _page_text(tree)
        start = text.find(meta.h1) if meta.h1 else -1
        window = text[start:start + 3000] if start >= 0 else text[:6000]
        found = find_visible_dates(window, order, formats, tz_name)
        if found:
            published = found[0][1]
        else:
            published = date_from_url(url)
    if modified and published and modified < published[:len(modified)]:
        modified = None
    return published, modified


def choose_section(tree: HtmlElement, meta: PageMeta, outlet: OutletConfig | None
                   ) -> str | None:
    """JSON-LD/meta section, else the outlet's ``section_xpath`` (+ ``section_regex``, group 1)
    rule from its YAML ``extra`` keys, else the page's breadcrumb trail."""
    if meta.sections:
        return clean_space(meta.sections[0]) or None
    rule = outlet.extra.get("section_xpath") if outlet is not None else None
    if isinstance(rule, str):
        pattern = outlet.extra.get("section_regex")
        try:
            nodes = tree.xpath(rule)
        except etree.XPathError:
            nodes = []
        for node in nodes if isinstance(nodes, list) else [nodes]:
            text = clean_space(node if isinstance(node, str) else node.text_content())
            if text and isinstance(pattern, str):
                match = re.search(pattern, text)
                text = clean_space(match.group(1) if match and match.re.groups else
                                   match.group(0) if match else "")
            if text:
                return text
    return meta.breadcrumb


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _tags(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        tag = clean_space(value)
        if tag and len(tag) <= 80:
            seen.setdefault(tag.casefold(), tag)
    return list(seen.values())[:50]


def _teaser_keys(tree: HtmlElement) -> set[str]:
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


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _is_listing(tree: HtmlElement, meta: PageMeta, paragraphs: list[str]) -> bool:
    """A page of teasers rather than an article (pages with article markup never are).

    Two signals: most of the extracted text sits in teaser blocks (a linked headline plus a
    summary), or news-please's linked-headlines test (most of >= 5 headings are links) on
    a text with no real paragraph (article sidebars have linked headings too).
    """
    if meta.ld_types & ARTICLE_TYPES or meta.og_type == "article":
        return False
    teasers = _teaser_keys(tree)
    if teasers:
        in_teasers = sum(len(p) for p in paragraphs if _key(p) in teasers)
        if in_teasers >= 0.5 * sum(len(p) for p in paragraphs):
            return True
    if any(len(p) >= LISTING_MAX_PARAGRAPH for p in paragraphs):
        return False
    headings = tree.xpath("//h1|//h2|//h3|//h4|//h5|//h6")
    if len(headings) < 5:
        return False
    linked = sum(1 for h in headings if h.xpath(".//a[@href]") or h.getparent().tag == "a")
    return linked / len(headings) > 0.65


# ---- main ----------------------------------------------------------------------------------

def _extract(html: bytes | str, url: str, outlet: OutletConfig | None,
             encoding: str | None) -> dict[str, Any] | None:
    tree = parse_html(html, encoding)
    if tree is None or len(tree) == 0:
        return None
    meta = read_page_meta(tree, url)
    marked_article = bool(meta.ld_types & ARTICLE_TYPES) or meta.og_type == "article"
    paragraphs = extract_paragraphs(tree, url, prune_xpaths=outlet.prune_xpaths if outlet
                                    else None)
    if not paragraphs or _is_listing(tree, meta, paragraphs):
        return None
    title = choose_title(meta)
    raw_authors = meta.authors or dom_bylines(tree)
    paragraphs = strip_header_lines(paragraphs, [title, meta.h1, meta.html_title, *meta.titles],
                                    clean_authors(raw_authors))
    paragraphs = clean_paragraphs(paragraphs, outlet.drop_text if outlet else (),
                                  outlet.cut_text_at if outlet else ())
    dateline, paragraphs = split_dateline(paragraphs, outlet.dateline if outlet else None)
    text = "\n\n".join(paragraphs)
    if len(text) < (MIN_TEXT_CHARS_MARKED if marked_article else MIN_TEXT_CHARS):
        return None
    published, modified = choose_dates(tree, meta, url, outlet)
    authors = clean_authors(raw_authors, outlet.author_clean if outlet else ())
    return {
        "title": title,
        "authors": authors,
        "published": published,
        "modified": modified,
        "dateline": dateline,
        "section": choose_section(tree, meta, outlet),
        "tags": _tags(meta.tags),
        "description": _first(meta.descriptions),
        "image": _first(meta.images),
        "language": choose_language(url, outlet, meta),
        "canonical_url": meta.canonical or url,
        "site_name": meta.site_name,
        "text": text,
        "word_count": len(text.split()),
        "paragraph_count": len(paragraphs),
    }


def parse_date_value(value: str | None, outlet: OutletConfig | None = None) -> str | None:
    """One date value (feed ``pubDate``, a sitemap ``lastmod``) parsed like page dates."""
    return parse_date(value, outlet.date_order if outlet else "dmy",
                      outlet.date_formats if outlet else None,
                      outlet.timezone if outlet else None)
