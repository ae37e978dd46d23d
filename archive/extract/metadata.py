"""Article metadata from the page's markup: JSON-LD, ``<meta>``, and a few DOM conventions.

Why not trafilatura's metadata: it returns one author string, guesses dates with htmldate
(which misreads day-first visible dates) and knows nothing of editions or date order.  Here
every field lists its sources in order of trust, machine-readable first; the values are
returned raw (strings) and cleaned by ``archive.extract``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urljoin

from lxml.etree import Element, XPath
from lxml.html import HtmlElement

from archive.discover.pagetype import ARTICLE_LD_TYPES

ARTICLE_TYPES = ARTICLE_LD_TYPES  # one list of article types, discovery's
_SPACE_RE = re.compile(r"\s+")
_BAD_JSON_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BYLINE_CLASS_XPATH = (
    "//body//*[contains(@class,'author') or contains(@class,'Author') or "
    "contains(@class,'byline') or contains(@class,'Byline') or contains(@class,'ByLine') or "
    "@itemprop='author' or @rel='author' or contains(@href,'/author/') or "
    "contains(@href,'/authors/')]"
)
_BYLINE_XPATH = XPath(_BYLINE_CLASS_XPATH)
_BYLINE_EXCLUDE_RE = re.compile(
    r"comment|reply|respon|bio|avatar|photo|image|img|footer|related|more|social|share|"
    r"follow|about|widget|sidebar|popular|recommend|newsletter|card__handle|handle|"
    r"description|title-wrap|authors-list|list", re.IGNORECASE)
_CONTEXT_EXCLUDE_RE = re.compile(
    r"comment|footer|sidebar|related|recommend|popular|most-read|mostread|newsletter|"
    r"teaser|promo|widget|aside|nav|menu", re.IGNORECASE)


def clean_space(text: str | None) -> str:
    return _SPACE_RE.sub(" ", unescape(text or "")).strip()


@dataclass
class PageMeta:
    """Raw candidate values found in one page, each list in order of trust."""

    titles: list[str] = field(default_factory=list)
    h1: str | None = None
    html_title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    breadcrumb: str | None = None
    tags: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    canonical: str | None = None
    html_lang: str | None = None
    meta_lang: str | None = None
    site_name: str | None = None
    og_type: str | None = None
    ld_types: set[str] = field(default_factory=set)
    byline_candidates: list[HtmlElement] | None = None


# ---- JSON-LD -------------------------------------------------------------------------------

def _ld_objects(tree: HtmlElement) -> list[dict]:
    objects: list[dict] = []
    for script in tree.xpath('//script[contains(@type,"ld+json")]'):
        raw = (script.text or "").strip()
        if not raw:
            continue
        raw = re.sub(r"^\s*(?:<!--|/\*<!\[CDATA\[\*/|<!\[CDATA\[)|(?:-->|/\*\]\]>\*/|\]\]>)\s*$",
                     "", raw)
        try:
            data = json.loads(_BAD_JSON_CONTROL_RE.sub(" ", raw), strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack and len(objects) < 200:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                graph = item.get("@graph")
                if isinstance(graph, (list, dict)):
                    stack.append(graph)
    return objects


def _types(obj: dict) -> set[str]:
    value = obj.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {str(v).lower().rsplit("/", 1)[-1] for v in values if v}


def _names(value: object) -> list[str]:
    """Person/Organization names from an ld ``author`` value (str, dict, list)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str):
            return [name]
        if isinstance(name, list):
            return [n for n in name if isinstance(n, str)]
        return []
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _image_urls(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _strings(value.get("url") or value.get("contentUrl"))
    if isinstance(value, list):
        return [u for v in value for u in _image_urls(v)]
    return []


def _read_ld(meta: PageMeta, tree: HtmlElement) -> None:
    objects = _ld_objects(tree)
    articles = [o for o in objects if _types(o) & ARTICLE_TYPES]
    for obj in objects:
        meta.ld_types |= _types(obj)
    for obj in articles[:1]:
        meta.titles += _strings(obj.get("headline")) + _strings(obj.get("name"))
        meta.authors += _names(obj.get("author")) + _names(obj.get("creator"))
        meta.published += _strings(obj.get("datePublished")) + _strings(obj.get("dateCreated"))
        meta.modified += _strings(obj.get("dateModified"))
        meta.sections += _strings(obj.get("articleSection"))
        keywords = obj.get("keywords")
        if isinstance(keywords, str):
            meta.tags += [k for k in keywords.split(",")]
        else:
            meta.tags += _strings(keywords)
        meta.descriptions += _strings(obj.get("description"))
        meta.images += _image_urls(obj.get("image")) + _image_urls(obj.get("thumbnailUrl"))
        lang = obj.get("inLanguage")
        if isinstance(lang, str) and not meta.meta_lang:
            meta.meta_lang = lang


# ---- <meta> and DOM ----------------------------------------------------------------------

_META_FIELDS = {
    "titles": ("og:title", "twitter:title", "dc.title", "parsely-title", "sailthru.title"),
    "authors": ("author", "article:author", "dc.creator", "parsely-author", "sailthru.author",
                "byl", "dcterms.creator", "citation_author"),
    "published": ("article:published_time", "og:published_time", "datepublished",
                  "publish-date", "publish_date", "publishdate", "pubdate", "date",
                  "dc.date", "dc.date.issued", "dcterms.created", "dcterms.date",
                  "sailthru.date", "parsely-pub-date", "article.published",
                  "cxenseparse:recs:publishtime",
                  "citation_publication_date", "release_date"),
    "modified": ("article:modified_time", "og:updated_time", "datemodified",
                 "last-modified", "dcterms.modified", "article.updated"),
    "sections": ("article:section", "parsely-section", "section", "category"),
    "tags": ("article:tag", "news_keywords", "keywords", "parsely-tags", "sailthru.tags"),
    "descriptions": ("og:description", "description", "twitter:description",
                     "dc.description"),
    "images": ("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
               "twitter:image:src"),
}
_META_LOOKUP = {name: key for key, names in _META_FIELDS.items() for name in names}


def _read_meta(meta: PageMeta, tree: HtmlElement) -> None:
    found: dict[str, list[tuple[int, str]]] = {}
    for element in tree.iter("meta"):
        name = (element.get("property") or element.get("name") or element.get("itemprop")
                or "").strip().lower()
        content = element.get("content")
        if not name or content is None:
            continue
        content = clean_space(content)
        if not content:
            continue
        if name == "og:site_name" and not meta.site_name:
            meta.site_name = content
        elif name == "og:type" and not meta.og_type:
            meta.og_type = content.lower()
        elif name in ("og:locale", "content-language", "language", "dc.language") \
                and not meta.meta_lang:
            meta.meta_lang = content
        key = _META_LOOKUP.get(name)
        if key:
            rank = _META_FIELDS[key].index(name)
            found.setdefault(key, []).append((rank, content))
    for element in tree.xpath('//meta[@http-equiv]'):
        if (element.get("http-equiv") or "").lower() == "content-language" and element.get(
                "content") and not meta.meta_lang:
            meta.meta_lang = element.get("content")
    for key, values in found.items():
        values.sort(key=lambda pair: pair[0])  # stable: document order within a rank
        target = getattr(meta, key)
        if key == "authors":
            values = [(r, v) for r, v in values if not v.startswith(("http://", "https://"))]
        if key == "tags":
            target += [t for _, v in values for t in v.split(",")]
        else:
            target += [v for _, v in values]


@dataclass
class MarkupScan:
    """Elements found in one walk over the tree (five XPath walks cost three times more)."""

    bylines: list[HtmlElement] = field(default_factory=list)  # author/byline markup in body
    breadcrumb: HtmlElement | None = None  # the first breadcrumb trail
    dates: list[HtmlElement] = field(default_factory=list)  # itemprop dates and <time>


_DATE_PROPS = frozenset({"datePublished", "datecreated", "dateModified"})


def scan_markup(tree: HtmlElement) -> MarkupScan:
    """Byline, breadcrumb and date markup in document order (see ``_BYLINE_CLASS_XPATH``).

    Tuned: this walk visits every element, so it reads four attributes with ``get`` and
    goes on at once when none is set (most elements)."""
    scan = MarkupScan()
    body = tree.find(".//body")
    for element in tree.iter(Element):
        get = element.get
        cls, prop, href, kind = get("class"), get("itemprop"), get("href"), get("itemtype")
        if cls is None and prop is None and href is None and kind is None:
            if element.tag == "time" and get("datetime"):
                scan.dates.append(element)
            continue
        cls = cls or ""
        if prop in _DATE_PROPS or (element.tag == "time" and get("datetime")):
            scan.dates.append(element)
        if scan.breadcrumb is None and ("breadcrumb" in cls or (kind or "").endswith(
                "://schema.org/BreadcrumbList")):
            scan.breadcrumb = element
        if (("uthor" in cls or "yline" in cls or "yLine" in cls or prop == "author"
             or (href and ("/author/" in href or "/authors/" in href or get("rel") == "author")))
                and len(scan.bylines) < 40 and _in_body(element, body)):
            scan.bylines.append(element)
    return scan


def _in_body(element: HtmlElement, body: HtmlElement | None) -> bool:
    return body is not None and element is not body and any(
        a is body for a in element.iterancestors("body"))


def _read_dom(meta: PageMeta, tree: HtmlElement, url: str) -> None:
    html = tree if tree.tag == "html" else tree.getroottree().getroot()
    meta.html_lang = html.get("lang") or html.get("xml:lang") if html is not None else None
    title = tree.find(".//title")
    if title is not None:
        meta.html_title = clean_space(title.text_content())
    for h1 in tree.iter("h1"):
        text = clean_space(h1.text_content())
        if text:
            meta.h1 = text
            break
    for link in tree.xpath('//link[@rel and @href]'):
        rel = link.get("rel", "").lower().split()
        if "canonical" in rel and not meta.canonical:
            meta.canonical = urljoin(url, link.get("href").strip())
        elif "image_src" in rel:
            meta.images.append(link.get("href"))
    scan = scan_markup(tree)
    meta.byline_candidates = scan.bylines
    crumbs = [clean_space(a.text_content()) for a in
              (scan.breadcrumb.xpath(".//a[@href]") if scan.breadcrumb is not None else [])]
    crumbs = [c for c in crumbs if c and len(c) <= 40]
    if len(crumbs) >= 2:  # the trail's last link (the first is the home page)
        meta.breadcrumb = crumbs[-1]
    times: list[HtmlElement] = []
    for element in scan.dates:
        prop = element.get("itemprop")
        value = element.get("content") or element.get("datetime")
        if prop in ("datePublished", "datecreated"):
            if value:
                meta.published.append(value)
        elif prop == "dateModified":
            if value:
                meta.modified.append(value)
        elif element.tag == "time" and element.get("datetime"):
            times.append(element)
    for element in times[:3]:
        if "updat" in (element.get("class") or "").lower() or "modif" in (
                element.get("class") or "").lower():
            meta.modified.append(element.get("datetime"))
        else:
            meta.published.append(element.get("datetime"))


def _in_excluded_context(element: HtmlElement) -> bool:
    for ancestor in element.iterancestors():
        if ancestor.tag in ("footer", "aside", "nav"):
            return True
        label = f"{ancestor.get('class', '')} {ancestor.get('id', '')}"
        if label.strip() and _CONTEXT_EXCLUDE_RE.search(label):
            return True
    return False


def dom_bylines(tree: HtmlElement, candidates: list[HtmlElement] | None = None) -> list[str]:
    """Author names from byline markup: innermost author/byline elements, author links.

    ``candidates`` are ``PageMeta.byline_candidates`` when the page's markup was scanned.
    """
    names: list[str] = []
    if candidates is None:
        candidates = _BYLINE_XPATH(tree)[:40]
    # wrappers around more specific author markup: the ancestors of a candidate whose
    # class is not excluded (one walk up per candidate, not one walk down per wrapper)
    wrappers: set[HtmlElement] = set()
    for element in candidates:
        if not _BYLINE_EXCLUDE_RE.search(f"{element.get('class', '')}"):
            wrappers.update(element.iterancestors())
    for element in candidates:
        if element.tag in ("meta", "link", "script", "style", "html", "body"):
            continue
        label = f"{element.get('class', '')} {element.get('id', '')}"
        if _BYLINE_EXCLUDE_RE.search(label) or element in wrappers:
            continue
        if _in_excluded_context(element):
            continue
        if element.get("itemprop") == "author":
            inner = element.xpath('.//*[@itemprop="name"]')
            text = clean_space(inner[0].get("content") or inner[0].text_content()) \
                if inner else clean_space(element.get("content") or element.text_content())
        else:
            text = clean_space(element.text_content())
        if text and len(text) <= 120:
            names.append(text)
        if len(names) >= 8:
            break
    return names


def read_page_meta(tree: HtmlElement, url: str) -> PageMeta:
    """All metadata candidates of a parsed page (see ``PageMeta``)."""
    meta = PageMeta()
    _read_ld(meta, tree)
    _read_meta(meta, tree)
    _read_dom(meta, tree, url)
    meta.images = [urljoin(url, unescape(i.strip())) for i in meta.images if i and i.strip()]
    meta.titles = [clean_space(t) for t in meta.titles if clean_space(t)]
    meta.descriptions = [clean_space(d) for d in meta.descriptions if clean_space(d)]
    return meta
