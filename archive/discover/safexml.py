"""Parse untrusted XML (feeds, sitemaps) without letting the document attack the crawler.

Feeds and sitemaps come from the network, so a hostile or broken server can send an
entity-expansion bomb (billion laughs), an external entity that reads local files or the
network (XXE), or a small gzip file that inflates to gigabytes.  Everything that parses
such bytes goes through :func:`parse_xml`, which:

- refuses documents that declare entities at all (like defusedxml's ``forbid_entities``:
  no legitimate feed or sitemap needs them, and refusing is clearer than half-expanding);
- parses with lxml set to never resolve entities, never touch the network, never load a
  DTD, and keep libxml2's size limits (``huge_tree=False``);
- inflates gzip input incrementally with a hard cap on the output size.

No Scrapy imports: the crawler, re-extraction and tests all use this on plain bytes.
"""

from __future__ import annotations

import re
import zlib
from html.entities import name2codepoint

from lxml import etree

MAX_XML_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for one uncompressed file
GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_CHUNK = 64 * 1024

_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_UNDEFINED_ENTITY = re.compile(r"Entity '([A-Za-z][A-Za-z0-9]*)' not defined")
_NAMED_REF = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_BUILTIN = {b"amp", b"lt", b"gt", b"quot", b"apos"}


class SafeXMLError(ValueError):
    """The bytes are not XML we are willing to parse; the message says why."""


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe, and this is cheap.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def is_gzip(data: bytes) -> bool:
    """True when ``data`` starts with the gzip magic bytes (names and headers lie)."""
    return data[:2] == GZIP_MAGIC


def gunzip_capped(data: bytes, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """Inflate gzip ``data`` (all members) but never beyond ``max_bytes`` of output.

    Decompresses in bounded steps (``max_length``) so a gzip bomb costs at most
    ``max_bytes`` of memory before it is refused.
    """
    out = bytearray()
    remaining = data
    while remaining:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        pending = remaining
        while pending and not inflater.eof:
            budget = max_bytes + 1 - len(out)
            try:
                out += inflater.decompress(pending, min(budget, _CHUNK))
            except zlib.error as exc:
                raise SafeXMLError(f"corrupt gzip data: {exc}") from None
            if len(out) > max_bytes:
                raise SafeXMLError(f"gzip data inflates beyond the {max_bytes} byte limit")
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise SafeXMLError("truncated gzip data")
        remaining = inflater.unused_data
        if remaining and not is_gzip(remaining):
            break  # trailing garbage after the last member: ignore, as gzip(1) does
    return bytes(out)


def decompress_if_gzip(data: bytes, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """The XML bytes: gzip input (detected by magic) inflated with a cap, else as given."""
    if is_gzip(data):
        return gunzip_capped(data, max_bytes)
    if len(data) > max_bytes:
        raise SafeXMLError(f"document larger than the {max_bytes} byte limit")
    return data


def _clean_start(data: bytes) -> bytes:
    """Drop a UTF-8 BOM and leading whitespace: both break ``<?xml`` at offset 0."""
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data  # UTF-16 with BOM: lxml handles it, stripping bytes would corrupt it
    return data.lstrip(b" \t\r\n")


def _html_entities_to_numeric(data: bytes) -> bytes:
    """Rewrite HTML named references (``&nbsp;``) that XML does not define as ``&#160;``.

    Real feeds often contain them; they are an error in XML, not an attack.
    """

    def repl(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if name in _XML_BUILTIN:
            return match.group(0)
        codepoint = name2codepoint.get(name.decode("ascii"))
        if codepoint is None:
            return match.group(0)
        return b"&#%d;" % codepoint

    return _NAMED_REF.sub(repl, data)


def parse_xml(
    data: bytes, base_url: str | None = None, max_bytes: int = MAX_XML_BYTES
) -> etree._Element:
    """Parse untrusted XML bytes (plain or gzip) into an lxml root element.

    Raises :class:`SafeXMLError` for oversize or corrupt gzip input, entity
    declarations, empty input and malformed XML.  ``base_url`` becomes the document
    URL, so ``element.base`` honours ``xml:base`` relative to it.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SafeXMLError("expected bytes")
    data = _clean_start(decompress_if_gzip(bytes(data), max_bytes))
    if not data.strip():
        raise SafeXMLError("empty document")
    root_start = _ELEMENT_START.search(data)
    prolog = data[: root_start.start()] if root_start else data
    if _ENTITY_DECL.search(prolog):
        raise SafeXMLError("document declares XML entities (refused: entity expansion/XXE)")
    try:
        root = etree.fromstring(data, _parser(), base_url=base_url)
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if _UNDEFINED_ENTITY.search(message):
            fixed = _html_entities_to_numeric(data)
            if fixed != data:
                try:
                    root = etree.fromstring(fixed, _parser(), base_url=base_url)
                except etree.XMLSyntaxError as exc2:
                    raise SafeXMLError(f"malformed XML: {exc2}") from None
                return _checked(root)
        raise SafeXMLError(f"malformed XML: {message}") from None
    return _checked(root)


def _checked(root: etree._Element | None) -> etree._Element:
    if root is None:
        raise SafeXMLError("malformed XML: no root element")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        # Only reachable for encodings the byte pre-check cannot see (UTF-16).
        raise SafeXMLError("document declares XML entities (refused: entity expansion/XXE)")
    return root


def local_name(element: etree._Element) -> str:
    """Tag without namespace, lower-cased (feeds and sitemaps mix namespaces freely)."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def text_of(element: etree._Element | None) -> str:
    """All text inside ``element``, stripped ('' for None)."""
    if element is None:
        return ""
    if len(element) == 0:  # the common case (<loc>, <title>): no children to walk
        return (element.text or "").strip()
    return "".join(element.itertext()).strip()
