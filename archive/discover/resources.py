"""Embedded resources of a page: what a browser would load to show it as readers saw it.

Pure functions (no Scrapy, no network): given HTML or CSS text and its URL, return the
absolute URLs of the stylesheets, scripts, fonts, images and icons it embeds, each with a
kind.  The crawler (spiders/resources.py) decides which of them to fetch.

Found in HTML: ``<link rel=stylesheet|preload|modulepreload|icon|apple-touch-icon|
manifest>`` (and ``imagesrcset``), ``<script src>``, ``<img src srcset>`` (and the usual
lazy-loading ``data-src``/``data-srcset``), every ``<picture><source srcset>`` candidate,
``poster``, ``background``, ``og:image``/``twitter:image``, ``url()`` in ``<style>`` blocks
and ``style`` attributes, and the Next.js build files (``/_next/static/...``: chunks,
``_buildManifest.js``) named anywhere in the page, flight data included.  Audio and video
are reported with kind ``media`` so the caller can skip and count them.

Found in CSS: ``@import`` and ``url()`` (fonts by extension, else images).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

KINDS = ("stylesheet", "script", "image", "font", "icon", "manifest", "media")
MEDIA_EXTENSIONS = frozenset({".mp4", ".m4v", ".webm", ".ogv", ".mov", ".avi", ".mkv", ".mp3",
                              ".m4a", ".aac", ".oga", ".ogg", ".opus", ".wav", ".flac",
                              ".m3u8", ".mpd", ".ts"})
FONT_EXTENSIONS = frozenset({".woff", ".woff2", ".ttf", ".otf", ".eot"})
_SKIPPED_SCHEMES = ("data:", "javascript:", "about:", "blob:", "mailto:", "tel:", "#")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)|"([^"]*)"|'([^']*)')""",
    re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""", re.IGNORECASE)
# Next.js build files named in the page: <script src>, preload links and the flight data
_NEXT_STATIC = re.compile(r"""(?:https?://[^"'\s\\<>()]+)?/_next/static/[^"'\s\\<>()]+""")
_NEXT_EXTENSIONS = (".js", ".css", ".json")
_ICON_RELS = frozenset({"icon", "shortcut", "apple-touch-icon", "apple-touch-icon-precomposed",
                        "mask-icon"})
_PRELOAD_AS = {"style": "stylesheet", "script": "script", "font": "font", "image": "image",
               "audio": "media", "video": "media", "track": "media"}
_OG_IMAGE = frozenset({"og:image", "og:image:url", "og:image:secure_url", "twitter:image",
                       "twitter:image:src"})


@dataclass(frozen=True)
class Resource:
    """One embedded resource: absolute URL and what it is (one of ``KINDS``)."""

    url: str
    kind: str


def extension(url: str) -> str:
    """The lower-case extension of the URL's path ('' when none)."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def is_media_url(url: str) -> bool:
    return extension(url) in MEDIA_EXTENSIONS


def _absolute(base_url: str, value: str | None) -> str | None:
    """``value`` resolved against ``base_url``; None for data:, fragments and non-http(s)."""
    if not value:
        return None
    value = value.strip()
    if not value or value.lower().startswith(_SKIPPED_SCHEMES):
        return None
    try:
        url = urljoin(base_url, value)
    except ValueError:
        return None
    url = url.split("#", 1)[0]
    return url if url.startswith(("http://", "https://")) else None


def srcset_urls(value: str | None) -> list[str]:
    """Every candidate URL of a ``srcset`` (HTML's parsing rules; URLs may hold commas)."""
    if not value:
        return []
    urls: list[str] = []
    position, length = 0, len(value)
    while position < length:
        while position < length and (value[position].isspace() or value[position] == ","):
            position += 1
        start = position
        while position < length and not value[position].isspace():
            position += 1
        url = value[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:  # skip the descriptors up to the next comma outside parentheses
            depth = 0
            while position < length:
                char = value[position]
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
                position += 1
        if url:
            urls.append(url)
    return urls


def css_resources(css: str, base_url: str) -> list[Resource]:
    """Resources a stylesheet (or a ``style`` attribute) references: @import and url()."""
    css = _CSS_COMMENT.sub("", css)
    found: list[Resource] = []
    imported: set[str] = set()
    for match in _CSS_IMPORT.finditer(css):
        url = _absolute(base_url, next((g for g in match.groups() if g), None))
        if url:
            imported.add(url)
            found.append(Resource(url, "stylesheet"))
    for match in _CSS_URL.finditer(css):
        url = _absolute(base_url, next((g for g in match.groups() if g), None))
        if url and url not in imported:
            found.append(Resource(url, _kind_by_extension(url)))
    return _unique(found)


def _kind_by_extension(url: str, default: str = "image") -> str:
    ext = extension(url)
    if ext in FONT_EXTENSIONS:
        return "font"
    if ext in MEDIA_EXTENSIONS:
        return "media"
    if ext == ".css":
        return "stylesheet"
    if ext in (".js", ".mjs"):
        return "script"
    return default


def html_resources(html: str, base_url: str) -> list[Resource]:
    """Every resource the page embeds, in document order, each URL once."""
    if not html or not html.strip():
        return []
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for href in root.xpath("//base/@href")[:1]:
        base = _absolute(base_url, href) or base_url
    found: list[Resource] = []

    def add(value: str | None, kind: str) -> None:
        url = _absolute(base, value)
        if url:
            found.append(Resource(url, "media" if is_media_url(url) else kind))

    for element in root.iter(etree.Element):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        get = element.get
        if tag == "link":
            _link(element, add)
        elif tag == "script":
            add(get("src"), "script")
        elif tag in ("img", "source", "input"):
            media_parent = tag == "source" and _media_parent(element)
            kind = "media" if media_parent else "image"
            for attr in ("src", "data-src"):
                add(get(attr), kind)
            for attr in ("srcset", "data-srcset"):
                for url in srcset_urls(get(attr)):
                    add(url, kind)
        elif tag in ("video", "audio", "track"):
            add(get("src"), "media")
            if tag == "video":
                add(get("poster"), "image")
        elif tag == "meta":
            key = (get("property") or get("name") or "").strip().lower()
            if key in _OG_IMAGE:
                add(get("content"), "image")
        elif tag == "style" and element.text:
            found.extend(css_resources(element.text, base))
        if get("background"):
            add(get("background"), "image")
        style = get("style")
        if style and "url(" in style.lower():
            found.extend(css_resources(style, base))
    for match in _NEXT_STATIC.finditer(html):
        url = _absolute(base, match.group(0))
        if url and extension(url) in _NEXT_EXTENSIONS:
            found.append(Resource(url, _kind_by_extension(url, "script")))
    return _unique(found)


def _media_parent(element) -> bool:
    parent = element.getparent()
    return parent is not None and isinstance(parent.tag, str) and parent.tag.lower() in (
        "video", "audio")


def _link(element, add) -> None:
    rels = set((element.get("rel") or "").lower().split())
    href = element.get("href")
    if "stylesheet" in rels:
        add(href, "stylesheet")
    elif "preload" in rels or "modulepreload" in rels:
        kind = "script" if "modulepreload" in rels else _PRELOAD_AS.get(
            (element.get("as") or "").lower())
        if kind:
            add(href, kind)
            for url in srcset_urls(element.get("imagesrcset")):
                add(url, kind)
    elif rels & _ICON_RELS:
        add(href, "icon")
    elif "manifest" in rels:
        add(href, "manifest")


def _unique(resources: list[Resource]) -> list[Resource]:
    """First occurrence of each URL (the first kind found wins)."""
    seen: dict[str, Resource] = {}
    for resource in resources:
        seen.setdefault(resource.url, resource)
    return list(seen.values())
