"""Salvage the files a killed run left open: the longest valid prefix, nothing invented.

A WARC written by ``WarcWriter`` is a warcinfo record followed by (response|revisit,
request) pairs, one gzip member per record, each pair appended with one write.  A kill
can cut the last write anywhere, so ``valid_warc_length`` walks the members and returns
the end of the last complete pair (or of the warcinfo record): records after it are
dropped, and a pair is never split.

A corpus file is a gzip stream flushed after every line; a kill leaves it without its
trailer and perhaps with half a line.  ``complete_lines`` yields the whole lines.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20
_HEAD_LIMIT = 65536


def _member(handle, start: int) -> tuple[int, bytes, int] | None:
    """Decompress the gzip member at ``start``: (end offset, first bytes, total length)."""
    handle.seek(start)
    inflater = zlib.decompressobj(31)
    head = bytearray()
    total = 0
    consumed = 0
    while not inflater.eof:
        chunk = handle.read(_CHUNK)
        if not chunk:
            return None  # the member is cut short
        try:
            out = inflater.decompress(chunk)
        except zlib.error:
            return None
        total += len(out)
        if len(head) < _HEAD_LIMIT:
            head.extend(out[: _HEAD_LIMIT - len(head)])
        consumed += len(chunk) - len(inflater.unused_data)
    return start + consumed, bytes(head), total


def _record_type(head: bytes, total: int) -> str | None:
    """The WARC-Type of a complete record (its block as long as Content-Length says)."""
    end = head.find(b"\r\n\r\n")
    if not head.startswith(b"WARC/") or end < 0:
        return None
    fields: dict[str, str] = {}
    for line in head[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    try:
        length = int(fields.get("content-length", ""))
    except ValueError:
        return None
    if total != end + 4 + length + 4:  # header, block, the closing CRLF CRLF
        return None
    return fields.get("warc-type")


def valid_warc_length(path: Path) -> int:
    """Bytes of ``path`` that form whole records ending with a complete pair (0: none)."""
    good = 0
    position = 0
    size = path.stat().st_size
    with open(path, "rb") as handle:
        while position < size:
            member = _member(handle, position)
            if member is None:
                break
            end, head, total = member
            kind = _record_type(head, total)
            if kind is None:
                break
            if kind in ("warcinfo", "request"):
                good = end  # a pair ends with its request record
            position = end
    return good


def complete_lines(path: Path) -> Iterator[str]:
    """The newline-terminated lines of a gzip text file that may lack its end."""
    inflater = zlib.decompressobj(31)
    pending = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                data = inflater.decompress(chunk)
            except zlib.error:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace")
            if inflater.eof:  # a complete file (or a first member): the rest is not ours
                break
