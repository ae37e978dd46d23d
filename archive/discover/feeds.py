"""RSS 2.0 / RSS 0.9x / RSS 1.0 (RDF) / Atom feeds -> a list of :class:`FeedEntry`.

Why our own parser instead of feedparser: we only need links, titles, dates and a
summary as *hints* for discovery, the input is untrusted (see ``archive.discover.safexml``),
and a broken feed must fail loudly with :class:`FeedError` so the crawl can count it
and go on.  Content types are ignored on purpose: servers label feeds text/html,
text/plain or application/octet-stream, so only the bytes decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from lxml import etree

from archive.discover.safexml import MAX_XML_BYTES, SafeXMLError, local_name, parse_xml, text_of

MAX_FEED_ENTRIES = 10_000

_RDF_ROOT = "rdf"


class FeedError(ValueError):
    """The bytes are not a feed we can read (broken XML, HTML page, unsafe document)."""


@dataclass(frozen=True)
class FeedEntry:
    """One feed item: an absolute link plus the hints the feed gives about it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    summary: str | None = None
    image: str | None = None


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, dc:date) -> datetime; anything invalid -> None.

    Feeds mix both styles regardless of format, so both are tried.  A date without a
    zone stays naive: inventing a zone would be a lie the corpus cannot undo.
    """
    if not value:
        return None
    value = value.strip()
    if not value:
        return None
    iso = value.replace("z", "Z")
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed


def parse_feed(
    data: bytes, url: str, max_entries: int = MAX_FEED_ENTRIES, max_bytes: int = MAX_XML_BYTES
) -> list[FeedEntry]:
    """Parse feed bytes fetched from ``url``; relative links resolve against ``url``.

    Entries without a usable http(s) link are skipped.  At most ``max_entries`` are
    returned.  Raises :class:`FeedError` when the bytes are not a readable feed.
    """
    try:
        root = parse_xml(data, base_url=url, max_bytes=max_bytes)
    except SafeXMLError as exc:
        raise FeedError(f"{url}: not a readable feed: {exc}") from None
    kind = local_name(root)
    if kind == "rss":
        channel = _child(root, "channel")
        items = [] if channel is None else _children(channel, "item")
        # some RSS 0.9x feeds put items next to the channel
        items += _children(root, "item")
        reader = _rss_entry
    elif kind == _RDF_ROOT:
        items = _children(root, "item")
        reader = _rss_entry
    elif kind == "feed":
        items = _children(root, "entry")
        reader = _atom_entry
    else:
        raise FeedError(f"{url}: not a feed: root element is <{kind or root.tag}>")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in items:
        entry = reader(item, url)
        if entry is None or entry.url in seen:
            continue
        seen.add(entry.url)
        entries.append(entry)
        if len(entries) >= max_entries:
            break
    return entries


# ---- helpers --------------------------------------------------------------------------


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if local_name(c) == name]


def _child(element: etree._Element, *names: str) -> etree._Element | None:
    for name in names:
        for c in element:
            if local_name(c) == name:
                return c
    return None


def _child_text(element: etree._Element, *names: str) -> str | None:
    for name in names:
        for c in element:
            if local_name(c) == name:
                text = text_of(c)
                if text:
                    return text
    return None


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    link = link.strip()
    if not link:
        return None
    absolute = urljoin(base, link)
    if not absolute.lower().startswith(("http://", "https://")):
        return None
    return absolute


def _base_of(element: etree._Element, fallback: str) -> str:
    # lxml's .base honours xml:base on the element and its ancestors.
    try:
        base = element.base
    except (ValueError, TypeError):
        base = None
    return base or fallback


def _image(item: etree._Element, base: str) -> str | None:
    for c in item:
        name = local_name(c)
        if name == "enclosure" and (c.get("type") or "").startswith("image/"):
            return _absolute(c.get("url"), base)
        if name in ("content", "thumbnail") and c.get("url") and (
            name == "thumbnail" or (c.get("medium") == "image"
                                    or (c.get("type") or "").startswith("image/"))
        ):
            return _absolute(c.get("url"), base)
    return None


def _rss_entry(item: etree._Element, feed_url: str) -> FeedEntry | None:
    base = _base_of(item, feed_url)
    link = _child_text(item, "link")
    if not link:
        # RSS 1.0 puts it in rdf:about; RSS 2.0 may only have a permalink guid
        about = next((v for k, v in item.attrib.items() if k.endswith("about")), None)
        guid = _child(item, "guid")
        if about:
            link = about
        elif guid is not None and (guid.get("isPermaLink") or "true").lower() == "true":
            link = text_of(guid)
    url = _absolute(link, base)
    if url is None:
        return None
    published = parse_date(_child_text(item, "pubdate", "date", "published", "issued"))
    updated = parse_date(_child_text(item, "updated", "modified"))
    return FeedEntry(
        url=url,
        title=_child_text(item, "title"),
        published=published,
        updated=updated,
        summary=_child_text(item, "description", "summary"),
        image=_image(item, base),
    )


def _atom_entry(entry: etree._Element, feed_url: str) -> FeedEntry | None:
    link = None
    fallback = None
    for c in entry:
        if local_name(c) != "link" or not c.get("href"):
            continue
        rel = (c.get("rel") or "alternate").lower()
        if rel == "alternate" and (c.get("type") or "text/html").startswith(
            ("text/html", "application/xhtml")
        ):
            link = _absolute(c.get("href"), _base_of(c, feed_url))
            break
        if fallback is None and rel == "alternate":
            fallback = _absolute(c.get("href"), _base_of(c, feed_url))
    url = link or fallback
    if url is None:
        ident = _child_text(entry, "id")
        if ident and ident.lower().startswith(("http://", "https://")):
            url = ident
    if url is None:
        return None
    image = None
    for c in entry:
        if local_name(c) == "link" and (c.get("rel") or "") == "enclosure" and (
            c.get("type") or ""
        ).startswith("image/"):
            image = _absolute(c.get("href"), _base_of(c, feed_url))
            break
    return FeedEntry(
        url=url,
        title=_child_text(entry, "title"),
        published=parse_date(_child_text(entry, "published", "issued", "created")),
        updated=parse_date(_child_text(entry, "updated", "modified")),
        summary=_child_text(entry, "summary", "content"),
        image=image or _image(entry, _base_of(entry, feed_url)),
    )
