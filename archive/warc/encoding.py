"""Is a Content-Encoded body whole, broken, or a decompression bomb?  Decided without
keeping the decoded bytes.

Capture stores bodies as received (still gzip/deflate), so what the body decodes to must
be known before the record is written: a corrupt stream is recorded so that replay tools
do not try to decode it, a stream that stops short is marked truncated, and a body that
inflates beyond the cap is never decoded by the crawler at all.  Decoding runs in bounded
steps and only counts the output, so a 1 GiB bomb costs a few hundred KiB of memory.
"""

from __future__ import annotations

import zlib
from enum import StrEnum

_STEP = 64 * 1024


class BodyEncoding(StrEnum):
    OK = "ok"  # decodes completely within the cap (or no encoding to check)
    SHORT = "short"  # a valid stream that stops before its end
    CORRUPT = "corrupt"  # not decodable as the header says
    TOO_LARGE = "too_large"  # decodes to more than the cap: a decompression bomb


def codings_of(header: str | None) -> list[str]:
    """Content codings in the order they were applied, ``identity`` left out."""
    return [c.strip().lower() for c in (header or "").split(",")
            if c.strip() and c.strip().lower() != "identity"]


def check_body(body: bytes, content_encoding: str | None, max_decoded: int) -> BodyEncoding:
    """Classify ``body`` against its Content-Encoding (only gzip/deflate are checked)."""
    codings = codings_of(content_encoding)
    if not body or not codings or any(c not in ("gzip", "x-gzip", "deflate")
                                      for c in codings):
        return BodyEncoding.OK
    if len(codings) > 1:  # stacked codings: undo them all, still bounded
        data = body
        for coding in reversed(codings):
            decoded = _decode_capped(data, coding, max_decoded)
            if isinstance(decoded, BodyEncoding):
                return decoded
            data = decoded
        return BodyEncoding.OK
    return _measure(body, codings[0], max_decoded)


def _decompressors(coding: str):
    if coding in ("gzip", "x-gzip"):
        yield zlib.decompressobj(16 + zlib.MAX_WBITS), True
    else:  # deflate: zlib-wrapped as the RFC says, or raw as many servers send it
        yield zlib.decompressobj(zlib.MAX_WBITS), False
        yield zlib.decompressobj(-zlib.MAX_WBITS), False


def _measure(body: bytes, coding: str, max_decoded: int) -> BodyEncoding:
    result = BodyEncoding.CORRUPT
    for inflater, gzip in _decompressors(coding):
        result = _run(inflater, gzip, body, max_decoded, keep=False)[0]
        if result is not BodyEncoding.CORRUPT:
            return result
    return result


def _decode_capped(body: bytes, coding: str, max_decoded: int) -> bytes | BodyEncoding:
    result: BodyEncoding = BodyEncoding.CORRUPT
    for inflater, gzip in _decompressors(coding):
        result, out = _run(inflater, gzip, body, max_decoded, keep=True)
        if result is BodyEncoding.OK:
            return out
        if result is not BodyEncoding.CORRUPT:
            return result
    return result


def _run(inflater, gzip: bool, body: bytes, max_decoded: int, keep: bool
         ) -> tuple[BodyEncoding, bytes]:
    """Inflate in steps of at most ``_STEP`` output bytes, counting (and maybe keeping)."""
    size = 0
    parts: list[bytes] = []
    data = body
    try:
        while True:
            out = inflater.decompress(data, _STEP)
            size += len(out)
            if max_decoded and size > max_decoded:
                return BodyEncoding.TOO_LARGE, b""
            if keep:
                parts.append(out)
            if inflater.eof:
                rest = inflater.unused_data
                if gzip and rest[:2] == b"\x1f\x8b":  # gzip allows several members
                    inflater, data = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
                    continue
                return BodyEncoding.OK, b"".join(parts)  # trailing bytes are ignored
            data = inflater.unconsumed_tail
            if not data and not out:
                return BodyEncoding.SHORT, b""
    except zlib.error:
        return BodyEncoding.CORRUPT, b""
