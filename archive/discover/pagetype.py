"""What a fetched page is (article, listing or other), decided from the page itself.

A URL regex written by hand misses new URL shapes and needs someone to study the site;
the page says what it is.  The signals, strongest first:

1. structured data: ``og:type=article`` or a JSON-LD ``NewsArticle``/``Article``/
   ``ReportageNews``/``BlogPosting`` (top level or in ``@graph``) -- an article, unless
   the page has hardly any prose and many headline links (some CMSs stamp every page);
2. one main prose block (several paragraphs under one parent) with a date on the page;
3. many same-site *headline links* (link text of a few words: how fronts, sections,
   tag and author pages list articles) -- a listing.

Everything else is "other" (about pages, contact forms, calendars without stories).

``classify`` is the one place that decides, for discovery and for extraction alike: the
extractor (``archive.extract.pagetype``) gives it the same kinds of evidence measured on the
text it extracted (its prose, the share of it that is teasers or link lists, whether most
headings are links), and long prose is never called a listing.
The same single parse also returns the page's links with their text and any modified
time shown beside them, its ``rel=next`` links and its advertised feeds, so the spider
reads each page once.  Pure lxml: no Scrapy here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html
from lxml.etree import ParserError

ARTICLE_LD_TYPES = frozenset({
    "newsarticle", "article", "reportagenews", "reportagenewsarticle", "blogposting",
    "analysisnewsarticle", "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle",
    "liveblogposting", "report", "scholarlyarticle", "techarticle", "socialmediaposting",
    "askpublicnewsarticle", "satiricalarticle",
})
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
MIN_PARAGRAPH = 40  # characters: shorter <p> are captions, bylines, buttons
MIN_PROSE = 600  # characters of paragraphs in one block for an article without markup
MIN_PROSE_WITH_MARKUP = 150  # an og:type=article page still needs some text
MIN_HEADLINE_LINKS = 5  # distinct same-site headline links that make a listing
LONG_PROSE = 1000  # this much prose makes a page an article with or without a date...
DATED_PROSE = 400  # ...and this much of the extracted text with a date (see Evidence.prose)
LISTING_SHARE = 0.5  # a listing: this share of the extracted text is teasers or link lists
HEADLINE_MIN_CHARS = 20
HEADLINE_MIN_WORDS = 3
_SKIPPED = ("#", "javascript:", "mailto:", "tel:", "data:")
_DATE_TEXT = re.compile(r"\b(?:19|20)\d\d-\d\d-\d\d\b|\b\d{1,2} [A-Z][a-z]+ (?:19|20)\d\d\b|"
                        r"\b[A-Z][a-z]+ \d{1,2}, (?:19|20)\d\d\b")
_MODIFIED_HINT = re.compile(r"modif|updat|edited", re.IGNORECASE)
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PageLink:
    """One ``<a href>`` of the page: absolute URL, visible text, modified time beside it."""

    url: str
    text: str
    modified: str | None = None

    @property
    def is_headline(self) -> bool:
        """Link text that reads like a headline (a few words), not "Home" or "2"."""
        return (len(self.text) >= HEADLINE_MIN_CHARS
                and len(self.text.split()) >= HEADLINE_MIN_WORDS)


@dataclass
class PageView:
    """The classification of one page and what discovery needs from it."""

    kind: str  # "article", "listing" or "other"
    reason: str  # which signal decided (for logs and the report)
    links: list[PageLink] = field(default_factory=list)
    next_urls: list[str] = field(default_factory=list)  # rel=next
    feeds: list[str] = field(default_factory=list)  # <link rel=alternate type=rss/atom>
    prose_chars: int = 0
    headline_links: int = 0


@dataclass(frozen=True)
class Evidence:
    """What a page shows about its kind.  Discovery measures the DOM; extraction measures
    the text it extracted and leaves the headline-link counts at 0 (a sidebar of related
    headlines beside an article is not evidence against it once its text is known)."""

    marked: bool = False  # structured data says article (og:type, JSON-LD type)
    prose: int = 0  # characters of the main prose (DOM block, or the extracted prose)
    dated: bool = False  # a publication date on the page
    headline_links: int = 0  # distinct same-site headline links
    headline_chars: int = 0  # their link text
    from_text: bool = False  # ``prose`` was measured on the extracted text
    listing_share: float = 0.0  # share of the extracted text in teasers
    link_list_share: float = 0.0  # share of the extracted text that is linked list items
    long_paragraph: bool = False  # one paragraph of the extracted text is long prose
    linked_headings: bool = False  # most of the page's five or more headings are links


def classify(evidence: Evidence) -> tuple[str, str]:
    """(kind, reason): "article", "listing" or "other", and which signal decided."""
    e = evidence
    dated_min = DATED_PROSE if e.from_text else MIN_PROSE
    if e.marked and (e.from_text or e.prose >= MIN_PROSE_WITH_MARKUP) and not (
            e.headline_links >= 3 * MIN_HEADLINE_LINKS and e.prose < MIN_PROSE):
        return "article", "structured data"
    if e.prose >= LONG_PROSE and e.from_text:
        return "article", "long prose"
    if e.dated and e.prose >= dated_min:
        if e.prose >= e.headline_chars:
            return "article", "dated prose block"
        return "listing", "headline links outweigh prose"
    if e.link_list_share >= LISTING_SHARE and e.prose < DATED_PROSE:
        return "listing", "index of links"
    if e.listing_share >= LISTING_SHARE:
        return "listing", "teasers"
    if e.headline_links >= MIN_HEADLINE_LINKS:
        return "listing", "headline links"
    if e.long_paragraph:
        return "article", "long paragraph"
    if e.linked_headings:
        return "listing", "linked headings"
    return "other", "no article or listing signal"


def _text(element) -> str:
    return _WS.sub(" ", element.text_content()).strip()


def _ld_types(tree) -> set[str]:
    """Lower-cased ``@type`` values of the page's top-level JSON-LD objects (and @graph)."""
    types: set[str] = set()
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text_content() or "null")
        except (json.JSONDecodeError, ValueError):
            continue
        stack = data if isinstance(data, list) else [data]
        for obj in stack:
            if not isinstance(obj, dict):
                continue
            graph = obj.get("@graph")
            objects = [obj, *(graph if isinstance(graph, list) else [])]
            for item in objects:
                if not isinstance(item, dict):
                    continue
                value = item.get("@type")
                for name in value if isinstance(value, list) else [value]:
                    if isinstance(name, str):
                        types.add(name.lower())
    return types


