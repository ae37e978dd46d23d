"""Article extraction: page bytes -> corpus fields (title, authors, dates, language, text).

The contract (DESIGN.md "Extraction API"): ``extract(html, url, outlet=None)`` is a pure
function, importable in worker processes, that never raises on bad input and returns None
for pages that are not articles.  One parse (C0 controls removed first), then:

* ``archive.extract.metadata`` reads JSON-LD / ``<meta>`` / byline markup once, machine-readable
  dates first, visible dates only in the outlet's ``date_order``;
* ``archive.extract.hygiene`` strips code and page chrome, and NFC-normalises the text;
* ``archive.extract.blocks`` reads the page's text blocks once; ``archive.extract.bodytext``
  runs one trafilatura pass (precision, fast) with a fallback ladder and repairs;
* ``archive.extract.pagetype`` measures the page's own evidence on the extracted text and
  discovery's classifier (``archive.discover.pagetype.classify``) decides article or not;
* ``archive.extract.textclean`` / ``furniture`` drop furniture, stamps become ``modified``;
  ``archive.extract.templates`` gives fingerprints (and removes an outlet's learnt template);
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
from archive.extract.blocks import leaf_blocks, prose_of
from archive.extract.bodytext import extract_body, pruned_elements
from archive.extract.charset import decode_html
from archive.extract.dates import (
    date_from_url,
    find_visible_dates,
    parse_date,
    parse_iso,
    parse_rfc822,
)
from archive.extract.furniture import (
    drop_link_boxes,
    is_generic_furniture,
    stamp_in_blocks,
    take_stamps,
)
from archive.extract.hygiene import nfc, strip_chrome
from archive.extract.languages import to_iso639_3
from archive.extract.metadata import PageMeta, clean_space, dom_bylines, read_page_meta
from archive.extract.pagetype import is_listing, marked_article
from archive.extract.templates import TemplateStore, page_fingerprints, template_allowlist
from archive.extract.templates import apply as apply_templates
from archive.extract.textclean import clean_paragraphs, split_dateline, strip_header_lines
from archive.outlet.config import OutletConfig

LOGGER = logging.getLogger(__name__)

__version__ = "1.1"  # 1.1: the body's tail (archive.extract.fill.tail_fill)
# what corpus records carry as ``extractor.options``: the trafilatura options of the precise
# pass, plus our own repairs (see archive.extract.bodytext) so a record says how its text was made
EXTRACTOR_OPTIONS: dict[str, Any] = {
    "favor_precision": True, "include_comments": False, "include_tables": True,
    "fast": True, "ladder": "precision>broad", "rung": "precision", "interior_fill": "dom blocks",
    "tail_fill": "dom blocks", "closing_link_lists": "dropped", "unicode": "NFC",
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
# C0 control characters other than tab, newline and carriage return: libxml2 stops or
# drops text at them, so one stray \x07 can empty a page
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_FIRST_TAG_RE = re.compile(r"<([A-Za-z][\w:.-]*)")
_NOT_PAGE_ROOTS = {"rss", "feed", "rdf:rdf", "urlset", "sitemapindex", "opml"}  # feeds etc.
_TITLE_SEPARATORS_RE = re.compile(r"\s+(?:\||-|–|—|::|·|•|/|»)\s+")


def extract(html: bytes | str, url: str, outlet: OutletConfig | None = None, *,
            encoding: str | None = None, templates: TemplateStore | None = None
            ) -> dict[str, Any] | None:
    """Corpus fields of an article page, or None when it is not an article.

    ``encoding`` is the charset of the HTTP ``Content-Type`` header, if any: it is honoured
    unless the body is valid UTF-8 (a mis-declared Latin-1 header is common).
    ``templates`` is the outlet's learnt template (``archive.extract.templates``): its
    blocks are removed; ``extraction.fingerprints`` of the result are what it learns from.
    """
    try:
        return _extract(html, url, outlet, encoding, templates)
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
    text = _XML_DECL_RE.sub("", _CONTROL_RE.sub("", text[:MAX_HTML_CHARS]), count=1)
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


# ---- main ----------------------------------------------------------------------------------

def _extract(html: bytes | str, url: str, outlet: OutletConfig | None,
             encoding: str | None, templates: TemplateStore | None) -> dict[str, Any] | None:
    tree = parse_html(html, encoding)
    if tree is None or len(tree) == 0:
        return None
    meta = read_page_meta(tree, url)
    # what is read from the whole page comes first: the chrome goes before the text passes
    published, modified = choose_dates(tree, meta, url, outlet)
    raw_authors = meta.authors or dom_bylines(tree, meta.byline_candidates)
    section = choose_section(tree, meta, outlet)
    strip_chrome(tree)
    prune = outlet.prune_xpaths if outlet else None
    blocks = leaf_blocks(tree, pruned_elements(tree, prune))
    body = extract_body(tree, url, blocks, prose_of(blocks), prune,
                        whole=lambda: parse_html(html, encoding))
    paragraphs = body.paragraphs
    if not paragraphs or is_listing(tree, meta, paragraphs, published is not None, blocks):
        return None
    title = nfc(choose_title(meta))
    paragraphs = [nfc(p) or "" for p in paragraphs]
    order, formats = (outlet.date_order, outlet.date_formats) if outlet else ("dmy", None)
    tz_name = outlet.timezone if outlet else None
    paragraphs, stamps = take_stamps(paragraphs, order, formats, tz_name)
    stamped = stamps.modified or stamp_in_blocks(blocks, order, formats, tz_name)
    if stamped and (modified is None or stamped > modified):
        modified = stamped
    if stamps.published and (published is None or published == date_from_url(url)):
        published = stamps.published
    paragraphs = strip_header_lines(paragraphs, [title, meta.h1, meta.html_title, *meta.titles],
                                    clean_authors(raw_authors))
    paragraphs = clean_paragraphs(paragraphs, outlet.drop_text if outlet else (),
                                  outlet.cut_text_at if outlet else ())
    paragraphs = drop_link_boxes([p for p in paragraphs if not is_generic_furniture(p)], blocks)
    dateline, paragraphs = split_dateline(paragraphs, outlet.dateline if outlet else None)
    fingerprints = page_fingerprints(paragraphs, blocks)
    removed: list[str] = []
    if templates is not None:
        paragraphs, fingerprints, removed = apply_templates(
            paragraphs, fingerprints, templates, template_allowlist(outlet))
    text = "\n\n".join(paragraphs)
    if len(text) < (MIN_TEXT_CHARS_MARKED if marked_article(meta) else MIN_TEXT_CHARS):
        return None
    authors = [nfc(a) or "" for a in clean_authors(raw_authors, outlet.author_clean if outlet
                                                   else ())]
    return {
        "title": title,
        "authors": authors,
        "published": published,
        "modified": modified,
        "dateline": dateline,
        "section": section,
        "tags": _tags(meta.tags),
        "description": nfc(_first(meta.descriptions)),
        "image": _first(meta.images),
        "language": choose_language(url, outlet, meta),
        "canonical_url": meta.canonical or url,
        "site_name": meta.site_name,
        "text": text,
        "word_count": len(text.split()),
        "paragraph_count": len(paragraphs),
        "extraction": {"rung": body.rung, "filled_blocks": body.filled,
                       "fingerprints": fingerprints,  # one per paragraph, None if long
                       "removed_blocks": len(removed), "removed_fingerprints": removed},
    }


def parse_date_value(value: str | None, outlet: OutletConfig | None = None) -> str | None:
    """One date value (feed ``pubDate``, a sitemap ``lastmod``) parsed like page dates."""
    return parse_date(value, outlet.date_order if outlet else "dmy",
                      outlet.date_formats if outlet else None,
                      outlet.timezone if outlet else None)
