"""Turn response bytes into text: BOM, HTTP charset, ``<meta>`` charset, UTF-8, detection.

Why our own: servers lie.  A header saying ISO-8859-1 in front of a UTF-8 body is common
(it is also the HTTP/1.1 default), and decoding such a page as Latin-1 turns Kurmanji
``ê û î ç ş`` into mojibake for good.  Rule: a BOM wins; then, when the bytes are valid UTF-8
and contain non-ASCII text, UTF-8 wins over any declared legacy charset (the chance that
real windows-1256 or Latin-1 text is also valid UTF-8 is negligible); otherwise the declared
charset (HTTP header first, then ``<meta>``) is used; otherwise UTF-8, and when that fails a
statistical guess from charset_normalizer (a trafilatura dependency) or windows-1252.
"""

from __future__ import annotations

import codecs
import re

_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.()+-]{2,40})""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
         (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
# WHATWG: these labels mean windows-1252 in browsers, and pages are written for browsers
_BROWSER_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252",
                    "us-ascii": "cp1252", "ascii": "cp1252", "iso-8859-9": "cp1254",
                    "iso-8859-11": "cp874", "tis-620": "cp874", "gb2312": "gb18030",
                    "gbk": "gb18030", "x-sjis": "shift_jis", "ks_c_5601-1987": "cp949",
                    "euc-kr": "cp949"}


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _BROWSER_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(data: bytes) -> str | None:
    """The charset a page declares in ``<meta charset>`` / ``http-equiv`` (first 4 KB)."""
    match = _META_CHARSET_RE.search(data[:4096])
    return normalise_charset(match.group(1).decode("ascii", "ignore")) if match else None


def _is_utf8_text(data: bytes) -> bool:
    """Valid UTF-8 that actually uses multi-byte sequences (pure ASCII proves nothing)."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode page bytes; ``declared`` is the HTTP header charset.  Returns (text, codec)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(name, "replace"), name
    header = normalise_charset(declared)
    meta = meta_charset(data)
    if _is_utf8_text(data):
        return data.decode("utf-8"), "utf-8"
    for name in (header, meta):
        if name and not name.startswith("utf-16") and not name.startswith("utf-32"):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                continue
    if data.isascii():
        return data.decode("ascii"), "ascii"
    name = _guess(data) or header or meta or "cp1252"
    return data.decode(name, "replace"), name


def _guess(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - trafilatura depends on it
        return None
    best = from_bytes(data[:65536]).best()
    return normalise_charset(best.encoding) if best is not None else None


_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


def header_charset(content_type: str | None) -> str | None:
    """The charset a Content-Type header declares, lower-cased, or None.

    The crawler and re-extraction both pass it to ``extract`` so a page is decoded the
    same way live and from the WARC.
    """
    if not content_type:
        return None
    match = _HEADER_CHARSET_RE.search(content_type)
    return match.group(1).lower() if match else None
