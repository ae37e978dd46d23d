"""Captures as the state rebuild sees them: from CDXJ index lines and WARC record heads.

The rebuild reads what an index line says (URL, date, digest, status, where the record is)
and, where the state needs more (record id, exact date, validators, a redirect's target),
the head of the record itself.  These are the parsers; ``rebuild`` decides what to keep.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

# what reading a damaged or cut WARC raises (reported as a problem, never fatal)
WARC_ERRORS = (OSError, EOFError, ValueError, zlib.error, ArchiveLoadFailed)


@dataclass(frozen=True)
class SeenCapture:
    """One response/revisit record as seen in an index line or a WARC."""

    url: str
    date: str  # ISO 8601 (exact WARC-Date when known)
    digest: str | None
    revisit: bool
    status: str
    warc_key: str
    offset: int | None
    length: int | None
    record_id: str = ""
    etag: str | None = None
    last_modified: str | None = None
    has_headers: bool = False
    location: str | None = None  # of a redirect
    truncated: bool = False


def ts14_to_iso(ts: str) -> str:
    ts = (ts + "00000000000000")[:14]
    return f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}Z"


def parse_index_line(line: str, known: set[str], by_name: dict[str, str]
                     ) -> tuple[SeenCapture | None, str | None]:
    """One CDXJ line -> (a capture or None for lines to ignore, the file name when the line
    names a WARC that is not in the store); ValueError if the line is malformed."""
    line = line.strip()
    if not line or line.startswith("!"):
        return None, None
    parts = line.split(" ", 2)
    if len(parts) < 3:
        raise ValueError(line)
    data = json.loads(parts[2])
    if not isinstance(data, dict):
        raise ValueError(line)
    try:
        offset = int(data["offset"]) if "offset" in data else None
        length = int(data["length"]) if "length" in data else None
    except (TypeError, ValueError):
        raise ValueError(line) from None
    url, filename = data.get("url"), data.get("filename")
    if not isinstance(url, str) or not isinstance(filename, str) or url.startswith("urn:"):
        return None, None
    status = str(data.get("status") or "")
    revisit = data.get("mime") == "warc/revisit"
    if not status and not revisit:
        return None, None  # resource/metadata records: nothing a revisit would point to
    name = filename.lstrip("/")
    warc_key = name if name in known else by_name.get(name.rsplit("/", 1)[-1], "")
    if not warc_key:
        return None, filename
    record_id = data.get("warc-record-id") or data.get("recordid") or ""
    date = data.get("warc-date") or ts14_to_iso(parts[1])
    return SeenCapture(url, date, data.get("digest"), revisit, status, warc_key, offset,
                       length, record_id), None


def read_exact(stream: BinaryIO, count: int) -> bytes:
    """``count`` bytes or up to EOF (stream reads, e.g. from S3, may return short)."""
    parts, wanted = [], count
    while wanted > 0:
        chunk = stream.read(wanted)
        if not chunk:
            break
        parts.append(chunk)
        wanted -= len(chunk)
    return b"".join(parts)


def skip(stream: BinaryIO, count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            raise EOFError("WARC shorter than its index says")
        count -= len(chunk)


def read_heads(raw: BinaryIO, warc_key: str, captures: list[SeenCapture]
               ) -> Iterator[tuple[SeenCapture, SeenCapture | None]]:
    """(index capture, the record found at its offset or None) for each capture with an
    offset and length, in offset order: one pass of seeks (or skips, on a stream)."""
    captures.sort(key=lambda c: c.offset or 0)
    position = 0
    for capture in captures:
        if capture.offset is None or capture.length is None:
            continue
        if getattr(raw, "seekable", lambda: False)():
            raw.seek(capture.offset)
        elif capture.offset >= position:
            skip(raw, capture.offset - position)
        else:
            continue
        chunk = read_exact(raw, capture.length)
        position = capture.offset + len(chunk)
        try:
            found = next(records(io.BytesIO(chunk), warc_key, capture.offset), None)
        except WARC_ERRORS:
            found = None
        yield capture, found


def records(stream: BinaryIO, warc_key: str, base: int,
             counter: Callable[[], None] | None = None) -> Iterator[SeenCapture]:
    """Response and revisit records of a WARC stream (offsets relative to ``base``)."""
    iterator = ArchiveIterator(stream)
    for record in iterator:
        if counter is not None:
            counter()
        if record.rec_type is None:
            raise ArchiveLoadFailed(f"no WARC record at offset {iterator.get_record_offset()}")
        if record.rec_type not in ("response", "revisit"):
            continue
        headers = record.rec_headers
        url = headers.get_header("WARC-Target-URI")
        if not url:
            continue
        http = record.http_headers
        status = http.get_statuscode() if http else ""
        yield SeenCapture(
            url=url, date=headers.get_header("WARC-Date") or "",
            digest=headers.get_header("WARC-Payload-Digest"),
            revisit=record.rec_type == "revisit", status=status or "", warc_key=warc_key,
            offset=base + iterator.get_record_offset(), length=None,
            record_id=headers.get_header("WARC-Record-ID") or "",
            etag=http.get_header("ETag") if http else None,
            last_modified=http.get_header("Last-Modified") if http else None,
            has_headers=True, location=http.get_header("Location") if http else None,
            truncated=bool(headers.get_header("WARC-Truncated")))
