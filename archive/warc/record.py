"""One WARC/1.1 record, serialized and gzipped as its own member.

Records are built here rather than with warcio's ``WARCWriter`` because warcio rebuilds the
HTTP head through ``StatusAndHeaders`` (which %-encodes non-ASCII header values, changing the
stored bytes and the block digest), compresses at level 9 and cannot tell us a record's
compressed length without a second pass.  The format itself is small: a WARC head of
``Name: value`` lines, a blank line, the block, two CRLFs.  warcio, pywb and cdxj-indexer
read what this module writes (see tests/test_warc_writer.py).
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
import zlib
from datetime import UTC, datetime

from archive.warc.httphead import encode_fields

WARC_VERSION = b"WARC/1.1"
# Heads and uncompressed bodies: zlib's default level (a third of level 9's CPU, ~1% larger).
LEVEL_TEXT = 6
# Bodies that arrive gzipped (or are media) do not shrink again: deflate's "stored" blocks
# cost a memcpy instead of ~1 ms per 30 KB and come out no larger.
LEVEL_STORED = 0
# gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(moment: datetime) -> str:
    """W3C-ISO8601 in UTC with microseconds (WARC/1.1 allows sub-second precision)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}Z"


def sha1_digest(*parts: bytes) -> str:
    """``sha1:`` + upper-case unpadded Base32, the form warcio, pywb and Heritrix write."""
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def record_member(fields: list[tuple[str, str]], block_parts: tuple[bytes, ...],
                  content_type: str, body_level: int = LEVEL_TEXT) -> bytes:
    """One record as one complete gzip member (so a reader can seek straight to it).

    The member holds the version line, ``fields``, Content-Type/-Length, the block and the two
    closing CRLFs.  ``fields`` must already hold WARC-Type, -Record-ID, -Date and the digests.
    ``block_parts[0]`` (the HTTP head) is compressed with the WARC head at LEVEL_TEXT, the rest
    at ``body_level``: two raw deflate streams, the first ended by a sync flush (byte-aligned,
    not final), make one valid stream.  The parts are never concatenated (no 20 MB copy).
    """
    length = sum(len(part) for part in block_parts)
    head = (WARC_VERSION + b"\r\n" + encode_fields(fields)
            + encode_fields([("Content-Type", content_type), ("Content-Length", str(length))])
            + b"\r\n")
    head_parts = (head, *block_parts[:1])
    body_parts = (*block_parts[1:], b"\r\n\r\n")
    crc = 0
    out = [_GZIP_HEADER]
    compressor = zlib.compressobj(LEVEL_TEXT, zlib.DEFLATED, -zlib.MAX_WBITS)
    for part in head_parts:
        out.append(compressor.compress(part))
        crc = zlib.crc32(part, crc)
    if body_level != LEVEL_TEXT:
        out.append(compressor.flush(zlib.Z_SYNC_FLUSH))
        compressor = zlib.compressobj(body_level, zlib.DEFLATED, -zlib.MAX_WBITS)
    for part in body_parts:
        out.append(compressor.compress(part))
        crc = zlib.crc32(part, crc)
    out.append(compressor.flush())
    size = len(head) + length + 4
    out.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(out)
