"""Reading HTTP captures back out of WARC files, with warcio or FastWARC.

Re-extraction, the WACZ builder and the benchmarks only ever need the same few things from
a response record: where it is (offset, length), what it is (URI, date, digest, status,
headers) and the entity body as the crawler's parser saw it (the WARC keeps the bytes as
received, gzip included; the extractor needs the HTML).  This module gives both readers
that one shape, so the faster one can be the default and the other stays a switch away.

Both parse the records with their own code and hand the raw entity to ``decode_entity``,
which undoes Transfer-Encoding (for WARCs from tools that keep it) and Content-Encoding
(gzip, deflate, br, zstd).  Decoding in one place gives byte-identical bodies from either
reader and turns a broken body into a per-record ``decode_error`` instead of an exception
that would end the scan of the whole file (FastWARC's own decoder raises from the iterator).

``DEFAULT_BACKEND`` is FastWARC: ``bench/reextract.py`` measures it faster than warcio at
reading whole per-record-gzip WARCs (about 2x here; figures in that script's output); the
``NEWSARCHIVE_WARC_READER`` environment variable (``fastwarc`` | ``warcio``) overrides it.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from archive.extract.charset import header_charset

BACKENDS = ("fastwarc", "warcio")
DEFAULT_BACKEND = "fastwarc"
CAPTURE_TYPES = ("response", "revisit")


class WarcReadError(RuntimeError):
    """A record could not be read where the caller said it was."""


@dataclass
class Capture:
    """One response or revisit record: provenance plus the decoded entity body."""

    record_type: str
    uri: str
    date: str  # WARC-Date exactly as written
    record_id: str
    payload_digest: str | None
    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)  # HTTP headers, as stored
    body: bytes = b""  # entity with Content-Encoding decoded ("" for revisits)
    offset: int = 0
    length: int | None = None  # bytes the (compressed) record occupies in the file
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    refers_to: str | None = None
    decode_error: str | None = None  # set when Content-Encoding could not be undone

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    @property
    def charset(self) -> str | None:
        """The charset the server declared in Content-Type, if any."""
        return header_charset(self.content_type)


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return ", ".join(v for k, v in headers if k.lower() == name)


def dechunk(data: bytes) -> bytes:
    """Undo Transfer-Encoding: chunked (for WARCs from tools that keep it)."""
    out, position = bytearray(), 0
    while True:
        end = data.index(b"\r\n", position)
        size = int(data[position:end].split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            return bytes(out)
        out += data[end + 2:end + 2 + size]
        position = end + 2 + size + 2


def _decompress(data: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        out, rest = bytearray(), data
        while rest:  # several gzip members may follow each other
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(rest) + inflater.flush()
            if not inflater.eof:
                raise zlib.error("truncated gzip stream")
            rest = inflater.unused_data.lstrip(b"\x00")
        return bytes(out)
    if coding == "deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)
    if coding == "br":
        import brotli

        return brotli.decompress(data)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise ValueError(f"unsupported Content-Encoding {coding!r}")


def decode_entity(raw: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, str | None]:
    """The entity body as the application saw it: Transfer-Encoding and Content-Encoding
    undone.  On a body that does not decode, the stored bytes and the reason (never an
    exception: one broken capture must not end a scan of a whole WARC)."""
    body = raw
    if "chunked" in _header(headers, "transfer-encoding").lower():
        try:
            body = dechunk(body)
        except (ValueError, IndexError):
            pass  # not really chunked (decoded by the client already): keep it
    codings = [c.strip().lower() for c in _header(headers, "content-encoding").split(",")]
    try:
        for coding in reversed([c for c in codings if c and c != "identity"]):
            body = _decompress(body, coding)
    except Exception as exc:  # zlib.error, brotli.error, ValueError, ImportError
        return raw, f"Content-Encoding {', '.join(codings)}: {exc or type(exc).__name__}"
    return body, None


def backend_name(backend: str | None = None) -> str:
    name = backend or os.environ.get("NEWSARCHIVE_WARC_READER") or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise ValueError(f"unknown WARC reader {name!r}: use one of {', '.join(BACKENDS)}")
    return name


def read_capture(path: str | Path, offset: int, *, backend: str | None = None) -> Capture:
    """The capture whose record starts at ``offset`` in ``path`` (per-record gzip or plain)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        capture = _first_capture(handle, backend, f"{path}@{offset}")
    capture.offset = offset
    return capture


def parse_capture(record: bytes, *, offset: int = 0, where: str = "record",
                  backend: str | None = None) -> Capture:
    """The capture in ``record``: the bytes of one WARC record (a ranged read from S3)."""
    capture = _first_capture(io.BytesIO(record), backend, where)
    capture.offset, capture.length = offset, len(record)
    return capture