def _prose(tree) -> int:
    """Characters of paragraphs under the parent that holds the most of them."""
    blocks: dict[object, int] = {}
    for p in tree.xpath("//p"):
        if p.xpath("ancestor::a or ancestor::nav or ancestor::footer or ancestor::header"):
            continue
        text = _text(p)
        if len(text) < MIN_PARAGRAPH:
            continue
        parent = p.getparent()
        if parent is None:
            continue
        blocks[parent] = blocks.get(parent, 0) + len(text) - len(_linked_text(p))
    return max(blocks.values(), default=0)


def _linked_text(element) -> str:
    return "".join(_text(a) for a in element.xpath(".//a"))


def _has_date(tree, html_text: str) -> bool:
    if tree.xpath("//time[@datetime] | //meta[@property='article:published_time'] | "
                  "//*[@itemprop='datePublished']"):
        return True
    body = tree.find("body")
    return bool(_DATE_TEXT.search(_text(body) if body is not None else html_text[:50_000]))


def _modified_beside(anchor) -> str | None:
    """A modified time shown next to a listing link (its item: up to three parents up)."""
    node = anchor
    for _ in range(3):
        node = node.getparent()
        if node is None:
            return None
        for time in node.xpath(".//time[@datetime] | .//*[@data-modified]"):
            value = time.get("data-modified")
            if value:
                return value.strip()
            marks = " ".join(filter(None, (time.get("itemprop"), time.get("class"))))
            if _MODIFIED_HINT.search(marks):
                return (time.get("datetime") or "").strip() or None
    return None


def _same_site(url: str, host: str) -> bool:
    other = (urlsplit(url).hostname or "").lower()
    return other == host or other.endswith("." + host) or host.endswith("." + other)


def read_page(html: str | bytes, url: str) -> PageView:
    """Classify ``html`` (fetched from ``url``) and collect its links, next pages and feeds.

    Never raises on bad markup: an unparseable page is "other" with no links.
    """
    try:
        tree = lxml_html.fromstring(html)
    except (ParserError, ValueError):
        return PageView("other", "unparseable")
    base = url
    base_href = tree.xpath("//base/@href")
    if base_href:
        base = urljoin(url, base_href[0].strip())
    host = (urlsplit(url).hostname or "").lower()
    links: list[PageLink] = []
    next_urls: list[str] = []
    for anchor in tree.xpath("//a[@href]"):
        href = anchor.get("href", "").strip()
        if not href or href.startswith(_SKIPPED):
            continue
        absolute = urljoin(base, href)
        text = _text(anchor) or (anchor.get("title") or "").strip()
        links.append(PageLink(absolute, text, _modified_beside(anchor)))
        if "next" in (anchor.get("rel") or "").lower().split():
            next_urls.append(absolute)
    feeds = []
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        href = urljoin(base, link.get("href", "").strip())
        if "next" in rel:
            next_urls.append(href)
        elif "alternate" in rel and (link.get("type") or "").lower() in FEED_TYPES:
            feeds.append(href)
    headlines = {link.url for link in links if link.is_headline and _same_site(link.url, host)
                 and link.url.split("#")[0] != url}
    og = tree.xpath("//meta[@property='og:type']/@content")
    og_type = og[0].strip().lower() if og else ""
    marked = og_type == "article" or bool(_ld_types(tree) & ARTICLE_LD_TYPES)
    prose = _prose(tree)
    headline_chars = sum(len(link.text) for link in links if link.url in headlines)
    evidence = Evidence(marked=marked, prose=prose, headline_links=len(headlines),
                        headline_chars=headline_chars,
                        dated=prose >= MIN_PROSE and _has_date(
                            tree, html if isinstance(html, str) else ""))
    kind, reason = classify(evidence)
    return PageView(kind, reason, links, next_urls, feeds, prose, len(headlines))
