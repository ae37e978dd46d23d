"""XML sitemaps (sitemaps.org index and urlset, Google News extension) -> entries.

Input is the raw body: plain XML or a gzip file (detected by its magic bytes, not by
the ``.gz`` name or the Content-Type, which servers get wrong both ways).  Parsing goes
through ``archive.discover.safexml`` (no entities, capped decompression).  Namespaces are matched
by local name because real sitemaps omit or misspell them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urljoin

from archive.discover.feeds import parse_date
from archive.discover.safexml import MAX_XML_BYTES, SafeXMLError, local_name, parse_xml, text_of

MAX_SITEMAP_ENTRIES = 50_000  # the sitemaps.org per-file limit


class SitemapError(ValueError):
    """The bytes are not a sitemap we can read (not XML, broken, unsafe, wrong root)."""


@dataclass(frozen=True)
class SitemapEntry:
    """One <url> (or one child sitemap of an index) with the dates the sitemap gives."""

    url: str
    lastmod: datetime | None = None
    published: datetime | None = None  # news:publication_date
    title: str | None = None  # news:title
    language: str | None = None  # news:language (as written: ISO 639-1 usually)


@dataclass
class Sitemap:
    """A parsed sitemap file: ``kind`` is "index" (children are sitemaps) or "urlset"."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    truncated: bool = False  # more than max_entries were present

    @property
    def is_index(self) -> bool:
        return self.kind == "index"


def parse_sitemap(
    data: bytes,
    url: str | None = None,
    max_entries: int = MAX_SITEMAP_ENTRIES,
    max_bytes: int = MAX_XML_BYTES,
) -> Sitemap:
    """Parse sitemap bytes (plain or gzip).  Raises :class:`SitemapError` when unreadable.

    ``url`` resolves relative <loc> values (invalid by the protocol, seen in the wild)
    and names the sitemap in error messages.
    """
    where = url or "<sitemap>"
    try:
        root = parse_xml(data, base_url=url, max_bytes=max_bytes)
    except SafeXMLError as exc:
        raise SitemapError(f"{where}: not a readable sitemap: {exc}") from None
    root_name = local_name(root)
    if root_name == "sitemapindex":
        kind, child_name = "index", "sitemap"
    elif root_name == "urlset":
        kind, child_name = "urlset", "url"
    else:
        raise SitemapError(f"{where}: not a sitemap: root element is <{root_name or root.tag}>")
    sitemap = Sitemap(kind=kind)
    seen: set[str] = set()
    for child in root:
        if local_name(child) != child_name:
            continue
        entry = _entry(child, url)
        if entry is None or entry.url in seen:
            continue
        if len(sitemap.entries) >= max_entries:
            sitemap.truncated = True
            break
        seen.add(entry.url)
        sitemap.entries.append(entry)
    return sitemap


def robots_sitemaps(robots_txt: bytes | str, base_url: str | None = None) -> list[str]:
    """The ``Sitemap:`` URLs a robots.txt lists (case-insensitive field name)."""
    if isinstance(robots_txt, bytes):
        robots_txt = robots_txt.decode("utf-8", "replace")
    found: list[str] = []
    for line in robots_txt.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "sitemap":
            value = value.split("#", 1)[0].strip()
            if value:
                absolute = urljoin(base_url, value) if base_url else value
                if absolute not in found:
                    found.append(absolute)
    return found


def _entry(element, base: str | None) -> SitemapEntry | None:
    loc = lastmod = published = title = language = None
    for c in element:
        name = local_name(c)
        if name == "loc":
            loc = text_of(c)
        elif name == "lastmod":
            lastmod = parse_date(text_of(c))
        elif name == "news":
            for n in c.iter():
                sub = local_name(n)
                if sub == "publication_date":
                    published = parse_date(text_of(n))
                elif sub == "title":
                    title = text_of(n) or None
                elif sub == "language":
                    language = text_of(n) or None
    if not loc:
        return None
    if loc.startswith(("http://", "https://")):
        return SitemapEntry(url=loc, lastmod=lastmod, published=published, title=title,
                            language=language)
    url = urljoin(base, loc) if base else loc  # relative <loc>: invalid, but seen
    if not url.lower().startswith(("http://", "https://")):
        return None
    return SitemapEntry(url=url, lastmod=lastmod, published=published, title=title,
                        language=language)