def _first_capture(handle: BinaryIO, backend: str | None, where: str) -> Capture:
    name = backend_name(backend)
    try:
        if name == "fastwarc":
            capture = next(_fastwarc_captures(handle, bodies=True, types=None), None)
        else:
            capture = next(_warcio_captures(handle, bodies=True, types=None), None)
    except Exception as exc:  # both libraries raise their own error types
        raise WarcReadError(f"{where}: unreadable record: {exc}") from exc
    if capture is None:
        raise WarcReadError(f"{where}: no WARC record starts there")
    return capture


def iter_captures(path: str | Path, *, backend: str | None = None, bodies: bool = True,
                  types: tuple[str, ...] | None = CAPTURE_TYPES) -> Iterator[Capture]:
    """Every record of ``types`` in file order, with offset and length filled in."""
    name = backend_name(backend)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if name == "warcio":
            yield from _warcio_captures(handle, bodies=bodies, types=types)
            return
        # FastWARC reports where a record starts, not its length: a record ends where the
        # next one (of any type) starts, so look one record ahead over all types.
        pending: Capture | None = None
        for capture in _fastwarc_captures(handle, bodies=bodies, types=None, keep=types):
            if pending is not None:
                pending.length = capture.offset - pending.offset
                if types is None or pending.record_type in types:
                    yield pending
            pending = capture
        if pending is not None:
            pending.length = size - pending.offset
            if types is None or pending.record_type in types:
                yield pending


# ---- FastWARC ---------------------------------------------------------------------------

def _fastwarc_captures(handle, *, bodies: bool, types: tuple[str, ...] | None,
                       keep: tuple[str, ...] | None = None) -> Iterator[Capture]:
    """Records of ``types`` (None: all); bodies are read only for ``keep`` types."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    wanted = WarcRecordType.any_type
    if types is not None:
        wanted = WarcRecordType.no_type
        for kind in types:
            wanted |= getattr(WarcRecordType, kind)
    iterator = ArchiveIterator(handle, record_types=wanted, parse_http=True, auto_decode="none")
    for record in iterator:
        headers = record.headers
        kind = str(record.record_type)
        interesting = keep is None or kind in keep
        http = record.http_headers if record.is_http and interesting else None
        pairs = list(http.to_tuples()) if http is not None else []
        body, error = b"", None
        if bodies and interesting and kind != "revisit":
            body, error = decode_entity(record.reader.read(), pairs)
        yield Capture(
            record_type=kind,
            uri=headers.get("WARC-Target-URI") or "",
            date=headers.get("WARC-Date") or "",
            record_id=headers.get("WARC-Record-ID") or "",
            payload_digest=headers.get("WARC-Payload-Digest"),
            status=http.status_code if http is not None else None,
            headers=pairs,
            body=body,
            offset=record.stream_pos,
            refers_to_uri=headers.get("WARC-Refers-To-Target-URI"),
            refers_to_date=headers.get("WARC-Refers-To-Date"),
            refers_to=headers.get("WARC-Refers-To"),
            decode_error=error,
        )


# ---- warcio -----------------------------------------------------------------------------

def _warcio_captures(handle, *, bodies: bool, types: tuple[str, ...] | None):
    from warcio.archiveiterator import ArchiveIterator

    iterator = ArchiveIterator(handle)
    for record in iterator:
        kind = record.rec_type
        if types is not None and kind not in types:
            continue
        headers = record.rec_headers
        http = record.http_headers
        pairs = list(http.headers) if http is not None else []
        body, error = b"", None
        if bodies and kind != "revisit":
            body, error = decode_entity(record.raw_stream.read(), pairs)
        status = None
        if http is not None and http.get_statuscode():
            try:
                status = int(http.get_statuscode())
            except ValueError:
                status = None
        # warcio only knows offset/length once the record was read to its end
        capture = Capture(
            record_type=kind,
            uri=headers.get_header("WARC-Target-URI") or "",
            date=headers.get_header("WARC-Date") or "",
            record_id=headers.get_header("WARC-Record-ID") or "",
            payload_digest=headers.get_header("WARC-Payload-Digest"),
            status=status,
            headers=pairs,
            body=body,
            refers_to_uri=headers.get_header("WARC-Refers-To-Target-URI"),
            refers_to_date=headers.get_header("WARC-Refers-To-Date"),
            refers_to=headers.get_header("WARC-Refers-To"),
            decode_error=error,
        )
        capture.offset = iterator.get_record_offset()  # absolute: warcio uses tell()
        capture.length = iterator.get_record_length()
        yield capture


def scan_bytes(path: str | Path, *, backend: str | None = None) -> int:
    """Read every record's decoded content once; the benchmark's MB/s workload."""
    total = 0
    for capture in iter_captures(path, backend=backend, types=None):
        total += len(capture.body)
    return total
